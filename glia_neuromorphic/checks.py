"""Checks of scalar user options (steps, dt, seed) shared by the CLI and the API."""

from __future__ import annotations

import math
import numbers
from typing import Any

from glia_neuromorphic.errors import ValidationError


def check_steps(value: Any, name: str = "steps") -> int | None:
    """Return ``value`` as a step count >= 1, or None if it is None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValidationError(f"{name} is {value!r}; give a whole number of steps")
    if value < 1:
        raise ValidationError(f"{name} is {value}; it must be >= 1 step")
    return int(value)


def check_count(value: Any, name: str, hint: str = "") -> int:
    """Return ``value`` as a count >= 1; ``hint`` is added to the error message."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValidationError(f"{name} is {value!r}; give a whole number >= 1{hint}")
    if value < 1:
        raise ValidationError(f"{name} is {value}; it must be >= 1{hint}")
    return int(value)


def check_dt(value: Any, name: str = "dt") -> float:
    """Return ``value`` as a positive finite step length in seconds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValidationError(f"{name} is {value!r}; give a step length in seconds")
    if not math.isfinite(value) or value <= 0:
        raise ValidationError(
            f"{name} is {value!r}; it must be a positive finite number of seconds "
            "(e.g. 0.001)"
        )
    return float(value)


def check_seed(value: Any, name: str = "seed") -> int:
    """Return ``value`` as a seed numpy accepts (an integer >= 0)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValidationError(f"{name} is {value!r}; give an integer >= 0")
    if value < 0:
        raise ValidationError(f"{name} is {value}; it must be >= 0")
    return int(value)


def check_out_dir(value: Any, name: str = "--out") -> None:
    """Raise unless ``value`` is an existing directory or a path that can be one."""
    from pathlib import Path

    path = Path(value)
    for parent in (path, *path.parents):
        if parent.exists():
            if not parent.is_dir():
                raise ValidationError(
                    f"{name} is {str(value)!r}, but {str(parent)!r} is a file; "
                    "give a directory path"
                )
            break
