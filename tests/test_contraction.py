"""Tests of the contraction certificates, combination rules and quantized re-checks."""

import numpy as np
import pytest
import scipy.linalg

from glia_neuromorphic.contraction import (
    assembly_certificate,
    diagonal_certificate,
    feedback_coupling,
    feedback_residual,
    fit_decay_rate,
    identity_certificate,
    lmi_certificate,
    log_norm,
    off_block_mask,
    project_scaled_norm,
    quantize_weights,
    recheck_quantized,
    scaled_norm_certificate,
    sparse_weights,
    svd_weights,
)
from glia_neuromorphic.errors import ValidationError


def test_sparse_module_passes_and_scaled_fails():
    rng = np.random.default_rng(1)
    W = sparse_weights(32, 0.1, 0.9, rng)
    cert = diagonal_certificate(W)
    scaled = diagonal_certificate(1.2 * W)
    assert cert.bound == pytest.approx(0.9)
    assert cert.contracting
    assert cert.rate == pytest.approx(0.1, abs=1e-6)
    assert scaled.bound == pytest.approx(1.08)
    assert not scaled.contracting


def test_diagonal_metric_rate_is_verified():
    rng = np.random.default_rng(2)
    W = sparse_weights(32, 0.1, 0.9, rng)
    cert = diagonal_certificate(W, gain=1.0, tau=2.0)
    A = np.abs(W) - np.eye(32)
    # the stated rate holds for the returned metric: mu_P(|W| - I) <= -rate tau
    assert log_norm(A, cert.metric) <= -cert.rate * 2.0 + 1e-9


def test_identity_certificate_rate():
    W = 0.5 * np.eye(4)
    cert = identity_certificate(W, gain=1.0, tau=10.0)
    assert cert.margin == pytest.approx(0.5)
    assert cert.rate == pytest.approx(0.05)


@pytest.mark.parametrize("rho", [0.6, 0.95, 1.05, 1.3])
def test_lmi_agrees_with_spectral_radius(rho):
    rng = np.random.default_rng(3)
    W = sparse_weights(12, 0.3, rho, rng)
    lmi = lmi_certificate(W, iterations=6)
    radius = diagonal_certificate(W)
    assert lmi.details["feasible"] == (rho < 1)
    assert lmi.contracting == radius.contracting
    if rho < 1:
        # bisection with 6 steps resolves the rate to 1/64
        assert lmi.rate == pytest.approx(1 - rho, abs=1 / 64 + 1e-3)
        assert lmi.rate <= radius.margin + 1e-6


def test_svd_parameterization_is_certified():
    rng = np.random.default_rng(4)
    n = 10
    U, _ = np.linalg.qr(rng.standard_normal((n, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    theta = rng.uniform(0.5, 2.0, n)
    W = svd_weights(U, 3 * rng.random(n), V, theta, gain=1.0, max_norm=0.8)
    cert = scaled_norm_certificate(W, theta)
    assert cert.bound == pytest.approx(0.8)
    assert cert.contracting


def test_projection_restores_scaled_norm():
    rng = np.random.default_rng(5)
    theta = rng.uniform(0.5, 2.0, 8)
    W = 3 * rng.standard_normal((8, 8))
    projected = project_scaled_norm(W, theta, max_norm=0.9)
    assert scaled_norm_certificate(projected, theta).bound == pytest.approx(0.9)


def _sparse_assembly(rng, sizes=(16, 16, 16, 16)):
    modules = [diagonal_certificate(sparse_weights(n, 0.3, 0.9, rng)) for n in sizes]
    metric = scipy.linalg.block_diag(*[cert.metric for cert in modules])
    B = rng.standard_normal((sum(sizes), sum(sizes)))
    return modules, metric, feedback_coupling(B, metric, sizes)


def test_feedback_identity_holds_in_float():
    rng = np.random.default_rng(6)
    _, metric, L = _sparse_assembly(rng)
    assert feedback_residual(L, metric) < 1e-9


def test_feedback_residual_after_quantization():
    rng = np.random.default_rng(7)
    modules, metric, L = _sparse_assembly(rng)
    q = quantize_weights(L, bits=8)
    residual = feedback_residual(q.values, metric)
    print(f"feedback residual after 8-bit quantization: {residual:.3g}")
    # M (L_q - L) + (L_q - L)^T M bounds it: each entry <= (m_i + m_j) lsb / 2
    assert residual <= np.max(np.diag(metric)) * q.lsb
    assert residual > 0
    # an identity metric keeps L_q exactly skew: rounding is odd-symmetric
    skew = feedback_coupling(rng.standard_normal((64, 64)), np.ones(64), [16] * 4)
    assert feedback_residual(quantize_weights(skew, 8).values, np.ones(64)) == 0


def test_assembly_rate_is_min_of_modules():
    rng = np.random.default_rng(8)
    sizes = (8, 12, 16)
    modules = [
        identity_certificate(svd_weights(*_orthogonal_pair(rng, n), np.ones(n), 1, m))
        for n, m in zip(sizes, (0.5, 0.7, 0.9), strict=True)
    ]
    metric = np.ones(sum(sizes))
    L = feedback_coupling(rng.standard_normal((36, 36)), metric, sizes)
    cert = assembly_certificate(modules, L, sizes, "feedback")
    assert cert.rate == pytest.approx(min(m.rate for m in modules), abs=1e-12)
    assert cert.rate == pytest.approx(0.1, abs=1e-9)


def _orthogonal_pair(rng, n):
    U, _ = np.linalg.qr(rng.standard_normal((n, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return U, 10 * np.ones(n), V


def test_assembly_jacobian_within_certified_rate():
    rng = np.random.default_rng(9)
    sizes = (8, 8, 8)
    Ws = [svd_weights(*_orthogonal_pair(rng, 8), np.ones(8), 1, 0.8) for _ in sizes]
    modules = [identity_certificate(W) for W in Ws]
    L = feedback_coupling(3 * rng.standard_normal((24, 24)), np.ones(24), sizes)
    cert = assembly_certificate(modules, L, sizes, "feedback")
    W = scipy.linalg.block_diag(*Ws)
    for _ in range(20):
        D = np.diag(rng.random(24))
        jacobian = -np.eye(24) + W @ D + L
        assert log_norm(jacobian, cert.metric) <= -cert.rate + 1e-9


def test_hierarchy_requires_triangular_coupling():
    rng = np.random.default_rng(10)
    modules, _, L = _sparse_assembly(rng, (8, 8, 8))
    with pytest.raises(ValidationError, match="not block triangular"):
        assembly_certificate(modules, L, (8, 8, 8), "hierarchy")
    lower = np.tril(L) * off_block_mask((8, 8, 8))
    cert = assembly_certificate(modules, lower, (8, 8, 8), "hierarchy")
    assert 0.99 * min(m.rate for m in modules) <= cert.rate
    assert cert.rate <= min(m.rate for m in modules) + 1e-9


def test_small_gain_fails_for_strong_coupling():
    rng = np.random.default_rng(11)
    modules, _, _ = _sparse_assembly(rng, (8, 8))
    B = rng.standard_normal((16, 16)) * off_block_mask((8, 8))
    weak = assembly_certificate(modules, 1e-3 * B, (8, 8), "small-gain")
    strong = assembly_certificate(modules, 10 * B, (8, 8), "small-gain")
    assert weak.contracting
    assert not strong.contracting


def test_coupling_inside_block_rejected():
    modules = [identity_certificate(0.5 * np.eye(2))] * 2
    with pytest.raises(ValidationError, match="inside a module block"):
        assembly_certificate(modules, np.eye(4), (2, 2))


def test_quantization_break_gives_advice():
    n = 8
    W = np.full((n, n), 0.995 / n)
    q = quantize_weights(W, bits=3)
    check = recheck_quantized(W, q, method="diagonal")
    assert check.before.contracting
    assert not check.after.contracting
    assert check.broken
    assert "rho(g|W|) <=" in check.advice
    assert "weight bits" in check.advice


def test_quantization_keeps_margin_at_rho_09():
    rng = np.random.default_rng(12)
    W = sparse_weights(32, 0.1, 0.9, rng)
    check = recheck_quantized(W, quantize_weights(W, bits=8))
    print(f"margin before {check.before.margin:.4f}, after {check.after.margin:.4f}")
    assert check.after.contracting
    assert not check.broken
    assert check.advice == ""


def test_recheck_accepts_mantissa_and_exponent():
    rng = np.random.default_rng(13)
    W = sparse_weights(16, 0.2, 0.9, rng)
    q = quantize_weights(W, bits=8)
    from_pair = recheck_quantized(W, (q.mantissa, q.exponent))
    from_values = recheck_quantized(W, q.values)
    assert from_pair.after.margin == pytest.approx(from_values.after.margin)
    with pytest.raises(ValidationError, match="integer array"):
        recheck_quantized(W, (q.values, q.exponent))


def test_quantize_all_zero_layer():
    q = quantize_weights(np.zeros((3, 3)), bits=8)
    assert q.exponent == 0
    assert not np.any(q.mantissa)


def test_nonfinite_weights_named_by_first_index():
    W = np.ones((3, 3))
    W[0, 1] = np.nan
    W[1, 2] = np.inf
    with pytest.raises(ValidationError, match=r"^weights\[0, 1\] is nan"):
        quantize_weights(W, bits=8)
    with pytest.raises(ValidationError, match=r"^W\[0, 1\] is nan"):
        identity_certificate(W)
    W[0, 1] = 0.0
    with pytest.raises(ValidationError, match=r"^W\[1, 2\] is inf"):
        diagonal_certificate(W)


def test_certificate_rejects_bad_matrix():
    with pytest.raises(ValidationError, match="square"):
        diagonal_certificate(np.ones((2, 3)))
    with pytest.raises(ValidationError, match=r"W\[0, 0\] is inf"):
        identity_certificate(np.array([[np.inf]]))


def test_fit_decay_rate_on_exponential():
    steps = np.arange(200)
    fit = fit_decay_rate(3.0 * np.exp(-0.05 * steps) + 1e-4)
    assert fit.rate == pytest.approx(0.05, rel=0.02)
