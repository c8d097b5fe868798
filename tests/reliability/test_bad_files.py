"""Golden and report files that are missing, damaged or of a newer version."""

import io
import json
import zipfile

import numpy as np
import pytest

from glia_neuromorphic.errors import ProgramFileError
from glia_neuromorphic.fidelity import golden
from glia_neuromorphic.fidelity.report import load_report
from glia_neuromorphic.runs import RunResult


def saved_golden(tmp_path):
    spikes = (np.random.default_rng(3).random((50, 8)) < 0.2).astype(np.int8)
    run = RunResult(
        data={"lif.spikes": spikes, "lif.v": np.arange(400).reshape(50, 8)},
        dt=0.001,
        backend="emulator",
        target="loihi2",
        seed=3,
    )
    return golden.save(golden.Golden.from_run(run, "abc"), tmp_path / "g.npz")


def rewrite_manifest(path, change):
    """Rewrite the golden file with ``change(manifest)`` applied."""
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    manifest = json.loads(arrays["manifest"].tobytes())
    change(manifest)
    arrays["manifest"] = np.frombuffer(json.dumps(manifest).encode(), np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    path.write_bytes(buffer.getvalue())


def test_golden_round_trip(tmp_path):
    loaded = golden.load(saved_golden(tmp_path))
    assert loaded.seed == 3
    assert loaded.n_steps == 50


def test_golden_missing(tmp_path):
    with pytest.raises(ProgramFileError, match="not found; record it"):
        golden.load(tmp_path / "none.npz")


@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.9])
def test_golden_truncated(tmp_path, fraction):
    path = saved_golden(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ProgramFileError, match="corrupt or truncated"):
        golden.load(path)


def test_golden_newer_version(tmp_path):
    path = saved_golden(tmp_path)
    rewrite_manifest(path, lambda m: m.update(format_version=7))
    with pytest.raises(ProgramFileError, match="version 7.*upgrade glia_neuromorphic"):
        golden.load(path)


def test_golden_tampered_probe(tmp_path):
    path = saved_golden(tmp_path)
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    manifest = json.loads(arrays["manifest"].tobytes())
    member = manifest["probes"]["lif.v"]["member"]
    arrays[member] = arrays[member].copy()
    arrays[member][3, 2] += 1
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    path.write_bytes(buffer.getvalue())
    with pytest.raises(ProgramFileError, match="'lif.v' does not match its recorded"):
        golden.load(path)


def test_golden_any_byte_change_rejected_or_equal(tmp_path):
    """A changed byte either fails to load or leaves every probe unchanged.

    Zip CRCs and per-probe SHA-256s cover the manifest and the compressed
    members. Zip header fields outside them, such as timestamps, do not
    change the data.
    """
    path = saved_golden(tmp_path)
    original = golden.load(path)
    clean = path.read_bytes()
    for index in range(0, len(clean), 3):
        data = bytearray(clean)
        data[index] ^= 0x04
        path.write_bytes(bytes(data))
        try:
            loaded = golden.load(path)
        except ProgramFileError:
            continue
        for key, value in original.data.items():
            np.testing.assert_array_equal(loaded.data[key], value, err_msg=key)
        assert loaded.seed == original.seed
        assert loaded.program_hash == original.program_hash


def test_report_not_an_object(tmp_path):
    (tmp_path / "report.json").write_text("[1, 2, 3]")
    with pytest.raises(ProgramFileError, match="is not a glia fidelity report"):
        load_report(tmp_path)


def test_report_not_utf8(tmp_path):
    (tmp_path / "report.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(ProgramFileError, match="is not valid JSON"):
        load_report(tmp_path)


def test_program_zip_without_manifest(tmp_path):
    from glia_neuromorphic.program import ChipProgram

    path = tmp_path / "p.gliaprog"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("other.txt", "x")
    path.write_bytes(buffer.getvalue())
    with pytest.raises(ProgramFileError, match="corrupt or truncated"):
        ChipProgram.load(path)
