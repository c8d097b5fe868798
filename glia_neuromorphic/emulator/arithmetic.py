"""Fixed-point register operations of the emulator, with overflow counting.

Every function works on whole int64 arrays. A :class:`RegisterLog` counts,
per group and register, how many compartment-steps overflowed and records
the first one; in strict mode the first overflow raises instead.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from glia_neuromorphic.errors import RegisterOverflowError


def decay(x: np.ndarray, decay: np.ndarray, offset: int, bits: int) -> np.ndarray:
    """Decay ``x`` by ``(2**bits - decay - offset) / 2**bits``, rounding toward 0.

    Both references (Lava's bit-accurate LIF and nengo-loihi's emulator)
    scale the magnitude and restore the sign, so negative values round up.
    """
    factor = (1 << bits) - decay - offset
    return np.sign(x) * ((np.abs(x) * factor) >> bits)


def shift(x: np.ndarray, exp: int | np.ndarray) -> np.ndarray:
    """Shift left by ``exp`` or, for a negative ``exp``, right (floor)."""
    exp = np.asarray(exp)
    return np.where(exp >= 0, x << np.maximum(exp, 0), x >> np.maximum(-exp, 0))


def wrap_signed(x: np.ndarray, bits: int) -> np.ndarray:
    """Wrap ``x`` into a ``bits``-wide two's-complement register."""
    half = 1 << (bits - 1)
    return ((x + half) & ((1 << bits) - 1)) - half


def clip_symmetric(x: np.ndarray, bits: int) -> np.ndarray:
    """Saturate ``x`` to ``+/-(2**(bits-1) - 1)``, as both references clip v."""
    limit = (1 << (bits - 1)) - 1
    return np.clip(x, -limit, limit)


@dataclasses.dataclass
class RegisterCount:
    """Overflow events of one register of one group."""

    policy: str
    count: int = 0
    first_step: int | None = None
    first_index: int | None = None
    first_value: int | None = None

    def as_dict(self) -> dict:
        """Return the JSON form stored in ``RunResult.counters``."""
        return dataclasses.asdict(self)


class RegisterLog:
    """Counts wraps and clips per ``group.register``; raises in strict mode.

    Parameters
    ----------
    strict : bool
        Raise :class:`RegisterOverflowError` on the first overflow instead of
        counting it (nengo-loihi's emulator raises in its strict mode too).
    """

    def __init__(self, strict: bool = False) -> None:
        self.strict = strict
        self.step = 0
        self.counts: dict[str, RegisterCount] = {}

    def declare(self, group: str, register: str, policy: str) -> None:
        """Register a counter so reports show it even when it stays at 0."""
        self.counts.setdefault(f"{group}.{register}", RegisterCount(policy))

    def record(
        self, group: str, register: str, before: np.ndarray, after: np.ndarray
    ) -> None:
        """Count the entries where ``after`` differs from ``before``."""
        changed = before != after
        if not changed.any():
            return
        index = int(np.flatnonzero(changed)[0])
        value = int(np.ravel(before)[index])
        self.add(group, register, int(changed.sum()), index, value)

    def add(self, group: str, register: str, count: int, index: int, value: int):
        """Count ``count`` overflows; ``index`` and ``value`` describe the first."""
        entry = self.counts[f"{group}.{register}"]
        if self.strict:
            raise RegisterOverflowError(
                f"group {group!r}: register {register} overflowed ({entry.policy}) "
                f"at step {self.step}, compartment {index}, value {value}; lower "
                "the weights or thresholds, or run without --strict "
                "(strict=False) to count overflows instead"
            )
        if entry.first_step is None:
            entry.first_step = self.step
            entry.first_index = index
            entry.first_value = value
        entry.count += count

    def as_dict(self) -> dict[str, dict]:
        """Return every counter as JSON-ready dicts keyed ``group.register``."""
        return {key: entry.as_dict() for key, entry in sorted(self.counts.items())}
