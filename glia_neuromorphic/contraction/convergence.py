"""Measure how fast two trajectories approach each other (log-scale fit)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from glia_neuromorphic.errors import ValidationError


@dataclasses.dataclass(frozen=True)
class DecayFit:
    """Exponential fit ``d(t) ~ d0 exp(-rate t)`` of a distance trace.

    Attributes
    ----------
    rate : float
        Fitted decay rate per step (positive when the distance shrinks).
    start, stop : int
        Step window of the fit.
    floor : float
        Distance level treated as noise (spike jitter, rounding); the fit
        stops before the trace reaches ``floor_factor * floor``.
    """

    rate: float
    start: int
    stop: int
    floor: float

    def summary(self) -> dict[str, Any]:
        """Return a JSON-ready description."""
        return dataclasses.asdict(self)


def metric_distance(a: np.ndarray, b: np.ndarray, metric: np.ndarray) -> np.ndarray:
    """Return ``sqrt((a - b)^T M (a - b))`` along the last axis for diagonal ``M``."""
    diff = np.asarray(a, float) - np.asarray(b, float)
    return np.sqrt(np.sum(np.asarray(metric, float) * diff**2, axis=-1))


def fit_decay_rate(
    distance: Any, floor_factor: float = 10.0, min_points: int = 5
) -> DecayFit:
    """Fit the decay rate of a distance trace on a log scale.

    The noise floor is the median of the last quarter of the trace (or
    ``1e-9`` of the first value if that is smaller, for noise-free runs). The
    fit uses the steps from the start up to the first step below
    ``floor_factor * floor``.

    Raises
    ------
    ValidationError
        If the trace has fewer than ``min_points`` steps above the floor: the
        distance never left the noise floor, so no rate can be measured.
    """
    d = np.asarray(distance, dtype=float).reshape(-1)
    if d.size < min_points or not np.all(np.isfinite(d)) or d[0] <= 0:
        raise ValidationError(
            f"distance trace needs >= {min_points} finite steps starting above "
            f"zero, got {d.size} steps starting at {d[0] if d.size else 'n/a'}"
        )
    floor = max(float(np.median(d[-max(1, d.size // 4) :])), 1e-9 * d[0])
    below = np.nonzero(d < floor_factor * floor)[0]
    stop = int(below[0]) if below.size else d.size
    if stop < min_points:
        raise ValidationError(
            f"distance falls to the noise floor ({floor:.3g}) within {stop} steps; "
            "start the runs further apart"
        )
    steps = np.arange(stop)
    slope = np.polyfit(steps, np.log(d[:stop]), 1)[0]
    return DecayFit(float(-slope), 0, stop, floor)
