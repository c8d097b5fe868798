"""Contraction certificates for one recurrent module and for assemblies of modules.

A module ``tau dx/dt = -x + W phi(x) + input`` with ``0 <= phi' <= g`` is
contracting when one of the following sufficient conditions holds:

- identity metric: ``g ||W||_2 < 1``, rate ``(1 - g ||W||_2) / tau``;
- diagonal metric: ``rho(g |W|) < 1`` (``|W|`` elementwise). Then a positive
  diagonal ``P`` with ``P (g|W| - I) + (g|W| - I)^T P < 0`` exists and the
  rate is ``(1 - rho(g |W|)) / tau``;
- scaled norm: ``g ||Theta^(1/2) W Theta^(-1/2)||_2 < 1`` for a positive
  diagonal ``Theta`` (metric ``Theta``).

Every certificate returns a :class:`Certificate` whose ``rate`` is the value
verified for the returned metric, so ``rate > 0`` is a proof, not an estimate.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from glia_neuromorphic.errors import ValidationError
from glia_neuromorphic.fileutil import jsonable
from glia_neuromorphic.quantize.core import check_finite

#: Relative weight of the all-ones matrix added to ``g|W|`` so that its Perron
#: vectors are strictly positive when ``|W|`` is reducible (sparse modules).
PERRON_REGULARIZATION = 1e-9


@dataclasses.dataclass(frozen=True)
class Certificate:
    """Result of a contraction test.

    Attributes
    ----------
    kind : str
        Test that produced it: ``identity``, ``diagonal``, ``lmi``,
        ``scaled-norm``, ``feedback``, ``hierarchy`` or ``small-gain``.
    metric : ndarray
        Positive definite metric ``M`` (n x n) in which the distance between
        two trajectories, ``sqrt(dx^T M dx)``, decays.
    rate : float
        Contraction rate in 1/time (the unit of ``tau``); the certificate
        holds for this metric, so a positive rate proves contraction.
    margin : float
        Dimensionless distance to the stability boundary, ``1 - bound``
        (``rate * tau`` for the module tests); positive when contracting.
    bound : float
        Quantity compared with 1: ``g ||W||``, ``rho(g |W|)``, ...
    gain : float
        Upper bound ``g`` of the slope of the nonlinearity.
    tau : float
        Time constant of the module in the unit of the rate.
    details : dict
        Test-specific numbers (solver status, residuals, module rates).
    """

    kind: str
    metric: np.ndarray
    rate: float
    margin: float
    bound: float
    gain: float = 1.0
    tau: float = 1.0
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def contracting(self) -> bool:
        """Return True when the certificate proves contraction."""
        return bool(self.rate > 0 and self.margin > 0)

    def summary(self) -> dict[str, Any]:
        """Return a JSON-ready description (the metric as its diagonal if diagonal)."""
        metric = self.metric
        is_diagonal = np.allclose(metric, np.diag(np.diag(metric)))
        return {
            "kind": self.kind,
            "contracting": self.contracting,
            "rate": float(self.rate),
            "margin": float(self.margin),
            "bound": float(self.bound),
            "gain": float(self.gain),
            "tau": float(self.tau),
            "metric_diagonal": np.diag(metric).tolist() if is_diagonal else None,
            "details": jsonable(self.details),
        }


def check_square(name: str, W: Any) -> np.ndarray:
    """Return ``W`` as a finite square float matrix or raise ValidationError.

    A non-finite entry is named by its first index in row-major order.
    """
    W = np.asarray(W, dtype=float)
    if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] == 0:
        raise ValidationError(
            f"{name}: expected a non-empty square matrix, got shape {W.shape}"
        )
    return check_finite(W, name)


def _check_positive(name: str, value: float) -> float:
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValidationError(f"{name} must be a positive number, got {value}")
    return value


def log_norm(A: np.ndarray, metric: np.ndarray) -> float:
    """Return the logarithmic norm of ``A`` in the metric ``M``.

    This is the largest ``lambda`` with ``M A + A^T M <= 2 lambda M``, i.e. the
    largest eigenvalue of ``sym(M^(1/2) A M^(-1/2))``.
    """
    evals, evecs = np.linalg.eigh(metric)
    if np.min(evals) <= 0:
        raise ValidationError(
            f"metric is not positive definite (smallest eigenvalue {evals.min():.3g})"
        )
    root = (evecs * np.sqrt(evals)) @ evecs.T
    inv_root = (evecs / np.sqrt(evals)) @ evecs.T
    scaled = root @ A @ inv_root
    return float(np.linalg.eigvalsh(0.5 * (scaled + scaled.T))[-1])


def identity_certificate(W: Any, gain: float = 1.0, tau: float = 1.0) -> Certificate:
    """Certify a module in the identity metric: ``g ||W||_2 < 1``.

    Parameters
    ----------
    W : array_like, shape (n, n)
        Recurrent weights.
    gain : float
        Maximum slope ``g`` of the nonlinearity (1 for tanh and ReLU).
    tau : float
        Time constant; the rate is ``(1 - g ||W||_2) / tau`` in 1/(unit of tau).
    """
    W = check_square("W", W)
    gain = _check_positive("gain", gain)
    tau = _check_positive("tau", tau)
    bound = gain * float(np.linalg.norm(W, 2))
    margin = 1.0 - bound
    return Certificate(
        "identity", np.eye(len(W)), margin / tau, margin, bound, gain, tau
    )


def perron_root(A: np.ndarray) -> float:
    """Return the spectral radius of a matrix (the Perron root if nonnegative)."""
    return float(np.max(np.abs(np.linalg.eigvals(A))))


def perron_metric(A: np.ndarray) -> np.ndarray:
    """Return the diagonal metric ``diag(w / v)`` built from the Perron vectors.

    For a nonnegative irreducible ``A`` with right and left Perron vectors ``v``
    and ``w``, ``P = diag(w / v)`` gives ``P A + A^T P <= 2 rho(A) P``, the best
    rate a diagonal metric can certify. A reducible ``A`` is regularized by a
    tiny all-ones term so both vectors stay positive.
    """
    n = len(A)
    scale = max(float(np.max(A)), 1.0)
    A_reg = A + PERRON_REGULARIZATION * scale * np.ones((n, n))
    vals, right = np.linalg.eig(A_reg)
    v = np.abs(np.real(right[:, np.argmax(np.real(vals))]))
    vals, left = np.linalg.eig(A_reg.T)
    w = np.abs(np.real(left[:, np.argmax(np.real(vals))]))
    p = w / v
    return np.diag(p / np.max(p))


def diagonal_certificate(W: Any, gain: float = 1.0, tau: float = 1.0) -> Certificate:
    """Certify a module in a diagonal metric: ``rho(g |W|) < 1``.

    The metric comes from the Perron vectors of ``g |W|`` (see
    :func:`perron_metric`); the returned rate is the one verified for it,
    ``-mu_P(g|W| - I) / tau``, which equals ``(1 - rho) / tau`` up to the
    regularization of reducible matrices.
    """
    W = check_square("W", W)
    gain = _check_positive("gain", gain)
    tau = _check_positive("tau", tau)
    A = gain * np.abs(W)
    rho = perron_root(A)
    metric = perron_metric(A)
    verified = -log_norm(A - np.eye(len(A)), metric)
    return Certificate(
        "diagonal",
        metric,
        verified / tau,
        1.0 - rho,
        rho,
        gain,
        tau,
        {"spectral_radius": rho, "verified_margin": verified},
    )


def scaled_norm_certificate(
    W: Any, theta: Any, gain: float = 1.0, tau: float = 1.0
) -> Certificate:
    """Certify ``g ||Theta^(1/2) W Theta^(-1/2)||_2 < 1`` (metric ``Theta``).

    Parameters
    ----------
    theta : array_like, shape (n,)
        Positive diagonal of ``Theta``.
    """
    W = check_square("W", W)
    theta = _check_theta(theta, len(W))
    gain = _check_positive("gain", gain)
    tau = _check_positive("tau", tau)
    root = np.sqrt(theta)
    bound = gain * float(np.linalg.norm(root[:, None] * W / root[None, :], 2))
    margin = 1.0 - bound
    return Certificate(
        "scaled-norm", np.diag(theta), margin / tau, margin, bound, gain, tau
    )


def _check_theta(theta: Any, n: int) -> np.ndarray:
    theta = np.asarray(theta, dtype=float).reshape(-1)
    if theta.shape != (n,) or not np.all(np.isfinite(theta)) or np.any(theta <= 0):
        raise ValidationError(
            f"theta: expected {n} positive finite numbers, got shape {theta.shape} "
            f"with minimum {np.min(theta) if theta.size else 'n/a'}"
        )
    return theta


def module_certificate(
    W: Any,
    gain: float = 1.0,
    tau: float = 1.0,
    method: str = "diagonal",
    theta: Any = None,
) -> Certificate:
    """Certify one module with the named test.

    Parameters
    ----------
    method : {"identity", "diagonal", "lmi", "scaled-norm", "best"}
        ``best`` runs the identity and diagonal tests and returns the one with
        the larger rate.
    theta : array_like, optional
        Diagonal of the metric, required for ``scaled-norm``.
    """
    if method == "identity":
        return identity_certificate(W, gain, tau)
    if method == "diagonal":
        return diagonal_certificate(W, gain, tau)
    if method == "lmi":
        from glia_neuromorphic.contraction.lmi import lmi_certificate

        return lmi_certificate(W, gain, tau)
    if method == "scaled-norm":
        if theta is None:
            raise ValidationError("method 'scaled-norm' needs theta (the metric)")
        return scaled_norm_certificate(W, theta, gain, tau)
    if method == "best":
        candidates = [identity_certificate(W, gain, tau)]
        candidates.append(diagonal_certificate(W, gain, tau))
        return max(candidates, key=lambda cert: cert.rate)
    raise ValidationError(
        f"unknown certificate method {method!r}; use identity, diagonal, lmi, "
        "scaled-norm or best"
    )
