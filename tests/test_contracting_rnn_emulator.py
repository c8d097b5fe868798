"""Contracting assembly on the bit-exact emulator against Lava's fixed point."""

import numpy as np
import pytest

from glia_neuromorphic.backends.lava import run_lava as run_program_on_lava
from glia_neuromorphic.emulator import emulate
from glia_neuromorphic.errors import BackendError
from glia_neuromorphic.fidelity.metrics import compare_bit_exact
from glia_neuromorphic.hwconfig import load_chip
from glia_neuromorphic.models.contracting_rnn import init_assembly, load_task, spiking
from glia_neuromorphic.models.contracting_rnn.program import (
    NEURONS,
    run_emulator,
    to_program,
)
from glia_neuromorphic.models.contracting_rnn.verification import calibrate

TIME_SCALE = 2


@pytest.fixture(scope="module")
def chip():
    return load_chip("loihi2")


@pytest.fixture(scope="module")
def setup(chip):
    """Return a small coupled assembly, its export, 3 digits' drives and states."""
    rng = np.random.default_rng(4)
    task = load_task("rows", seed=0)
    assembly = init_assembly(
        (4, 4),
        8,
        10,
        rng,
        coupling_scale=0.3,
        tau=10.0,
        steps_per_item=2,
        readout_steps=2,
    )
    assembly.b[:] = 0.2
    max_x, max_drive = calibrate(assembly, task.x_train)
    drives = task.x_test[:3] @ assembly.U.T + assembly.b
    s0 = 5.0 * rng.standard_normal((3, assembly.n_units))
    return assembly, chip, (max_x, max_drive), drives, s0


def _export(setup, neuron):
    assembly, chip, (max_x, max_drive), _, _ = setup
    net = spiking.export(
        assembly, chip, max_x, max_drive, time_scale=TIME_SCALE, neuron=neuron
    )
    return net, spiking.quantize(net, chip, max_drive)


@pytest.mark.parametrize("neuron", ["relu", "lif"])
def test_program_bit_exact_with_lava(setup, neuron):
    _, chip, _, drives, s0 = setup
    net, fixed = _export(setup, neuron)
    program = to_program(net, fixed, drives, chip, s0=s0)
    for variable in ("spikes", "u", "v"):
        program.probe(NEURONS, variable)
    steps = drives.shape[1] * net.steps_per_item
    emulated = emulate(program, steps)
    reference = run_program_on_lava(program, steps)
    assert compare_bit_exact(emulated, reference) is None

    # the run must exercise what it checks: spikes, item changes, the reset
    spikes, v = emulated.data["neurons.spikes"], emulated.data["neurons.v"]
    assert steps == 8 * net.steps_per_item
    assert spikes.sum() > 100
    after_spike = v[1:][spikes[:-1]]
    if neuron == "relu":
        assert np.any(after_spike > 0)
        assert v.min() == 0
    else:
        assert v.min() < 0


def test_run_emulator_matches_run_lava(setup):
    assembly, chip, _, drives, s0 = setup
    net, fixed = _export(setup, "relu")
    lava = spiking.run_lava(net, drives, chip, fixed, s0=s0, probe_current=True)
    emulator = run_emulator(net, drives, chip, fixed, s0=s0, probe_current=True)
    assert np.array_equal(emulator["counts"], lava["counts"])
    assert np.array_equal(emulator["features"], lava["features"])
    assert np.array_equal(emulator["s"], lava["s"])
    assert emulator["counts"].sum() > 0


def test_run_emulator_rejects_loihi1(setup):
    assembly, _, (max_x, max_drive), drives, _ = setup
    chip = load_chip("loihi1")
    net = spiking.export(assembly, chip, max_x, max_drive, time_scale=TIME_SCALE)
    fixed = spiking.quantize(net, chip, max_drive)
    with pytest.raises(BackendError, match="always resets v to 0"):
        run_emulator(net, drives, chip, fixed)


def test_program_saves_and_reloads(setup, tmp_path):
    from glia_neuromorphic.program import ChipProgram

    _, chip, _, drives, s0 = setup
    net, fixed = _export(setup, "relu")
    program = to_program(net, fixed, drives, chip, s0=s0, seed=7)
    loaded = ChipProgram.load(program.save(tmp_path / "rnn"))
    assert loaded.content_hash() == program.content_hash()
    group = loaded.groups[NEURONS]
    assert (group.reset_mode, group.vmin) == ("subtract", 0)
    assert group.n == 3 * net.n_neurons
    assert loaded.groups["items"].start_steps.tolist() == [
        1 + k * net.steps_per_item for k in range(1, 8)
    ]


@pytest.mark.parametrize(
    ("target", "backend", "message"),
    [
        ("loihi1", "emulator", "always reset v to 0 after a spike"),
        ("loihi2", "nengo-loihi", "runs on backends \\['lava', 'emulator'\\]"),
    ],
)
def test_verify_rejects_backend(target, backend, message, tmp_path):
    from glia_neuromorphic.models.contracting_rnn import verify

    with pytest.raises(BackendError, match=message):
        verify(target=target, backend=backend, out=tmp_path)
    assert not (tmp_path / "report.json").exists()


@pytest.mark.slow
def test_glia_verify_on_emulator(tmp_path):
    import json
    import subprocess
    import sys

    out = tmp_path / "verify"
    command = [sys.executable, "-m", "glia_neuromorphic.cli", "verify"]
    command += ["contracting-rnn", "--target", "loihi2", "--backend", "emulator"]
    result = subprocess.run(
        [*command, "--out", str(out)], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["passed"]
    assert report["backend"] == "emulator"
    assert report["wall_seconds"]["fixed_point"] > 0
    page = (out / "report.html").read_text()
    for text in ("Accuracy on 50 held-out digits", "certificate margin", "base64,"):
        assert text in page
    assert (out / "convergence.png").stat().st_size > 0
