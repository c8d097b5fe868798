"""`verify` fails a fixed-point run that only works because a register wrapped."""

import numpy as np
import pytest

from glia_neuromorphic.emulator.engine import Emulator
from glia_neuromorphic.fidelity import FIXED, FLOAT, Signature, Tolerance, judge
from glia_neuromorphic.fidelity.signature import WRAP_CHECK, silent_wraps
from glia_neuromorphic.hwconfig import load_chip
from glia_neuromorphic.program import (
    ChipProgram,
    CompartmentGroup,
    SpikeSource,
    SynapseGroup,
)
from glia_neuromorphic.runs import RunResult

STEPS = 40


def driven_program(weight: int) -> ChipProgram:
    """One source firing every step drives a LIF whose current never decays."""
    chip = load_chip("loihi2")
    program = ChipProgram(metadata={"target": "loihi2", "dt": 0.001})
    program.add(
        SpikeSource("src", n=1, steps=np.arange(1, STEPS + 1), indices=np.zeros(STEPS))
    )
    # no current decay: u only grows, so a large weight must overflow it
    program.add(
        CompartmentGroup(
            "lif",
            n=1,
            decay_u=-chip.neuron.decay_u_offset,
            decay_v=chip.decay_unity - chip.neuron.decay_v_offset,
            vth=2**chip.neuron.vth_mant_bits - 1,
        )
    )
    program.add(
        SynapseGroup(
            "drive",
            pre="src",
            post="lif",
            weights=[[weight]],
            weight_exp=chip.synapse.weight_exp_max,
        )
    )
    program.probe("lif", "spikes")
    program.probe("lif", "u")
    return program


def signature(expected=()):
    return Signature(
        name="driven",
        tolerances=[
            Tolerance("mismatch_count", "<=", 1e9, (FIXED, FLOAT), probe="lif.spikes")
        ],
        expected_wraps=expected,
    )


def float_run(fixed: RunResult) -> RunResult:
    return RunResult(data=dict(fixed.data), dt=fixed.dt, backend="reference")


@pytest.fixture(scope="module")
def wrapped_run():
    run = Emulator(driven_program(254), "loihi2").run(STEPS)
    assert run.counters["lif.u"]["policy"] == "wrap"
    assert run.counters["lif.u"]["count"] > 0  # the program is built to wrap
    return run


def test_wrap_fails_verify_gate(wrapped_run):
    judgement = judge(signature(), {FIXED: wrapped_run, FLOAT: float_run(wrapped_run)})
    gate = [r for r in judgement.results if r.name == WRAP_CHECK]
    assert len(gate) == 1
    assert gate[0].passed is False
    assert "lif.u wrapped" in gate[0].detail
    assert judgement.passed is False


def test_declared_wrap_passes(wrapped_run):
    judgement = judge(
        signature(expected=("lif.u",)),
        {FIXED: wrapped_run, FLOAT: float_run(wrapped_run)},
    )
    gate = [r for r in judgement.results if r.name == WRAP_CHECK]
    assert gate[0].passed is True
    assert judgement.passed is True


def test_small_weight_has_no_wrap_and_passes():
    run = Emulator(driven_program(2), "loihi2").run(STEPS)
    judgement = judge(signature(), {FIXED: run, FLOAT: float_run(run)})
    gate = [r for r in judgement.results if r.name == WRAP_CHECK]
    assert gate[0].passed is True


def test_clip_counters_are_not_wraps():
    run = RunResult(
        data={},
        dt=0.001,
        backend="emulator",
        counters={"g.v": {"policy": "clip", "count": 5}},
    )
    assert silent_wraps(run) is None


def test_pattern_declares_several_groups():
    counters = {
        "lif_a.u": {"policy": "wrap", "count": 3, "first_step": 4},
        "lif_b.u": {"policy": "wrap", "count": 1, "first_step": 9},
        "other.u": {"policy": "wrap", "count": 2, "first_step": 2},
    }
    run = RunResult(data={}, dt=0.001, backend="emulator", counters=counters)
    assert sorted(silent_wraps(run, ("lif_*.u",))) == ["other.u"]
