"""Chip program: construction checks, save/load round trip and file errors."""

import json
import zipfile

import numpy as np
import pytest
import scipy.sparse

from glia_neuromorphic.errors import ProgramFileError, ValidationError
from glia_neuromorphic.program import (
    AstrocyteGroup,
    BiasSchedule,
    ChipProgram,
    CompartmentGroup,
    SpikeSource,
    SynapseGroup,
)


def _program():
    prog = ChipProgram(metadata={"target": "loihi2", "dt": 0.001, "seed": 3})
    prog.add(
        CompartmentGroup(
            "neurons",
            n=3,
            decay_u=[409, 409, 10],
            decay_v=0,
            vth=100,
            bias_mant=[1, -2, 3],
            bias_exp=6,
            float_params={"tau_syn": 0.01, "vth": np.array([1.0, 1.0, 1.0])},
        )
    )
    prog.add(SpikeSource("stim", n=2, steps=[1, 5], indices=[0, 1]))
    prog.add(AstrocyteGroup("astro", n=3, decay_c=7, out_shift=4))
    dense = np.arange(1, 7).reshape(3, 2)
    prog.add(
        SynapseGroup("in", pre="stim", post="neurons", weights=dense, weight_exp=2)
    )
    prog.add(
        SynapseGroup(
            "rec",
            pre="neurons",
            post="neurons",
            weights=scipy.sparse.csr_matrix(np.eye(3, dtype=np.int64) * -4),
        )
    )
    prog.add(
        BiasSchedule(
            "cue",
            target="neurons",
            start_steps=[1, 50],
            bias_mant=[[5, 5, 5], [0, 0, 0]],
        )
    )
    prog.probe("neurons", "spikes")
    prog.probe("astro", "c")
    return prog.validate()


def test_round_trip_keeps_every_array(tmp_path):
    prog = _program()
    path = prog.save(tmp_path / "net")
    assert path.suffix == ".gliaprog"
    loaded = ChipProgram.load(path)
    assert loaded.metadata == prog.metadata
    assert loaded.probes == prog.probes
    assert list(loaded.groups) == list(prog.groups)
    # dense weights keep their (post, pre) orientation: entry [0, 1] is 2
    assert loaded.groups["in"].weights[0, 1] == 2
    assert loaded.groups["in"].weights.shape == (3, 2)
    assert scipy.sparse.issparse(loaded.groups["rec"].weights)
    np.testing.assert_array_equal(
        loaded.groups["rec"].weights.toarray(), prog.groups["rec"].weights.toarray()
    )
    np.testing.assert_array_equal(loaded.groups["neurons"].decay_u, [409, 409, 10])
    assert loaded.groups["neurons"].float_params["tau_syn"] == 0.01
    assert loaded.content_hash() == prog.content_hash()


def test_second_save_is_identical(tmp_path):
    prog = _program()
    first = prog.save(tmp_path / "a.gliaprog")
    second = ChipProgram.load(first).save(tmp_path / "b.gliaprog")
    with zipfile.ZipFile(first) as za, zipfile.ZipFile(second) as zb:
        assert za.namelist() == zb.namelist()
        for name in za.namelist():
            assert za.read(name) == zb.read(name), name


def test_weight_shape_mismatch_names_group():
    prog = ChipProgram()
    prog.add(CompartmentGroup("a", n=2))
    prog.add(CompartmentGroup("b", n=3))
    prog.add(SynapseGroup("ab", pre="a", post="b", weights=np.ones((2, 3))))
    with pytest.raises(
        ValidationError, match="'ab'.*expected \\(post, pre\\) = \\(3, 2\\)"
    ):
        prog.validate()


def test_zero_size_group_is_rejected():
    with pytest.raises(ValidationError, match="at least 1"):
        CompartmentGroup("empty", n=0)
    with pytest.raises(ValidationError, match="both sizes must be >= 1"):
        SynapseGroup("s", pre="a", post="b", weights=np.zeros((0, 5)))


def test_missing_file(tmp_path):
    with pytest.raises(ProgramFileError, match="not found"):
        ChipProgram.load(tmp_path / "nope.gliaprog")


def test_truncated_file(tmp_path):
    path = _program().save(tmp_path / "p")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ProgramFileError, match="corrupt or truncated"):
        ChipProgram.load(path)


def test_other_format_version(tmp_path):
    path = _program().save(tmp_path / "p")
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(members["manifest.json"])
    manifest["format_version"] = 99
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(ProgramFileError, match="version 99.*upgrade"):
        ChipProgram.load(path)


def test_tampered_array_is_detected(tmp_path):
    path = _program().save(tmp_path / "p")
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    key = "arrays/neurons/vth.npy"
    blob = bytearray(members[key])
    blob[-1] ^= 0x01
    members[key] = bytes(blob)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(ProgramFileError, match="SHA-256"):
        ChipProgram.load(path)
