"""The ``glia emulate`` command: outputs, seed, counters and errors."""

import json

import numpy as np
import pytest

from glia_neuromorphic.cli import main
from glia_neuromorphic.emulator import emulate
from glia_neuromorphic.program import (
    ChipProgram,
    CompartmentGroup,
    SpikeSource,
    SynapseGroup,
)


def _saved_program(tmp_path):
    program = ChipProgram(metadata={"target": "loihi1", "dt": 0.001})
    program.add(CompartmentGroup("n", n=3, vth=10, bias_mant=[100, 50, 0], bias_exp=3))
    program.probe("n", "spikes")
    program.probe("n", "v")
    return program, program.save(tmp_path / "prog")


def test_emulate_command_writes_probes_and_summary(tmp_path):
    program, path = _saved_program(tmp_path)
    out = tmp_path / "run"
    main(["emulate", str(path), "--steps", "1200", "--seed", "7", "--out", str(out)])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 7
    assert summary["steps"] == 1200
    assert summary["mode"] == "nengo-loihi"
    assert summary["counters"]["n.v"]["count"] == 0
    probes = np.load(out / "probes.npz")
    expected = emulate(program, 1200)
    assert np.array_equal(probes["n.v"], expected["n.v"])
    assert np.array_equal(probes["n.spikes"], expected["n.spikes"])
    assert not list(out.glob("*.tmp"))


def test_emulate_command_missing_program(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["emulate", str(tmp_path / "none.gliaprog"), "--steps", "5"])
    assert exit_info.value.code == 6
    assert "not found" in capsys.readouterr().err


def test_emulate_command_strict_overflow(tmp_path, capsys):
    program = ChipProgram(metadata={"target": "loihi1"})
    program.add(SpikeSource("src", n=512, steps=[1] * 512, indices=range(512)))
    program.add(CompartmentGroup("n", n=1, decay_u=4095, vth=2**17 - 1))
    program.add(
        SynapseGroup(
            "fan_in",
            pre="src",
            post="n",
            weights=np.full((1, 512), 255),
            sign_mode="excitatory",
        )
    )
    path = program.save(tmp_path / "fan_in")
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        main(["emulate", str(path), "--steps", "3", "--out", str(out), "--strict"])
    assert exit_info.value.code == 8
    message = capsys.readouterr().err
    assert "'n'" in message
    assert "accumulator" in message
    assert "step 2" in message
    assert not out.exists()


def test_emulate_without_probes_records_spikes(tmp_path):
    program = ChipProgram(metadata={"target": "loihi1", "dt": 0.001})
    program.add(CompartmentGroup("n", n=2, vth=10, bias_mant=[100, 0], bias_exp=3))
    path = program.save(tmp_path / "bare")
    out = tmp_path / "out"
    main(["emulate", str(path), "--steps", "20", "--out", str(out)])
    probes = np.load(out / "probes.npz")
    assert list(probes.keys()) == ["n.spikes"]
    assert probes["n.spikes"].shape == (20, 2)
    assert probes["n.spikes"][:, 0].sum() > 0


@pytest.mark.parametrize("steps", ["0", "-3"])
def test_emulate_rejects_nonpositive_steps(tmp_path, capsys, steps):
    path = _saved_program(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["emulate", str(path), "--steps", steps, "--out", str(tmp_path / "o")])
    assert exc.value.code == 3
    assert "must be >= 1 step" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_emulate_out_is_a_file(tmp_path, capsys):
    path = _saved_program(tmp_path)
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(SystemExit) as exc:
        main(["emulate", str(path), "--steps", "5", "--out", str(blocker)])
    assert exc.value.code == 3
    assert "is a file" in capsys.readouterr().err


def test_emulate_directory_as_program(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["emulate", str(tmp_path), "--steps", "5", "--out", str(tmp_path / "o")])
    assert exc.value.code == 6
    assert "is a directory" in capsys.readouterr().err


def test_emulate_failed_summary_write_keeps_old_outputs(tmp_path, fail_rename_to):
    _, path = _saved_program(tmp_path)
    out = tmp_path / "run"
    main(["emulate", str(path), "--steps", "5", "--out", str(out)])
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    fail_rename_to("summary.json")
    with pytest.raises(SystemExit):
        main(["emulate", str(path), "--steps", "9", "--out", str(out)])
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_emulate_rejects_target_of_other_chip(tmp_path, capsys):
    _, path = _saved_program(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["emulate", str(path), "--steps", "5", "--target", "loihi2"])
    assert exit_info.value.code == 3
    err = " ".join(capsys.readouterr().err.split())
    assert "compiled for loihi1" in err
    assert "target 'loihi2' is a loihi2 chip" in err
    assert "recompile" in err


def test_emulate_accepts_board_of_same_chip(tmp_path):
    _, path = _saved_program(tmp_path)
    out = tmp_path / "run"
    main(
        ["emulate", str(path), "--steps", "5", "--target", "nahuku32"]
        + ["--out", str(out)]
    )
    assert json.loads((out / "summary.json").read_text())["target"] == "loihi1"


@pytest.mark.parametrize(
    "steps, message",
    [
        (
            "99999999999999999999",
            "steps is 99999999999999999999; it must be at most "
            "9223372036854775807 (the int64 range)",
        ),
        (
            "9000000000000000000",
            "steps is 9000000000000000000; its probes would need 1.35e+20 bytes "
            "(15 bytes per step), more than the",
        ),
    ],
    ids=["beyond-int64", "beyond-memory"],
)
def test_emulate_rejects_steps_beyond_memory(tmp_path, capsys, steps, message):
    _, path = _saved_program(tmp_path)
    out = tmp_path / "o"
    with pytest.raises(SystemExit) as exc:
        main(["emulate", str(path), "--steps", steps, "--out", str(out)])
    assert exc.value.code == 3
    assert message in " ".join(capsys.readouterr().err.split())
    assert not out.exists()
