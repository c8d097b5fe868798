"""Locate the first step where two bit-exact runs differ."""

from __future__ import annotations

import dataclasses

import numpy as np

from glia_neuromorphic.runs import RunResult


@dataclasses.dataclass(frozen=True)
class Difference:
    """The first differing value of two runs (steps count from 1)."""

    probe: str
    step: int
    compartment: int
    left: int
    right: int
    left_backend: str
    right_backend: str

    def __str__(self) -> str:
        return (
            f"{self.probe} differs first at step {self.step}, compartment "
            f"{self.compartment}: {self.left_backend}={self.left}, "
            f"{self.right_backend}={self.right}"
        )


def first_difference(
    left: RunResult, right: RunResult, probes: list[str] | None = None
) -> Difference | None:
    """Return the earliest differing probe value of two runs, or None if equal.

    Ties between probes at the same step go to the probe listed first. A
    probe missing from one run or a shape mismatch is reported at step 0.
    """
    keys = sorted(left.data) if probes is None else list(probes)
    best: Difference | None = None
    for key in keys:
        diff = _probe_difference(key, left, right)
        if diff is not None and (best is None or diff.step < best.step):
            best = diff
    return best


def _probe_difference(key: str, left: RunResult, right: RunResult):
    names = (left.backend, right.backend)
    if key not in left.data or key not in right.data:
        return Difference(key, 0, -1, 0, 0, *names)
    a = np.asarray(left.data[key]).astype(np.int64)
    b = np.asarray(right.data[key]).astype(np.int64)
    if a.shape != b.shape:
        return Difference(key, 0, -1, a.size, b.size, *names)
    rows, cols = np.nonzero(a != b)
    if rows.size == 0:
        return None
    step, comp = int(rows[0]), int(cols[0])
    return Difference(
        key, step + 1, comp, int(a[step, comp]), int(b[step, comp]), *names
    )
