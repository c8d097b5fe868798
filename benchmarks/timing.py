"""Timing helpers shared by the benchmark scripts."""

from __future__ import annotations

import json
import time


def steps_per_second(run, short: int, long: int) -> tuple[float, object]:
    """Return steps/s of ``run(steps)`` from two run lengths, and the long result.

    The difference of a short and a long run cancels the fixed costs (Lava's
    compilation and process start, numba's first call), so the figure is the
    steady-state rate. A first short run warms up imports and caches.
    """
    run(short)
    start = time.perf_counter()
    run(short)
    t_short = time.perf_counter() - start
    start = time.perf_counter()
    result = run(long)
    t_long = time.perf_counter() - start
    return (long - short) / max(t_long - t_short, 1e-9), result


def emit(record: dict) -> None:
    """Print one JSON result line for run_all.py to collect."""
    print("RESULT " + json.dumps(record), flush=True)


def emulator_steps_per_second(program, steps: int) -> float:
    """Return the emulator's steps/s over ``steps`` steps, after a warm-up.

    Only the step loop is timed: building the emulator (weight formats,
    transposes, numba's first call) is a one-off cost per program.
    """
    from glia_neuromorphic.emulator import Emulator

    emulator = Emulator(program)
    emulator.run(5)
    start = time.perf_counter()
    emulator.run(steps)
    return steps / (time.perf_counter() - start)
