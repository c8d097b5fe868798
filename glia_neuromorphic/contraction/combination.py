"""Combination rules that keep an assembly of contracting modules contracting.

The assembly is ``dx_i/dt = f_i(x_i, t) + sum_{j != i} L_ij x_j``, each ``f_i``
contracting in metric ``M_i`` with rate ``c_i``. Three rules are supported:

- negative feedback: ``L = B - M^(-1) B^T M`` with ``M = blockdiag(M_i)`` makes
  ``M L + L^T M = 0``, so the coupling adds nothing to the log norm and the
  assembly contracts in ``M`` with rate ``min c_i``;
- hierarchy: block-triangular ``L`` with any bounded blocks;
- small gain: the comparison matrix ``Gamma`` (``-c_i`` on the diagonal,
  ``||L_ij||`` in the module metrics off it) is Hurwitz.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.linalg
import scipy.optimize

from glia_neuromorphic.contraction.certificates import (
    Certificate,
    log_norm,
    perron_metric,
)
from glia_neuromorphic.errors import ValidationError

#: Rules accepted by :func:`assembly_certificate`.
RULES = ("feedback", "hierarchy", "small-gain")


def block_slices(sizes: Sequence[int]) -> list[slice]:
    """Return the index slice of every module in the stacked state."""
    if not sizes or any(int(s) <= 0 for s in sizes):
        raise ValidationError(f"module sizes must be positive integers, got {sizes}")
    edges = np.concatenate([[0], np.cumsum(sizes)])
    return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def off_block_mask(sizes: Sequence[int]) -> np.ndarray:
    """Return a boolean mask that is True outside the diagonal blocks."""
    n = int(np.sum(sizes))
    mask = np.ones((n, n), dtype=bool)
    for block in block_slices(sizes):
        mask[block, block] = False
    return mask


def feedback_coupling(B: Any, metric: Any, sizes: Sequence[int]) -> np.ndarray:
    """Return the negative-feedback coupling ``L = B - M^(-1) B^T M``.

    ``B`` is restricted to its block-off-diagonal part first, so ``L`` couples
    only different modules.

    Parameters
    ----------
    B : array_like, shape (n, n)
        Free (trainable) coupling parameters.
    metric : array_like, shape (n,) or (n, n)
        Assembly metric ``M``: its diagonal, or the full block-diagonal matrix.
    sizes : sequence of int
        Module sizes, in state order.
    """
    B = np.asarray(B, dtype=float) * off_block_mask(sizes)
    M = _metric_matrix(metric, len(B))
    return B - np.linalg.solve(M, B.T @ M)


def _metric_matrix(metric: Any, n: int) -> np.ndarray:
    M = np.asarray(metric, dtype=float)
    if M.ndim == 1:
        M = np.diag(M)
    if M.shape != (n, n):
        raise ValidationError(f"metric: expected shape ({n}, {n}), got {M.shape}")
    return M


def feedback_residual(L: Any, metric: Any) -> float:
    """Return ``max |M L + L^T M|``; zero when the feedback identity holds."""
    L = np.asarray(L, dtype=float)
    M = _metric_matrix(metric, len(L))
    return float(np.max(np.abs(M @ L + L.T @ M)))


def _comparison_matrix(
    modules: Sequence[Certificate], L: np.ndarray, sizes: Sequence[int]
) -> np.ndarray:
    """Return ``Gamma``: ``-c_i`` on the diagonal, ``||L_ij||`` in metrics off it."""
    blocks = block_slices(sizes)
    roots = [scipy.linalg.sqrtm(cert.metric).real for cert in modules]
    gamma = np.diag([-cert.rate for cert in modules])
    for i, bi in enumerate(blocks):
        for j, bj in enumerate(blocks):
            if i != j:
                scaled = roots[i] @ L[bi, bj] @ np.linalg.inv(roots[j])
                gamma[i, j] = np.linalg.norm(scaled, 2)
    return gamma


def _comparison_weights(gamma: np.ndarray, rates: Sequence[float]) -> np.ndarray:
    """Return module weights ``d`` minimizing the log norm of ``Gamma`` in ``diag(d)``.

    Starts from the Perron metric of the shifted, nonnegative comparison
    matrix, which is optimal when that matrix is irreducible. A block-triangular
    ``Gamma`` (hierarchy) is reducible and its best weights spread over many
    orders of magnitude, so Nelder-Mead refines the log-weights.
    """
    start = np.diag(perron_metric(gamma + max(rates) * np.eye(len(gamma))))
    if len(gamma) == 1:
        return start

    def objective(log_rest: np.ndarray) -> float:
        weights = np.exp(np.concatenate([[0.0], log_rest]))
        return log_norm(gamma, np.diag(weights))

    # log-weights stay within +/-60 so the metric keeps a finite condition number
    x0 = np.clip(np.log(start[1:] / start[0]), -60, 60)
    result = scipy.optimize.minimize(
        objective,
        x0,
        method="Nelder-Mead",
        bounds=[(-60, 60)] * len(x0),
        options={"xatol": 1e-6, "maxiter": 4000},
    )
    best = result.x if result.fun < objective(x0) else x0
    return np.exp(np.concatenate([[0.0], best]))


def _is_block_triangular(L: np.ndarray, sizes: Sequence[int]) -> bool:
    blocks = block_slices(sizes)
    upper = [
        np.any(L[bi, bj] != 0)
        for i, bi in enumerate(blocks)
        for j, bj in enumerate(blocks)
        if j > i
    ]
    lower = [
        np.any(L[bi, bj] != 0)
        for i, bi in enumerate(blocks)
        for j, bj in enumerate(blocks)
        if j < i
    ]
    return not any(upper) or not any(lower)


def assembly_certificate(
    modules: Sequence[Certificate],
    L: Any,
    sizes: Sequence[int],
    rule: str = "feedback",
) -> Certificate:
    """Certify an assembly of certified modules coupled by ``L``.

    Parameters
    ----------
    modules : sequence of Certificate
        One certificate per module, in state order; their metrics must have
        the module sizes.
    L : array_like, shape (n, n)
        Coupling between modules (the diagonal blocks must be zero).
    sizes : sequence of int
        Module sizes.
    rule : {"feedback", "hierarchy", "small-gain"}
        ``feedback``: rate ``min c_i - mu_M(L)``; ``mu_M(L)``, the log norm of
        the coupling in ``M = blockdiag(M_i)``, is zero when the feedback
        identity holds exactly and measures its violation otherwise (after
        quantization, say). ``hierarchy`` checks that ``L`` is block
        triangular, then uses the small-gain computation, whose rate tends to
        ``min c_i`` for triangular couplings. ``small-gain``: rate
        ``-alpha(Gamma)`` of the comparison matrix, in the metric
        ``blockdiag(d_i M_i)``.
    """
    L = np.asarray(L, dtype=float)
    _check_assembly(modules, L, sizes, rule)
    rates = [float(cert.rate) for cert in modules]
    M = scipy.linalg.block_diag(*[cert.metric for cert in modules])
    details: dict[str, Any] = {
        "module_rates": rates,
        "feedback_residual": feedback_residual(L, M),
    }
    if rule == "feedback":
        coupling = log_norm(L, M)
        rate = min(rates) - coupling
        details["coupling_log_norm"] = coupling
        metric = M
    else:
        if rule == "hierarchy" and not _is_block_triangular(L, sizes):
            raise ValidationError(
                "hierarchy rule: L is not block triangular (modules feed each "
                "other in both directions); use rule 'feedback' or 'small-gain'"
            )
        gamma = _comparison_matrix(modules, L, sizes)
        weights = _comparison_weights(gamma, rates)
        rate = -log_norm(gamma, np.diag(weights))
        metric = scipy.linalg.block_diag(
            *[w * cert.metric for w, cert in zip(weights, modules, strict=True)]
        )
        details["comparison_matrix"] = gamma
        details["module_weights"] = weights
    # the assembly margin is its rate in units of the slowest module's tau
    tau = max(cert.tau for cert in modules)
    return Certificate(
        rule, metric, rate, rate * tau, 1.0 - rate * tau, 1.0, tau, details
    )


def _check_assembly(
    modules: Sequence[Certificate], L: np.ndarray, sizes: Sequence[int], rule: str
) -> None:
    if rule not in RULES:
        raise ValidationError(f"unknown rule {rule!r}; use one of {list(RULES)}")
    if len(modules) != len(sizes):
        raise ValidationError(
            f"got {len(modules)} module certificates for {len(sizes)} module sizes"
        )
    for i, (cert, size) in enumerate(zip(modules, sizes, strict=True)):
        if cert.metric.shape != (size, size):
            raise ValidationError(
                f"module {i}: metric shape {cert.metric.shape} does not match its "
                f"size {size}"
            )
    n = int(np.sum(sizes))
    if L.shape != (n, n):
        raise ValidationError(f"L: expected shape ({n}, {n}), got {L.shape}")
    inside = ~off_block_mask(sizes)
    if np.any(L[inside] != 0):
        raise ValidationError(
            "L has non-zero entries inside a module block; put within-module "
            "weights into the module's W"
        )


def euler_certificate(
    W: Any,
    L: Any,
    metric: Any,
    sizes: Sequence[int],
    step: float,
    gain: float = 1.0,
) -> Certificate:
    """Certify the Euler map ``s <- (1 - a) s + a (W phi(s + v) + L (s + v))``.

    A continuous-time certificate does not carry over to every Euler step: a
    skew coupling ``L`` rotates the state, and an Euler step of a rotation
    lengthens it by ``sqrt(1 + a^2 ||L||^2)``. By the triangle inequality in
    the metric ``M`` the Jacobian ``(1 - a) I + a L + a W D`` (``D`` diagonal,
    entries in ``[0, g]``) has norm at most::

        q = ||(1 - a) I + a L~||_2 + a g max_i ||W~_i||_2,   X~ = M^(1/2) X M^(-1/2)

    so the map contracts by ``q`` per step when ``q < 1`` (rate ``-ln q``).

    Parameters
    ----------
    W : array_like, shape (n, n)
        Block-diagonal module weights.
    L : array_like, shape (n, n)
        Coupling.
    metric : array_like, shape (n,) or (n, n)
        Block-diagonal metric ``M``.
    sizes : sequence of int
        Module sizes.
    step : float
        ``a = dt / tau`` in (0, 1].
    """
    W = np.asarray(W, dtype=float)
    L = np.asarray(L, dtype=float)
    M = _metric_matrix(metric, len(W))
    if not 0 < step <= 1:
        raise ValidationError(f"Euler step dt/tau must lie in (0, 1], got {step}")
    root = scipy.linalg.sqrtm(M).real
    inv_root = np.linalg.inv(root)
    scaled_L = root @ L @ inv_root
    linear = np.linalg.norm((1 - step) * np.eye(len(L)) + step * scaled_L, 2)
    scaled_W = root @ W @ inv_root
    module = max(np.linalg.norm(scaled_W[b, b], 2) for b in block_slices(sizes))
    factor = float(linear + step * gain * module)
    rate = -np.log(factor) if factor > 0 else np.inf
    return Certificate(
        "euler",
        M,
        float(rate),
        1.0 - factor,
        factor,
        gain,
        1.0 / step,
        {"coupling_term": float(linear), "module_norm": float(module)},
    )
