"""Run results: what every backend returns, in one shape the fidelity code reads."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from glia_neuromorphic.errors import ValidationError

#: Backends of the toolchain, with the number of steps a spike takes to reach
#: its target compartment. On Loihi (and in Lava's and nengo-loihi's models) a
#: spike emitted at step t changes the target's current at step t + 1.
SPIKE_LATENCY = {
    "reference": 1,
    "emulator": 1,
    "lava": 1,
    "nengo-loihi": 1,
    "board": 1,
}


@dataclasses.dataclass
class RunResult:
    """Probed data of one run.

    Attributes
    ----------
    data : dict of str -> ndarray
        ``"group.variable"`` -> array of shape ``(steps, n)``; row k contains
        the value after step k + 1 (steps count from 1, as on the chip).
    dt : float
        Step length in seconds.
    backend : str
        What produced the run (``reference``, ``emulator``, ``lava``, ...).
    target : str or None
        hw_configs target for fixed-point runs, None for float runs.
    seed : int
        Seed of the run; reports record it.
    input_latency : int
        Steps between an input spike and its first effect on a compartment,
        used to align runs before comparing them.
    counters : dict
        Overflow and saturation counts per group and register.
    metadata : dict
        Anything else worth recording (library versions, program hash, ...).
    """

    data: dict[str, np.ndarray]
    dt: float
    backend: str
    target: str | None = None
    seed: int = 0
    input_latency: int = 1
    counters: dict[str, Any] = dataclasses.field(default_factory=dict)
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        steps = {np.shape(v)[0] for v in self.data.values()}
        if len(steps) > 1:
            raise ValidationError(
                f"run from {self.backend!r}: probes have different lengths {steps}"
            )

    @property
    def n_steps(self) -> int:
        """Return the number of recorded steps (0 for a run without probes)."""
        return next((np.shape(v)[0] for v in self.data.values()), 0)

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self.data:
            raise KeyError(
                f"probe {key!r} not recorded by {self.backend!r}; recorded: "
                f"{sorted(self.data)}"
            )
        return self.data[key]
