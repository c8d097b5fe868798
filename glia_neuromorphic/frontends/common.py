"""Helpers shared by the front ends: names, size checks, fixed-point checks."""

from __future__ import annotations

import logging
import re

import numpy as np

from glia_neuromorphic.errors import QuantizationError, ValidationError
from glia_neuromorphic.quantize.core import ParamReport, param_report

logger = logging.getLogger(__name__)

#: The memory address Python puts in the repr of an object without a label
#: (nengo: ``<Ensemble (unlabeled) at 0x7f...>``); it changes from run to run.
_ADDRESS = re.compile(r"\s+at\s+0x[0-9a-fA-F]+")


def without_address(label: str) -> str:
    """Return ``label`` without memory addresses, so it is the same in every run."""
    return _ADDRESS.sub("", label)


class NameRegistry:
    """Hands out unique, file-safe group names derived from model labels."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def unique(self, label: str) -> str:
        """Return ``label`` made file-safe, with ``_2``, ``_3``... if taken.

        Memory addresses are dropped from the label, so a model without labels
        gets the same names, numbered in build order, in every run.
        """
        label = without_address(label)
        base = re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_") or "group"
        name, k = base, 1
        while name in self._used:
            k += 1
            name = f"{base}_{k}"
        self._used.add(name)
        return name


def check_size(kind: str, name: str, n: int) -> int:
    """Return ``n`` or raise ValidationError if the object has no units."""
    if n < 1:
        raise ValidationError(
            f"{kind} {name!r}: size is {n}; it must be >= 1 (remove the object "
            "or give it at least one neuron)"
        )
    return int(n)


def check_shape(kind: str, name: str, shape: tuple[int, ...]) -> tuple[int, int]:
    """Return a 2-D weight shape, or raise if a dimension is 0."""
    if len(shape) != 2 or 0 in shape:
        raise ValidationError(
            f"{kind} {name!r}: weights have shape {tuple(shape)}; a connection "
            "needs a 2-D (post, pre) matrix with both sizes >= 1"
        )
    return int(shape[0]), int(shape[1])


def exact_report(name: str, kind: str, values: np.ndarray, exp: int | None = None):
    """Return a ParamReport for integers taken as they are (zero error)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    return param_report(name, kind, values, values, values.astype(np.int64), exp, 0)


def check_int_range(name: str, values: np.ndarray, lo: int, hi: int, key: str) -> None:
    """Raise QuantizationError if an integer parameter is outside ``[lo, hi]``."""
    values = np.asarray(values)
    if values.size and (values.min() < lo or values.max() > hi):
        bad = values.min() if values.min() < lo else values.max()
        raise QuantizationError(
            f"{name}: value {bad} is outside [{lo}, {hi}] ({key}); the graph is "
            "fixed point, so the value must already fit the target"
        )
    if values.size and np.any(values != np.round(values)):
        raise QuantizationError(
            f"{name}: holds non-integer values in a fixed-point graph; pass "
            "fixed_point=False to quantize it from floats"
        )


def weight_report(
    name: str,
    given: np.ndarray,
    used: np.ndarray,
    exp: int,
    n_saturated: int,
) -> ParamReport:
    """Return the report of integer weights changed by clipping or truncation."""
    given = np.asarray(given, dtype=np.float64).ravel()
    used = np.asarray(used, dtype=np.int64).ravel()
    dequant = used.astype(np.float64)
    report = param_report(name, "weights", given, dequant, used, exp, 0)
    report.n_saturated = n_saturated
    if n_saturated:
        report.notes.append(f"{n_saturated} weight(s) clipped to the legal range")
    changed = int(np.count_nonzero(given != used)) - n_saturated
    if changed > 0:
        report.notes.append(f"{changed} weight(s) truncated to the weight precision")
    return report
