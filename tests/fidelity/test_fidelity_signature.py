"""Signatures and tolerances: declaration checks, judge verdicts, table output."""

import io

import numpy as np
import pytest
from rich.console import Console

from glia_neuromorphic.errors import FidelityError, ValidationError
from glia_neuromorphic.fidelity import (
    Signature,
    Tolerance,
    judge,
    metrics,
    print_results,
)
from glia_neuromorphic.runs import RunResult

DT = 0.001


def _runs(shift_fixed=0, drop_neuron=None):
    rng = np.random.default_rng(0)
    spikes = (rng.random((200, 5)) < 0.1).astype(np.int8)
    fixed = np.roll(spikes, shift_fixed, axis=0)
    if drop_neuron is not None:
        fixed[:, drop_neuron] = 0
    value = np.cumsum(spikes, axis=0) / 10.0
    return {
        "float": RunResult({"n.spikes": spikes, "x": value}, DT, "reference", seed=1),
        "fixed": RunResult(
            {"n.spikes": fixed, "x": value + 0.01}, DT, "emulator", "loihi2", seed=1
        ),
        # the rate model responds one step earlier (latency 0): row k is row k + 1
        # of the spiking runs
        "rate": RunResult(
            {"x": np.vstack([value[1:], value[-1:]]) + 0.2},
            DT,
            "rate-model",
            seed=1,
            input_latency=0,
        ),
    }


def _signature(**kw):
    return Signature(
        "toy",
        tolerances=[
            Tolerance("spike_count_agreement", ">=", 0.95, probe="n.spikes"),
            Tolerance("rate_rmse", "<=", 5.0, probe="n.spikes"),
            Tolerance("decoded_rmse", "<=", 0.05, probe="x", params={"unit": "a.u."}),
            Tolerance("van_rossum", "<=", 0.3, probe="n.spikes", params={"tau": 0.01}),
            Tolerance(
                "decoded_rmse",
                "<=",
                0.1,
                probe="x",
                levels=("float", "rate"),
                gate=False,
            ),
            Tolerance("active", ">=", 0.99, levels=("fixed",)),
        ],
        task_scores={"active": lambda run: float(run["n.spikes"].any(axis=0).mean())},
        **kw,
    )


def test_judge_passes_identical_spikes():
    judgement = judge(_signature(), _runs())
    assert judgement.passed
    by_metric = {(r.metric, r.levels): r for r in judgement.results}
    assert by_metric[("spike_count_agreement", ("fixed", "float"))].value == 1.0
    assert by_metric[("decoded_rmse", ("fixed", "float"))].value == pytest.approx(0.01)
    assert by_metric[("decoded_rmse", ("fixed", "float"))].unit == "a.u."
    assert by_metric[("active", ("fixed",))].value == 1.0


def test_rate_level_reported_not_gated():
    judgement = judge(_signature(), _runs())
    cost = next(r for r in judgement.results if r.levels == ("float", "rate"))
    # float vs rate differs by 0.2 > 0.1: fails, but is report-only
    assert cost.value == pytest.approx(0.2)
    assert cost.passed is False
    assert cost.status == "fail (report)"
    assert judgement.passed


def test_judge_catches_silenced_neuron():
    judgement = judge(_signature(), _runs(drop_neuron=3))
    assert not judgement.passed
    failed = {r.metric for r in judgement.failures}
    assert "spike_count_agreement" in failed
    assert "active" in failed
    agreement = next(
        r for r in judgement.results if r.metric == "spike_count_agreement"
    )
    assert agreement.value == pytest.approx(0.8)
    assert "index 3" in agreement.detail
    with pytest.raises(FidelityError, match="spike_count_agreement"):
        judgement.raise_for_failure()


def test_judge_catches_one_step_shift_by_van_rossum():
    judgement = judge(_signature(), _runs(shift_fixed=1))
    van_rossum = next(r for r in judgement.results if r.metric == "van_rossum")
    # counts agree, timing does not
    assert next(
        r for r in judgement.results if r.metric == "spike_count_agreement"
    ).passed
    assert not van_rossum.passed


def test_missing_report_level_is_skipped():
    runs = _runs()
    del runs["rate"]
    judgement = judge(_signature(), runs)
    skipped = next(r for r in judgement.results if r.levels == ("float", "rate"))
    assert skipped.passed is None
    assert skipped.status == "skipped"
    assert judgement.passed


def test_missing_gate_level_raises():
    runs = _runs()
    del runs["float"]
    with pytest.raises(ValidationError, match="needs the run"):
        judge(_signature(), runs)


def test_bit_exact_metrics_report_divergence():
    runs = _runs()
    other = runs["fixed"].data["n.spikes"].copy()
    other[17, 2] ^= 1
    runs["lava"] = RunResult({"n.spikes": other}, DT, "lava", "loihi2", seed=1)
    signature = Signature(
        "pair",
        tolerances=[
            Tolerance("mismatch_count", "<=", 0, levels=("fixed", "lava")),
            Tolerance("first_divergence", ">", 200, levels=("fixed", "lava")),
        ],
    )
    judgement = judge(signature, runs)
    mismatch, first = judgement.results
    assert mismatch.value == 1
    assert "step 18, index 2" in mismatch.detail
    assert first.value == 18
    assert not judgement.passed


def test_nan_value_fails_gate():
    runs = _runs()
    runs["fixed"].data["x"] = runs["fixed"].data["x"] * np.nan
    judgement = judge(_signature(), runs)
    decoded = next(r for r in judgement.results if r.probe == "x" and r.gate)
    assert not decoded.passed


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"comparison": "=>"}, "comparison"),
        ({"threshold": float("nan")}, "threshold"),
        ({"levels": ("fixed", "fixed")}, "levels"),
        ({"levels": ("fixed", "rate")}, "gate cannot involve"),
    ],
)
def test_tolerance_rejects_bad_declaration(kwargs, match):
    base = {"metric": "rate_rmse", "comparison": "<=", "threshold": 1.0}
    with pytest.raises(ValidationError, match=match):
        Tolerance(**{**base, **kwargs})


def test_signature_rejects_unknown_metric():
    with pytest.raises(ValidationError, match="unknown metric"):
        Signature("s", [Tolerance("spike_agreement", ">=", 1.0)])


def test_signature_rejects_one_level_pair_metric():
    with pytest.raises(ValidationError, match="compares two runs"):
        Signature("s", [Tolerance("rate_rmse", "<=", 1.0, levels=("fixed",))])


def test_signature_rejects_empty_tolerances():
    with pytest.raises(ValidationError, match="no tolerance"):
        Signature("s", [])


def test_spike_metric_needs_spike_probe():
    signature = Signature("s", [Tolerance("rate_rmse", "<=", 1.0, probe="x")])
    with pytest.raises(ValidationError, match="spike probe"):
        judge(signature, _runs())


def test_derived_signal_is_judged():
    signature = Signature(
        "derived",
        [Tolerance("decoded_rmse", "<=", 1e-12, probe="count")],
        derived={"count": lambda run: np.cumsum(run["n.spikes"], axis=0)},
    )
    assert judge(signature, _runs()).passed
    assert not judge(signature, _runs(drop_neuron=0)).passed


def test_recall_order_task_score_from_overlaps():
    def recall(run):
        order = metrics.recall_sequence(run["overlap"], threshold=0.5, min_steps=3)
        return metrics.recall_order_score(order, [0, 1, 2])

    signature = Signature(
        "sequence",
        [
            Tolerance("recall_order", ">=", 1.0, levels=("fixed",)),
            Tolerance("recall_order", ">=", 0.0, levels=("fixed", "float")),
        ],
        task_scores={"recall_order": recall},
    )
    overlap = np.zeros((30, 3))
    overlap[0:10, 0] = overlap[10:20, 1] = overlap[20:30, 2] = 0.9
    swapped = overlap[:, [0, 2, 1]]
    runs = {
        "float": RunResult({"overlap": overlap}, DT, "reference"),
        "fixed": RunResult({"overlap": swapped}, DT, "emulator", "loihi2"),
    }
    judgement = judge(signature, runs)
    alone, difference = judgement.results
    assert alone.value == pytest.approx(2 / 3)
    assert not alone.passed
    assert difference.value == pytest.approx(2 / 3 - 1)
    assert not difference.passed


def test_print_results_table():
    buffer = io.StringIO()
    judgement = judge(_signature(), _runs(drop_neuron=1))
    print_results(judgement, Console(file=buffer, width=160, color_system=None))
    text = buffer.getvalue()
    assert "spike_count_agreement" in text
    assert "FAIL" in text
    assert "fail (report)" in text
    assert "FAILED" in text
    # float vs rate goes into its own table
    assert "cost of spiking" in text
    assert text.index("cost of spiking") > text.index("rate_rmse")
