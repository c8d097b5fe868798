"""Memories for the sequence network: digit class means and random patterns."""

from __future__ import annotations

import numpy as np

from glia_neuromorphic.errors import ValidationError


def digit_patterns(n_neurons: int = 64, seed: int = 0) -> np.ndarray:
    """Return the ten digit memories as a ``(10, n_neurons)`` array of +/-1.

    Each memory is the class-mean image of scikit-learn's bundled ``load_digits``
    data, centred by subtracting the mean over the ten class means and
    binarized by sign (0 maps to +1). Without centring the means overlap so
    much that the sequence stalls after a few digits. For ``n_neurons > 64`` the
    centred means are projected by a fixed random +/-1 matrix (seeded) before
    binarizing.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    means = np.stack([digits.data[digits.target == k].mean(axis=0) for k in range(10)])
    centred = means - means.mean(axis=0)
    if n_neurons != 64:
        if n_neurons < 64:
            raise ValidationError(
                f"digit patterns need n_neurons >= 64 (one per pixel), got {n_neurons}"
            )
        rng = np.random.default_rng(seed)
        projection = rng.choice([-1.0, 1.0], size=(64, n_neurons))
        centred = centred @ projection
    return np.where(centred >= 0, 1.0, -1.0)


def random_patterns(n_patterns: int, n_neurons: int, seed: int = 0) -> np.ndarray:
    """Return ``n_patterns`` independent random +/-1 patterns (seeded)."""
    if n_patterns < 2 or n_neurons < 1:
        raise ValidationError(
            f"a sequence needs at least 2 patterns and 1 neuron, got {n_patterns} "
            f"patterns of {n_neurons} neurons"
        )
    rng = np.random.default_rng(seed)
    return rng.choice([-1.0, 1.0], size=(n_patterns, n_neurons))


def corrupt(pattern: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """Return ``pattern`` with a random ``fraction`` of its entries flipped."""
    rng = np.random.default_rng(seed)
    flipped = pattern.copy()
    n_flip = int(round(fraction * pattern.size))
    index = rng.choice(pattern.size, size=n_flip, replace=False)
    flipped[index] *= -1
    return flipped


def check_sequence_inputs(
    j_s: np.ndarray, j_a: np.ndarray, cue: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the weights and cue as float arrays, or raise on bad values or shapes.

    Both weight matrices must be ``(N, N)`` and the cue ``(N,)`` with N >= 1,
    and every value must be finite.
    """
    from glia_neuromorphic.quantize import check_finite

    j_s = check_finite(j_s, "J_s")
    j_a = check_finite(j_a, "J_a")
    cue = check_finite(cue, "cue")
    n = j_s.shape[0] if j_s.ndim else 0
    if n == 0:
        raise ValidationError("the network has no units; store at least one pattern")
    if j_s.shape != (n, n) or j_a.shape != (n, n) or cue.shape != (n,):
        raise ValidationError(
            f"J_s {j_s.shape}, J_a {j_a.shape} and cue {cue.shape} must be "
            f"({n}, {n}), ({n}, {n}) and ({n},)"
        )
    return j_s, j_a, cue


def sequence_weights(
    patterns: np.ndarray, cyclic: bool = True, pseudo_inverse: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(J_s, J_a)``: symmetric storage and asymmetric transition weights.

    ``patterns`` is ``(P, N)``. The pseudo-inverse forms are
    ``J_s = X C^-1 X^T / N`` and ``J_a = X_next C^-1 X^T / N`` with
    ``C = X^T X / N`` (X is N x P, column nu of X_next is pattern nu + 1, and
    for an open chain the last column is zero). Hebbian forms drop ``C^-1``.
    Both have a zero diagonal in ``J_s``.
    """
    xi = np.asarray(patterns, dtype=float).T  # (N, P)
    n, p = xi.shape
    following = np.roll(xi, -1, axis=1)
    if not cyclic:
        following[:, -1] = 0.0
    if pseudo_inverse:
        c_inv = np.linalg.pinv(xi.T @ xi / n)
        j_s = xi @ c_inv @ xi.T / n
        j_a = following @ c_inv @ xi.T / n
    else:
        j_s = xi @ xi.T / n
        j_a = following @ xi.T / n
    np.fill_diagonal(j_s, 0.0)
    return j_s, j_a
