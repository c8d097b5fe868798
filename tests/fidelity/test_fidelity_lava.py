"""Fidelity harness against Lava's bit-accurate models: latency, broken weights."""

import json

import numpy as np
import pytest
import tiny_lif

from glia_neuromorphic.fidelity import judge, metrics, verify_case
from glia_neuromorphic.hwconfig import load_target
from glia_neuromorphic.program import (
    ChipProgram,
    CompartmentGroup,
    SpikeSource,
    SynapseGroup,
)
from glia_neuromorphic.runs import RunResult

STEPS = 60


def _latency_program(chain: bool) -> ChipProgram:
    """Return one spike at step 5 into one compartment, or into a 3-neuron chain.

    The float weights equal the integer ones after every shift, so float and
    fixed point run the same noise-free network.
    """
    chip = load_target("loihi2").chip
    weight_exp = 6
    scale = 2 ** (weight_exp + chip.neuron.act_shift)
    n = 3 if chain else 1
    # a chain neuron loses u and v within one step (decay 4096/4096), so one
    # input spike drives it over threshold exactly once
    full_decay = chip.decay_unity - chip.neuron.decay_u_offset
    decay_u = full_decay if chain else 0
    decay_v = chip.decay_unity - chip.neuron.decay_v_offset - 1 if chain else 0
    vth = 1000 if chain else 2**16
    prog = ChipProgram(metadata={"target": "loihi2", "dt": tiny_lif.DT})
    prog.add(SpikeSource("stim", n=1, steps=[5], indices=[0]))
    prog.add(
        CompartmentGroup(
            "lif",
            n=n,
            decay_u=decay_u,
            decay_v=decay_v,
            vth=vth,
            float_params={
                "du": (decay_u + chip.neuron.decay_u_offset) / chip.decay_unity,
                "dv": (decay_v + chip.neuron.decay_v_offset) / chip.decay_unity,
                "vth": float(vth * 2**chip.neuron.vth_shift),
                "bias": 0.0,
            },
        )
    )
    w_in = np.zeros((n, 1), dtype=np.int64)
    w_in[0, 0] = 100
    prog.add(
        SynapseGroup(
            "in",
            pre="stim",
            post="lif",
            weights=w_in,
            weight_exp=weight_exp,
            float_weights=w_in * float(scale),
        )
    )
    if chain:
        w_chain = np.diag(np.full(n - 1, 100), k=-1)
        prog.add(
            SynapseGroup(
                "chain",
                pre="lif",
                post="lif",
                weights=w_chain,
                weight_exp=weight_exp,
                float_weights=w_chain * float(scale),
            )
        )
    for variable in ("spikes", "u", "v"):
        prog.probe("lif", variable)
    return prog.validate()


def _first_step(trace: np.ndarray) -> int:
    """Return the 1-based step of the first non-zero entry."""
    return int(np.flatnonzero(trace)[0]) + 1


def test_b04_input_reaches_u_one_step_later():
    program = _latency_program(chain=False)
    fixed = tiny_lif.run_lava(program, 10)
    reference = tiny_lif.run_float(program, 10)
    # spike at step 5, u changes at step 6, in Lava's bit-accurate LIF and in
    # the float reference alike
    assert _first_step(fixed["lif.u"][:, 0]) == 6
    assert _first_step(reference["lif.u"][:, 0]) == 6
    assert fixed["lif.u"][5, 0] == 100 << 6 << 6


def test_b04_chain_fires_on_consecutive_steps():
    program = _latency_program(chain=True)
    fixed = tiny_lif.run_lava(program, 12)
    reference = tiny_lif.run_float(program, 12)
    for run in (fixed, reference):
        firing = [_first_step(run["lif.spikes"][:, i]) for i in range(3)]
        assert firing == [6, 7, 8]
        assert run["lif.spikes"].sum() == 3

    # the comparison applies exactly the documented latency (both 1 here)
    aligned = metrics.align(fixed, reference)
    assert (aligned.offset_a, aligned.offset_b) == (0, 0)
    np.testing.assert_array_equal(*aligned.pair("lif.spikes"))


def _immediate_float(program, steps, declared_latency):
    """Return the float run with external input delivered in its own step."""
    late = tiny_lif.run_float(program, steps + 1)
    data = {key: value[1:] for key, value in late.data.items()}
    return RunResult(
        data, late.dt, "numpy-immediate", seed=0, input_latency=declared_latency
    )


def test_b04_alignment_uses_documented_latency_only():
    program = _latency_program(chain=True)
    fixed = tiny_lif.run_lava(program, 12)

    # a model that delivers input at once documents latency 0: aligned by 1
    immediate = _immediate_float(program, 12, declared_latency=0)
    assert _first_step(immediate["lif.spikes"][:, 0]) == 5
    aligned = metrics.align(fixed, immediate)
    assert (aligned.offset_a, aligned.offset_b) == (1, 0)
    np.testing.assert_array_equal(*aligned.pair("lif.spikes"))

    # the same run declaring the wrong latency is not rescued by a guess
    mislabeled = _immediate_float(program, 12, declared_latency=1)
    aligned = metrics.align(fixed, mislabeled)
    divergence = metrics.first_divergence(aligned.a, aligned.b, ["lif.spikes"])
    assert divergence.step == 5
    assert divergence.index == 0


def test_float_reference_matches_lava_floating_pt():
    # the numpy float network is Lava's float LIF and Dense, step for step
    program = tiny_lif.make_program(steps=STEPS)
    ours = tiny_lif.run_float(program, STEPS)
    lava = tiny_lif.run_lava(program, STEPS, tag="floating_pt")
    np.testing.assert_array_equal(ours["lif.spikes"], lava["lif.spikes"])
    np.testing.assert_allclose(ours["lif.v"], lava["lif.v"], rtol=1e-12)


@pytest.fixture(scope="module")
def good_runs():
    program = tiny_lif.make_program(steps=STEPS)
    return program, {
        "float": tiny_lif.run_float(program, STEPS),
        "fixed": tiny_lif.run_lava(program, STEPS),
    }


def test_quantized_program_passes_its_signature(good_runs):
    _, runs = good_runs
    judgement = judge(tiny_lif.signature(), runs)
    assert judgement.passed, [r.name for r in judgement.failures]
    agreement = judgement.results[0]
    assert agreement.value > 0.95


def test_zeroed_weight_is_caught(good_runs):
    program, runs = good_runs
    broken = tiny_lif.make_program(steps=STEPS)
    # neuron 2 gets input only through this weight
    broken.groups["in"].weights[2, 1] = 0
    fixed = tiny_lif.run_lava(broken, STEPS)
    assert fixed["lif.spikes"][:, 2].sum() == 0
    judgement = judge(tiny_lif.signature(), {"float": runs["float"], "fixed": fixed})
    assert not judgement.passed
    agreement = judgement.results[0]
    assert agreement.metric == "spike_count_agreement"
    assert not agreement.passed
    assert agreement.per_index[2] == 0.0
    assert "index 2" in agreement.detail
    assert "active_fraction" in {r.metric for r in judgement.failures}


def test_verify_case_writes_report_and_golden(tmp_path):
    case = tiny_lif.build(steps=STEPS)
    golden_dir = tmp_path / "golden"
    first = verify_case(
        case,
        target="loihi2",
        backend="lava",
        seed=0,
        out=tmp_path / "report",
        golden_dir=golden_dir,
        update_golden=True,
    )
    assert first.passed
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["schema_version"] == 1
    assert report["passed"] is True
    assert report["program_hash"] == case.program.content_hash()
    assert report["target_summary"]["assumed"]
    assert "data:image/png;base64," in (tmp_path / "report" / "report.html").read_text()

    # break the program behind the case: the golden check names the change
    case.program.groups["in"].weights[2, 1] = 0
    second = verify_case(
        case, target="loihi2", backend="lava", seed=0, golden_dir=golden_dir
    )
    assert not second.passed
    assert not second.golden.identical
    assert second.golden.changed_inputs[0].startswith("program hash")
    assert second.golden.divergence.probe in {"lif.spikes", "lif.u", "lif.v"}
    assert second.golden.divergence.index == 2
