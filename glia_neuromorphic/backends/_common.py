"""Helpers shared by the reference backends."""

from __future__ import annotations

import numpy as np

from glia_neuromorphic.program import ChipProgram


def empty_probe_data(program: ChipProgram) -> dict[str, np.ndarray]:
    """Return ``(0, n)`` arrays for every probe, the data of a zero-step run."""
    return {
        f"{spec.target}.{spec.variable}": np.zeros(
            (0, program.groups[spec.target].size),
            dtype=bool if spec.variable == "spikes" else np.int64,
        )
        for spec in program.probes
    }
