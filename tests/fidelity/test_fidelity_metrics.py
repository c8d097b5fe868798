"""Fidelity metrics on hand-made inputs with known results, and run alignment."""

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from glia_neuromorphic.errors import ValidationError
from glia_neuromorphic.fidelity import metrics
from glia_neuromorphic.runs import RunResult

DT = 0.001


def _raster(steps, n, spikes):
    raster = np.zeros((steps, n), dtype=np.int8)
    for step, index in spikes:
        raster[step - 1, index] = 1
    return raster


def _run(data, backend="emulator", latency=1, **kw):
    return RunResult(data=data, dt=DT, backend=backend, input_latency=latency, **kw)


def test_spike_count_agreement_known_values():
    a = _raster(10, 3, [(1, 0), (2, 0), (3, 0), (4, 0), (5, 1)])
    b = _raster(10, 3, [(1, 0), (2, 0), (6, 1), (7, 1)])
    agreement = metrics.spike_count_agreement(a, b)
    # neuron 0: 4 vs 2 -> 0.5; neuron 1: 1 vs 2 -> 0.5; neuron 2 silent in both -> 1
    np.testing.assert_allclose(agreement, [0.5, 0.5, 1.0])


def test_spike_count_agreement_one_silent_is_zero():
    a = _raster(5, 1, [(2, 0)])
    b = _raster(5, 1, [])
    assert metrics.spike_count_agreement(a, b)[0] == 0.0


def test_rate_rmse_in_hz():
    a = _raster(1000, 2, [(k, 0) for k in range(1, 1001, 10)])  # 100 spikes in 1 s
    b = _raster(1000, 2, [(k, 0) for k in range(1, 1001, 20)])  # 50 spikes
    np.testing.assert_allclose(metrics.firing_rates(a, DT), [100.0, 0.0])
    # rate differences (50, 0) Hz -> RMSE sqrt(50**2 / 2)
    assert metrics.rate_rmse(a, b, DT) == pytest.approx(np.sqrt(1250.0))


def test_decoded_rmse_known_value():
    x = np.zeros((4, 2))
    y = np.array([[1.0, 0], [1, 0], [1, 0], [1, 0]])
    assert metrics.decoded_rmse(x, y) == pytest.approx(np.sqrt(0.5))


def test_decode_spikes_matches_nengo_lowpass(rng):
    import nengo

    raster = (rng.random((300, 6)) < 0.08).astype(np.int8)
    decoders = rng.normal(size=(6, 2))
    got = metrics.decode_spikes(raster, decoders, DT, tau=0.005)
    filtered = nengo.Lowpass(0.005).filt(raster / DT, dt=DT, y0=0)
    np.testing.assert_allclose(got, filtered @ decoders, rtol=1e-9, atol=1e-9)


def test_decode_spikes_rejects_bad_decoder_shape():
    with pytest.raises(ValidationError, match="decoders have shape"):
        metrics.decode_spikes(np.zeros((5, 3)), np.zeros((4, 2)), DT, 0.005)


def test_decoded_rmse_rejects_shape_mismatch():
    with pytest.raises(ValidationError, match="shapes"):
        metrics.decoded_rmse(np.zeros((4, 2)), np.zeros((5, 2)))


@pytest.mark.parametrize("separation", [1, 3, 10, 40])
@pytest.mark.parametrize("tau", [0.002, 0.01])
def test_van_rossum_two_single_spikes_closed_form(separation, tau):
    a = _raster(200, 1, [(20, 0)])
    b = _raster(200, 1, [(20 + separation, 0)])
    expected = np.sqrt(1 - np.exp(-separation * DT / tau))
    distance = metrics.van_rossum_distance(a, b, DT, tau)
    assert distance[0] == pytest.approx(expected, rel=1e-12)
    # symmetric
    assert metrics.van_rossum_distance(b, a, DT, tau)[0] == pytest.approx(expected)


def test_van_rossum_spike_against_none_and_identical():
    a = _raster(50, 2, [(10, 0), (10, 1)])
    b = _raster(50, 2, [(10, 1)])
    distance = metrics.van_rossum_distance(a, b, DT, 0.005)
    assert distance[0] == pytest.approx(np.sqrt(0.5))
    assert distance[1] == 0.0


def test_van_rossum_counts_tail_after_run():
    a = _raster(10, 1, [(10, 0)])
    b = _raster(10, 1, [])
    assert metrics.van_rossum_distance(a, b, DT, 0.005)[0] == pytest.approx(
        np.sqrt(0.5)
    )


def test_van_rossum_two_spike_trains_match_pairwise_formula():
    # continuous-time formula for exponential kernels (sum over spike pairs)
    t_a = np.array([3, 8, 30]) * DT
    t_b = np.array([5, 31, 32]) * DT
    tau = 0.004

    def kernel_sum(x, y):
        return np.exp(-np.abs(x[:, None] - y[None, :]) / tau).sum()

    expected = np.sqrt(
        0.5 * (kernel_sum(t_a, t_a) + kernel_sum(t_b, t_b) - 2 * kernel_sum(t_a, t_b))
    )
    a = _raster(40, 1, [(3, 0), (8, 0), (30, 0)])
    b = _raster(40, 1, [(5, 0), (31, 0), (32, 0)])
    got = metrics.van_rossum_distance(a, b, DT, tau)[0]
    assert got == pytest.approx(expected, rel=1e-12)


def test_first_divergence_names_step_index_probe():
    a = {"n.spikes": np.zeros((6, 3), dtype=int), "n.v": np.zeros((6, 3), dtype=int)}
    b = {k: v.copy() for k, v in a.items()}
    assert metrics.first_divergence(a, b) is None
    b["n.v"][4, 2] = 7
    b["n.spikes"][3, 1] = 1  # earlier: step 4
    b["n.spikes"][3, 0] = 0
    divergence = metrics.first_divergence(a, b)
    assert divergence.step == 4
    assert divergence.index == 1
    assert divergence.probe == "n.spikes"
    assert metrics.mismatch_count(a, b) == 2
    assert "step 4, index 1" in divergence.describe()


def test_first_divergence_same_step_lowest_index():
    a = {"x.u": np.zeros((5, 4))}
    b = {"x.u": np.zeros((5, 4))}
    b["x.u"][2, 3] = 1.0
    b["x.u"][2, 1] = np.nan
    divergence = metrics.first_divergence(a, b)
    assert (divergence.step, divergence.index) == (3, 1)


def test_align_applies_latency_difference():
    # the same input shows one step later in run a (latency 1) than in b (0)
    a = _run({"n.spikes": _raster(10, 1, [(6, 0)])}, backend="emulator", latency=1)
    b = _run({"n.spikes": _raster(10, 1, [(5, 0)])}, backend="rate-model", latency=0)
    aligned = metrics.align(a, b)
    assert aligned.offset_a == 1
    assert aligned.offset_b == 0
    assert aligned.n_steps == 9
    x, y = aligned.pair("n.spikes")
    np.testing.assert_array_equal(x, y)
    assert metrics.first_divergence(aligned.a, aligned.b) is None


def test_align_never_guesses_offset():
    # both declare latency 1, but b is shifted by one step: the shift must show
    a = _run({"n.spikes": _raster(10, 1, [(6, 0)])}, backend="emulator")
    b = _run({"n.spikes": _raster(10, 1, [(5, 0)])}, backend="reference")
    aligned = metrics.align(a, b)
    assert aligned.offset_a == aligned.offset_b == 0
    divergence = metrics.first_divergence(aligned.a, aligned.b)
    assert divergence.step == 5


def test_compare_bit_exact_counts_steps_of_first_run():
    # run a (latency 1) against a rate-style run b (latency 0): a's step 7 is
    # b's step 6, and the divergence is reported as a's step
    spikes_a = _raster(10, 2, [(3, 0), (7, 1)])
    spikes_b = _raster(10, 2, [(2, 0)])
    a = _run({"n.spikes": spikes_a}, backend="emulator", latency=1)
    b = _run({"n.spikes": spikes_b}, backend="model", latency=0)
    divergence = metrics.compare_bit_exact(a, b)
    assert (divergence.step, divergence.index) == (7, 1)
    b.data["n.spikes"][5, 1] = 1
    assert metrics.compare_bit_exact(a, b) is None


def test_bit_exact_missing_probe_rejected():
    spikes = _raster(10, 2, [(3, 0)])
    a = _run({"n.spikes": spikes, "n.v": np.zeros((10, 2))}, backend="emulator")
    b = _run({"n.spikes": spikes.copy()}, backend="lava")
    with pytest.raises(ValidationError, match=r"'n\.v' is not recorded by 'lava';"):
        metrics.compare_bit_exact(a, b)
    neither = r"'n\.u' is not recorded by 'emulator' or 'lava'"
    with pytest.raises(ValidationError, match=neither):
        metrics.compare_bit_exact(a, b, probes=["n.u"])
    assert metrics.compare_bit_exact(a, b, probes=["n.spikes"]) is None


def test_align_rejects_latency_that_contradicts_backend_table():
    a = _run({"n.spikes": np.zeros((4, 1))}, backend="lava", latency=2)
    b = _run({"n.spikes": np.zeros((4, 1))}, backend="reference")
    with pytest.raises(ValidationError, match="documented latency"):
        metrics.align(a, b)


def test_align_rejects_different_dt():
    a = _run({"n.spikes": np.zeros((4, 1))})
    b = RunResult(data={"n.spikes": np.zeros((4, 1))}, dt=0.002, backend="reference")
    with pytest.raises(ValidationError, match="different dt"):
        metrics.align(a, b)


def test_align_rejects_runs_without_shared_probe():
    a = _run({"n.spikes": np.zeros((4, 1))})
    b = _run({"m.spikes": np.zeros((4, 1))}, backend="reference")
    with pytest.raises(ValidationError, match="share no probe"):
        metrics.align(a, b)


def test_recall_sequence_and_order_score():
    overlaps = np.zeros((12, 3))
    overlaps[0:3, 0] = 0.9
    overlaps[3:4, 2] = 0.9  # one-step blip, below min_steps
    overlaps[4:8, 1] = 0.8
    overlaps[8:12, 2] = 0.95
    assert metrics.recall_sequence(overlaps, 0.5, min_steps=2) == [0, 1, 2]
    assert metrics.recall_sequence(overlaps, 0.5) == [0, 2, 1, 2]
    assert metrics.recall_order_score([0, 1, 2], [0, 1, 2]) == 1.0
    assert metrics.recall_order_score([0, 2], [0, 1, 2]) == pytest.approx(2 / 3)
    assert metrics.recall_order_score([2, 1, 0], [0, 1, 2]) == pytest.approx(1 / 3)


def test_recall_sequence_below_threshold_is_empty():
    assert metrics.recall_sequence(np.full((5, 2), 0.1), 0.5) == []


def test_accuracy_known_value_and_mismatch():
    assert metrics.accuracy([1, 2, 3, 4], [1, 2, 0, 4]) == 0.75
    with pytest.raises(ValidationError, match="labels"):
        metrics.accuracy([1, 2], [1, 2, 3])


rasters = hnp.arrays(
    np.int8,
    st.tuples(st.integers(1, 40), st.integers(1, 4)),
    elements=st.integers(0, 1),
)


@settings(max_examples=60, deadline=None)
@given(rasters, st.data())
def test_spike_metrics_properties(raster_a, data):
    raster_b = data.draw(
        hnp.arrays(np.int8, raster_a.shape, elements=st.integers(0, 1))
    )
    agreement = metrics.spike_count_agreement(raster_a, raster_b)
    assert np.all((agreement >= 0) & (agreement <= 1))
    distance = metrics.van_rossum_distance(raster_a, raster_b, DT, 0.004)
    np.testing.assert_allclose(
        distance, metrics.van_rossum_distance(raster_b, raster_a, DT, 0.004)
    )
    differs = np.any(raster_a != raster_b, axis=0)
    assert np.all((distance > 0) == differs)
    divergence = metrics.first_divergence({"s": raster_a}, {"s": raster_b})
    assert (divergence is None) == (not differs.any())
    if divergence is not None:
        rows = np.nonzero(np.any(raster_a != raster_b, axis=1))[0]
        assert divergence.step == rows[0] + 1
