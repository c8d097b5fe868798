"""Weight parameterizations that are contracting by construction."""

from __future__ import annotations

from typing import Any

import numpy as np

from glia_neuromorphic.contraction.certificates import _check_theta, check_square
from glia_neuromorphic.errors import ValidationError


def _check_fraction(max_norm: float, gain: float) -> float:
    if not 0 < max_norm < 1:
        raise ValidationError(
            f"max_norm must lie in (0, 1) so that g * sigma_max < 1, got {max_norm}"
        )
    if gain <= 0:
        raise ValidationError(f"gain must be positive, got {gain}")
    return max_norm / gain


def svd_weights(
    U: Any,
    sigma: Any,
    V: Any,
    theta: Any,
    gain: float = 1.0,
    max_norm: float = 0.9,
) -> np.ndarray:
    """Build ``W = Theta^(-1/2) U Sigma V^T Theta^(1/2)`` with clipped singular values.

    The singular values are clipped to ``[0, max_norm / g]``, so
    ``g ||Theta^(1/2) W Theta^(-1/2)||_2 <= max_norm < 1`` and the module is
    contracting in the metric ``Theta`` with rate ``(1 - max_norm) / tau``.

    Parameters
    ----------
    U, V : array_like, shape (n, n)
        Orthogonal matrices.
    sigma : array_like, shape (n,)
        Singular values before clipping.
    theta : array_like, shape (n,)
        Positive diagonal of the metric.
    """
    U = check_square("U", U)
    V = check_square("V", V)
    n = len(U)
    theta = _check_theta(theta, n)
    limit = _check_fraction(max_norm, gain)
    for name, Q in (("U", U), ("V", V)):
        error = float(np.max(np.abs(Q.T @ Q - np.eye(n))))
        if error > 1e-8:
            raise ValidationError(
                f"{name} is not orthogonal (max |Q^T Q - I| = {error:.2g}); "
                "orthogonalize it, e.g. with scipy.linalg.polar"
            )
    sigma = np.clip(np.asarray(sigma, dtype=float).reshape(-1), 0.0, limit)
    root = np.sqrt(theta)
    return (U * sigma) @ V.T * root[None, :] / root[:, None]


def project_scaled_norm(
    W: Any, theta: Any, gain: float = 1.0, max_norm: float = 0.9
) -> np.ndarray:
    """Return the nearest ``W`` (in the scaled norm) whose certificate holds.

    Clips the singular values of ``Theta^(1/2) W Theta^(-1/2)`` to
    ``max_norm / g``; used after every training step so the certificate holds
    throughout training.
    """
    W = check_square("W", W)
    theta = _check_theta(theta, len(W))
    limit = _check_fraction(max_norm, gain)
    root = np.sqrt(theta)
    scaled = root[:, None] * W / root[None, :]
    U, sigma, Vt = np.linalg.svd(scaled)
    if sigma[0] <= limit:
        return W
    clipped = (U * np.minimum(sigma, limit)) @ Vt
    return clipped * root[None, :] / root[:, None]


def sparse_weights(
    n: int,
    density: float,
    spectral_radius: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Draw a random sparse ``W`` scaled so that ``rho(|W|)`` is exact.

    Entries are Gaussian on a random support of the given density (diagonal
    excluded). Used for the frozen modules of sparse assemblies.
    """
    if n < 2 or not 0 < density <= 1:
        raise ValidationError(
            f"sparse module needs n >= 2 and 0 < density <= 1, got n={n}, "
            f"density={density}"
        )
    mask = rng.random((n, n)) < density
    np.fill_diagonal(mask, False)
    # keep the support strongly connected in practice: one ring of edges
    ring = np.roll(np.eye(n, dtype=bool), 1, axis=1)
    mask |= ring
    W = rng.standard_normal((n, n)) * mask
    rho = float(np.max(np.abs(np.linalg.eigvals(np.abs(W)))))
    return W * (spectral_radius / rho)
