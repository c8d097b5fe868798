"""Golden files: round trip, diagnosis of what changed, and bad files."""

import io
import json
import os
import zipfile

import nengo
import numpy as np
import pytest
import tiny_lif
from lava.proc.dense.process import Dense
from lava.proc.lif.process import LIF

from glia_neuromorphic.compiler import compile_model
from glia_neuromorphic.emulator import Emulator
from glia_neuromorphic.errors import ProgramFileError, ValidationError
from glia_neuromorphic.fidelity import golden
from glia_neuromorphic.runs import RunResult


def _run(seed=3, steps=300, n=70):
    rng = np.random.default_rng(seed)
    spikes = (rng.random((steps, n)) < 0.05).astype(np.int8)
    voltage = rng.integers(-(2**23), 2**23, size=(steps, n), dtype=np.int64)
    return RunResult(
        data={"lif.spikes": spikes, "lif.v": voltage},
        dt=0.001,
        backend="emulator",
        target="loihi2",
        seed=seed,
    )


@pytest.fixture
def program_hash():
    return tiny_lif.make_program().content_hash()


def test_golden_round_trip_is_bit_exact(tmp_path, program_hash):
    run = _run()
    path = golden.save(golden.Golden.from_run(run, program_hash), tmp_path / "g.npz")
    loaded = golden.load(path)
    assert loaded.program_hash == program_hash
    assert loaded.seed == 3
    assert loaded.versions == golden.library_versions()
    for key, value in run.data.items():
        np.testing.assert_array_equal(loaded.data[key], value)
        assert loaded.data[key].dtype == value.dtype
    comparison = golden.compare(loaded, run, program_hash, path)
    assert comparison.identical
    assert comparison.changed_inputs == []
    assert "identical" in comparison.describe()


def _unlabeled_nengo_network(seed):
    # no labels: nengo names these objects by their memory address
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(0.5)
        a = nengo.Ensemble(20, 1)
        b = nengo.Ensemble(20, 1)
        nengo.Connection(stim, a)
        nengo.Connection(a, b)
        nengo.Probe(b.neurons)
    return net


def _unnamed_lava_graph(seed):
    # no names: Lava names these processes by a counter that grows per process
    rng = np.random.default_rng(seed)
    pre = LIF(shape=(6,), du=300, dv=200, vth=300, bias_mant=rng.integers(0, 90, 6))
    post = LIF(shape=(4,), du=300, dv=200, vth=300)
    dense = Dense(weights=rng.integers(-50, 50, size=(4, 6)))
    pre.s_out.connect(dense.s_in)
    dense.a_out.connect(post.a_in)
    return post


@pytest.mark.parametrize(
    ("build", "target"),
    [(_unlabeled_nengo_network, "loihi1"), (_unnamed_lava_graph, "loihi2")],
)
def test_golden_same_seed_is_byte_identical(tmp_path, build, target):
    files = []
    for attempt in range(2):
        program = compile_model(build(seed=5), target, seed=5).program
        for group in program.groups.values():
            if group.kind == "lif":
                program.probe(group.name, "spikes")
        run = Emulator(program, seed=5).run(30)
        record = golden.Golden.from_run(run, program.content_hash())
        files.append(golden.save(record, tmp_path / f"{attempt}.golden.npz"))
    assert files[0].read_bytes() == files[1].read_bytes()


def test_golden_packs_spike_rasters(tmp_path, program_hash):
    run = _run()
    path = golden.save(golden.Golden.from_run(run, program_hash), tmp_path / "g.npz")
    with np.load(path) as archive:
        manifest = json.loads(archive["manifest"].tobytes())
        member = manifest["probes"]["lif.spikes"]["member"]
        assert manifest["probes"]["lif.spikes"]["encoding"] == "packbits"
        # 70 neurons -> 9 bytes per step
        assert archive[member].shape == (300, 9)
    assert manifest["probes"]["lif.v"]["encoding"] == "raw"


def test_golden_diagnoses_output_divergence(tmp_path, program_hash):
    run = _run()
    stored = golden.Golden.from_run(run, program_hash)
    changed = run.data["lif.spikes"].copy()
    changed[41, 17] ^= 1
    other = RunResult(
        {**run.data, "lif.spikes": changed}, run.dt, "emulator", "loihi2", 3
    )
    comparison = golden.compare(stored, other, program_hash)
    assert not comparison.identical
    assert comparison.divergence.step == 42
    assert comparison.divergence.index == 17
    assert comparison.divergence.probe == "lif.spikes"
    assert comparison.changed_inputs == []
    assert "not deterministic" in comparison.describe()


def test_golden_diagnoses_program_change(program_hash):
    run = _run()
    stored = golden.Golden.from_run(run, program_hash)
    program = tiny_lif.make_program()
    program.groups["in"].weights[2, 1] = 0
    comparison = golden.compare(stored, run, program.content_hash())
    assert comparison.changed_inputs[0].startswith("program hash")
    assert "program hash" in comparison.describe()


def test_golden_diagnoses_library_version(monkeypatch, program_hash):
    run = _run()
    stored = golden.Golden.from_run(run, program_hash)
    stored.versions = {**stored.versions, "lava": "0.9.0"}
    comparison = golden.compare(stored, run, program_hash)
    current = golden.library_versions()["lava"]
    assert comparison.changed_inputs == [f"lava version 0.9.0 -> {current}"]


def test_golden_diagnoses_seed_and_divergence_together(program_hash):
    stored = golden.Golden.from_run(_run(seed=3), program_hash)
    other = _run(seed=4)
    comparison = golden.compare(stored, other, program_hash)
    assert not comparison.identical
    assert comparison.changed_inputs == ["seed 3 -> 4"]
    assert comparison.divergence is not None
    text = comparison.describe()
    assert "seed 3 -> 4" in text
    assert f"step {comparison.divergence.step}" in text


def test_golden_diagnoses_length_and_missing_probe(program_hash):
    run = _run()
    stored = golden.Golden.from_run(run, program_hash)
    shorter = RunResult(
        {"lif.spikes": run.data["lif.spikes"][:200]}, run.dt, "emulator", "loihi2", 3
    )
    comparison = golden.compare(stored, shorter, program_hash)
    assert not comparison.identical
    assert comparison.missing_probes == ["lif.v"]
    assert "steps 300 -> 200" in comparison.changed_inputs
    assert comparison.divergence is None


def test_check_or_update_records_then_compares(tmp_path, program_hash):
    run = _run()
    with pytest.raises(ProgramFileError, match="not found.*update-golden"):
        golden.check_or_update(run, program_hash, tmp_path, "tiny-lif")
    recorded = golden.check_or_update(
        run, program_hash, tmp_path, "tiny-lif", update=True
    )
    assert recorded.identical
    assert (tmp_path / "tiny-lif-loihi2.golden.npz").is_file()
    assert golden.check_or_update(run, program_hash, tmp_path, "tiny-lif").identical


def test_golden_rejects_float_run_without_target(tmp_path, program_hash):
    run = RunResult({"lif.spikes": np.zeros((3, 2))}, 0.001, "reference")
    with pytest.raises(ValidationError, match="no target"):
        golden.check_or_update(run, program_hash, tmp_path, "m", update=True)


def _saved(tmp_path, program_hash):
    return golden.save(
        golden.Golden.from_run(_run(), program_hash), tmp_path / "g.golden.npz"
    )


def test_golden_truncated_file_is_rejected(tmp_path, program_hash):
    path = _saved(tmp_path, program_hash)
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ProgramFileError, match="corrupt or truncated"):
        golden.load(path)


def test_golden_garbage_file_is_rejected(tmp_path):
    path = tmp_path / "g.golden.npz"
    path.write_bytes(b"not a zip file at all")
    with pytest.raises(ProgramFileError, match="corrupt or truncated"):
        golden.load(path)


def _rewrite(path, edit_manifest=None, edit_arrays=None):
    with np.load(path) as archive:
        arrays = {k: archive[k] for k in archive.files}
    manifest = json.loads(arrays["manifest"].tobytes())
    if edit_manifest:
        edit_manifest(manifest)
    if edit_arrays:
        edit_arrays(arrays, manifest)
    arrays["manifest"] = np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    path.write_bytes(buffer.getvalue())


def test_golden_newer_version_is_rejected(tmp_path, program_hash):
    path = _saved(tmp_path, program_hash)
    _rewrite(path, lambda m: m.update(format_version=99))
    with pytest.raises(ProgramFileError, match="format version 99.*upgrade"):
        golden.load(path)


def test_golden_other_format_is_rejected(tmp_path, program_hash):
    path = _saved(tmp_path, program_hash)
    _rewrite(path, lambda m: m.update(format="something-else"))
    with pytest.raises(ProgramFileError, match="not a glia golden file"):
        golden.load(path)


def test_golden_modified_array_is_rejected(tmp_path, program_hash):
    path = _saved(tmp_path, program_hash)

    def flip(arrays, manifest):
        member = manifest["probes"]["lif.v"]["member"]
        arrays[member] = arrays[member].copy()
        arrays[member][0, 0] += 1

    _rewrite(path, edit_arrays=flip)
    with pytest.raises(ProgramFileError, match="SHA-256"):
        golden.load(path)


def test_golden_missing_manifest_is_rejected(tmp_path):
    path = tmp_path / "g.golden.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("other.npy", b"")
    with pytest.raises(ProgramFileError, match="corrupt"):
        golden.load(path)


def test_golden_write_is_atomic(tmp_path, monkeypatch, program_hash):
    path = _saved(tmp_path, program_hash)
    before = path.read_bytes()

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        golden.save(golden.Golden.from_run(_run(seed=9), program_hash), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
