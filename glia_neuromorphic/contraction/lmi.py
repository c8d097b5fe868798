"""Diagonal-metric contraction test as a linear matrix inequality (cvxpy)."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np

from glia_neuromorphic.contraction.certificates import (
    Certificate,
    _check_positive,
    check_square,
    log_norm,
    perron_root,
)
from glia_neuromorphic.errors import BackendError

logger = logging.getLogger(__name__)

#: Strictness of the LMI: the left side must be below ``-LMI_EPS * I``.
LMI_EPS = 1e-7


def _solve_lmi(A: np.ndarray, rate: float, solver: str) -> np.ndarray | None:
    """Return a diagonal ``P >= I`` with ``P(A-I) + (A-I)^T P + 2 rate P < 0``.

    Returns None when the problem is infeasible.
    """
    import cvxpy as cp

    n = len(A)
    p = cp.Variable(n)
    P = cp.diag(p)
    shifted = A - (1.0 - rate) * np.eye(n)
    lhs = P @ shifted + shifted.T @ P
    # lhs is symmetric by construction; cvxpy needs to see it as such
    constraints = [0.5 * (lhs + lhs.T) << -LMI_EPS * np.eye(n), p >= 1]
    problem = cp.Problem(cp.Minimize(cp.sum(p)), constraints)
    try:
        # an inaccurate solution is fine: the rate is re-verified afterwards
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Solution may be inaccurate")
            problem.solve(solver=solver)
    except cp.error.SolverError as exc:
        raise BackendError(
            f"LMI solver {solver!r} failed ({exc}); install or pick another "
            f"cvxpy solver: {cp.installed_solvers()}"
        ) from exc
    if problem.status not in ("optimal", "optimal_inaccurate") or p.value is None:
        return None
    return np.diag(np.asarray(p.value, dtype=float))


def lmi_certificate(
    W: Any,
    gain: float = 1.0,
    tau: float = 1.0,
    iterations: int = 12,
    solver: str = "CLARABEL",
) -> Certificate:
    """Find a diagonal metric by solving the LMI and bisect for the best rate.

    Solves ``P (g|W| - I) + (g|W| - I)^T P + 2 c P < 0`` for a positive
    diagonal ``P``. Feasibility at ``c = 0`` is equivalent to
    ``rho(g|W|) < 1`` (the Metzler matrix ``g|W| - I`` is Hurwitz); bisection
    on ``c`` then approaches ``1 - rho``. The reported rate is recomputed from
    the returned metric, so solver tolerances cannot inflate it.

    Parameters
    ----------
    iterations : int
        Bisection steps on the rate (each solves one small SDP).
    solver : str
        cvxpy solver able to handle semidefinite constraints.
    """
    W = check_square("W", W)
    gain = _check_positive("gain", gain)
    tau = _check_positive("tau", tau)
    A = gain * np.abs(W)
    n = len(A)
    feasible = _solve_lmi(A, 0.0, solver)
    rho = perron_root(A)
    if feasible is None:
        return Certificate(
            "lmi",
            np.eye(n),
            -np.inf,
            1.0 - rho,
            rho,
            gain,
            tau,
            {"feasible": False, "spectral_radius": rho},
        )

    # bisection on the dimensionless rate c in (0, 1]
    best, low, high = feasible, 0.0, 1.0
    for _ in range(iterations):
        mid = 0.5 * (low + high)
        metric = _solve_lmi(A, mid, solver)
        if metric is None:
            high = mid
        else:
            best, low = metric, mid
    verified = -log_norm(A - np.eye(n), best)
    logger.debug("LMI rate %.4g (bisection bound %.4g), rho %.4g", verified, low, rho)
    return Certificate(
        "lmi",
        best / np.max(np.diag(best)),
        verified / tau,
        verified,
        1.0 - verified,
        gain,
        tau,
        {"feasible": True, "spectral_radius": rho, "bisection_rate": low},
    )
