"""Helpers shared by the reference backends."""

from __future__ import annotations

from typing import Any

import numpy as np

from glia_neuromorphic.errors import BackendError
from glia_neuromorphic.hwconfig import ChipConfig, Target
from glia_neuromorphic.program import ChipProgram
from glia_neuromorphic.runs import SPIKE_LATENCY, RunResult


def empty_probe_data(program: ChipProgram) -> dict[str, np.ndarray]:
    """Return ``(0, n)`` arrays for every probe, the data of a zero-step run."""
    return {
        f"{spec.target}.{spec.variable}": np.zeros(
            (0, program.groups[spec.target].size),
            dtype=bool if spec.variable == "spikes" else np.int64,
        )
        for spec in program.probes
    }


def reference_chip(
    program: ChipProgram,
    target: str | Target | ChipConfig | None,
    backend: str,
) -> ChipConfig:
    """Return the chip that ``program`` runs on, checked to follow ``backend``.

    Raises
    ------
    BackendError
        If the chip's bit-exact reference (the ``reference`` key of its
        hw_config) is another backend.
    """
    from glia_neuromorphic.emulator.engine import resolve_chip

    chip = resolve_chip(program, target)
    if chip.reference != backend:
        raise BackendError(
            f"target {chip.name!r} follows {chip.reference!r}, not {backend!r}; run "
            f"it on the {chip.reference} backend or pick a target whose chip "
            f"follows {backend}"
        )
    return chip


def reference_result(
    program: ChipProgram,
    chip: ChipConfig,
    backend: str,
    data: dict[str, np.ndarray],
    *,
    steps: int,
    seed: int,
    counters: dict[str, Any] | None = None,
) -> RunResult:
    """Return the RunResult of a ``steps``-step run of ``program`` on ``backend``."""
    return RunResult(
        data=data,
        dt=float(program.metadata.get("dt", 0.001)),
        backend=backend,
        target=chip.name,
        seed=int(seed),
        input_latency=SPIKE_LATENCY[backend],
        counters=dict(counters or {}),
        metadata={"program_hash": program.content_hash(), "steps": steps},
    )
