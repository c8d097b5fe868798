"""Helpers shared by the file formats: JSON conversion and read errors."""

from __future__ import annotations

import json
import math
import zipfile
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

#: Exceptions that reading a damaged zip, npy or JSON member can raise; each
#: reader turns them into one ProgramFileError naming the file.
CORRUPT_FILE_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    RuntimeError,
    NotImplementedError,
    KeyError,
    ValueError,
    TypeError,
    AttributeError,
    EOFError,
    OSError,
)


def jsonable(value: Any) -> Any:
    """Return ``value`` with numpy arrays and scalars turned into JSON types."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def strict_json(value: Any, **kwargs: Any) -> str:
    """Return ``value`` as strict JSON text: NaN and infinities become null.

    ``json.dumps`` writes them as bare ``NaN``/``Infinity`` by default, which
    strict parsers reject. Keyword arguments go to :func:`json.dumps`.
    """
    return json.dumps(_finite_floats(jsonable(value)), allow_nan=False, **kwargs)


def _finite_floats(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_floats(v) for v in value]
    return value
