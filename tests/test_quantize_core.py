"""Quantizer core: weights, decays, thresholds and biases."""

import numpy as np
import pytest

from glia_neuromorphic.errors import QuantizationError, ValidationError
from glia_neuromorphic.hwconfig import load_chip
from glia_neuromorphic.quantize import (
    decay_from_tau,
    quantize_bias,
    quantize_threshold,
    quantize_weights,
)

LOIHI1 = load_chip("loihi1")
LOIHI2 = load_chip("loihi2")


@pytest.mark.parametrize("chip", [LOIHI1, LOIHI2], ids=["loihi1", "loihi2"])
@pytest.mark.parametrize("shape", [(3, 4), (1, 1)])
@pytest.mark.parametrize("zero", [0.0, -0.0])
def test_all_zero_weights_encode(chip, shape, zero):
    q = quantize_weights(np.full(shape, zero), chip, name="zeros")
    assert q.exp == 0
    assert np.all(q.mantissa == 0)
    assert q.report.n_saturated == 0
    assert q.report.notes == []


def test_edge_weight_clipped_not_layer_zeroed(caplog):
    w = np.array([[255.0, -256.0], [10.0, 3.0]])
    q = quantize_weights(w, LOIHI2, name="edge", sign_mode="mixed")
    assert np.any(q.mantissa != 0)
    lsb = 2 * 2.0**q.exp
    nonzero = w != 0
    assert np.all(np.abs(q.dequantize()[nonzero] - w[nonzero]) <= lsb)
    assert q.report.n_saturated == 1
    assert "clipped" in caplog.text and "'edge'" in caplog.text


def test_outlier_keeps_layer_nonzero():
    w = np.full((4, 4), 0.5)
    w[0, 0] = 0.5e6
    q = quantize_weights(w, LOIHI2, name="outlier")
    assert np.abs(q.mantissa).sum() > 0
    assert q.report.n_saturated >= 1  # the outlier is beyond the largest exponent


def test_weight_signs_are_kept():
    w = np.array([[0.3, -0.3], [-0.3, 0.3]]) * 300
    q = quantize_weights(w, LOIHI2, name="signs")
    np.testing.assert_array_equal(np.sign(q.mantissa), np.sign(w))


def test_negative_weight_in_excitatory_group_raises():
    with pytest.raises(QuantizationError, match="negative.*declared excitatory"):
        quantize_weights([[-5.0, 1.0]], LOIHI2, name="exc", sign_mode="excitatory")


def test_nonfinite_weight_names_first_index():
    w = np.ones((3, 3))
    w[0, 1] = np.nan
    w[1, 2] = np.inf
    with pytest.raises(ValidationError, match=r"weights\[0, 1\] is nan"):
        quantize_weights(w, LOIHI1, name="weights")


def test_stochastic_rounding_is_unbiased_and_seeded():
    w = np.full(20000, 10.3)
    q1 = quantize_weights(
        w, LOIHI2, name="s", rounding="stochastic", rng=np.random.default_rng(1), exp=0
    )
    q2 = quantize_weights(
        w, LOIHI2, name="s", rounding="stochastic", rng=np.random.default_rng(1), exp=0
    )
    np.testing.assert_array_equal(q1.mantissa, q2.mantissa)
    assert abs(q1.dequantize().mean() - 10.3) < 0.02
    assert np.all(np.abs(q1.dequantize() - 10.3) < 1)


@pytest.mark.parametrize(
    "tau, delta, tau_eff",
    [(0.005, 819, 0.0050012), (0.1, 41, 0.099902), (0.5, 8, 0.512)],
)
def test_decay_from_tau_matches_table(tau, delta, tau_eff):
    d = decay_from_tau(tau, 0.001, LOIHI2, name="syn", register="u")
    assert d.delta == delta
    assert d.stored == delta - 1  # the current decay register adds 1
    assert d.tau_eff == pytest.approx(tau_eff, rel=1e-4)


@pytest.mark.parametrize("tau", [0.75, 1.5])
def test_unrepresentable_tau_names_filter_and_fix(tau):
    with pytest.raises(QuantizationError, match=r"astro.*tau_eff.*coarser dt"):
        decay_from_tau(tau, 0.001, LOIHI1, name="astro", register="u")


def test_coarser_step_represents_slow_tau():
    d = decay_from_tau(1.5, 0.01, LOIHI1, name="astro", register="u")
    assert d.delta == 27
    assert abs(d.rel_error) < 0.015


@pytest.mark.parametrize("tau", [0.0, -0.1, float("inf"), float("nan")])
def test_invalid_tau_rejected(tau):
    with pytest.raises(ValidationError, match="positive finite"):
        decay_from_tau(tau, 0.001, LOIHI1, name="syn")


def test_no_leak_only_on_voltage():
    assert decay_from_tau(None, 0.001, LOIHI1, name="v", register="v").stored == 0
    with pytest.raises(QuantizationError, match="offset"):
        decay_from_tau(None, 0.001, LOIHI1, name="u", register="u")


def test_threshold_and_bias():
    assert quantize_threshold(64 * 100, LOIHI2, name="n") == 100
    with pytest.raises(QuantizationError, match="outside"):
        quantize_threshold(64 * 2**18, LOIHI2, name="n")
    mant, exp, report = quantize_bias([0.0, 5.0, -100000.0], LOIHI2, name="n")
    np.testing.assert_allclose(mant * 2.0**exp, [0, 5, -100000], rtol=1e-3)
    assert report.n_saturated == 0
