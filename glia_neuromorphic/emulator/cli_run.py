"""The ``glia emulate`` command: load a program, run it, write probes and summary."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from glia_neuromorphic.emulator.engine import Emulator
from glia_neuromorphic.fileset import write_file_set
from glia_neuromorphic.fileutil import strict_json
from glia_neuromorphic.program import ChipProgram, CompartmentGroup

#: Runs of at least this many steps show a progress bar.
PROGRESS_MIN_STEPS = 1000


def run_emulate_command(
    program_file: Path,
    steps: int,
    *,
    seed: int,
    out: Path,
    target: str | None,
    strict: bool,
    console: Console,
) -> dict:
    """Run a saved program and write ``probes.npz`` and ``summary.json`` to ``out``.

    The two files are written as one set, so an interrupted or failed write
    leaves the previous pair (or none), never a new file beside an old one.
    Returns the summary that was written.
    """
    program = ChipProgram.load(program_file)
    if not program.probes:
        # a program compiled without probes would write nothing; record spikes
        for group in program.of_kind(CompartmentGroup):
            program.probe(group.name, "spikes")
        console.print(
            "note: the program has no probes; recording the spikes of every "
            "compartment group",
            highlight=False,
        )
    emulator = Emulator(program, target, strict=strict, seed=seed)
    start = time.perf_counter()
    if steps >= PROGRESS_MIN_STEPS:
        columns = (
            TextColumn("emulating"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} steps"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("run", total=steps)
            result = emulator.run(
                steps, progress=lambda k: bar.update(task, completed=k)
            )
    else:
        result = emulator.run(steps)
    seconds = time.perf_counter() - start

    buffer = io.BytesIO()
    np.savez_compressed(buffer, **result.data)
    summary = {
        "program": str(program_file),
        "program_hash": result.metadata["program_hash"],
        "target": result.target,
        "mode": result.metadata["mode"],
        "steps": steps,
        "seed": seed,
        "dt": result.dt,
        "strict": strict,
        "seconds": seconds,
        "steps_per_s": steps / seconds if seconds > 0 else None,
        "probes": {key: list(value.shape) for key, value in result.data.items()},
        "counters": result.counters,
    }
    write_file_set(
        {
            Path(out) / "probes.npz": buffer.getvalue(),
            Path(out) / "summary.json": strict_json(summary, indent=1),
        }
    )
    return summary
