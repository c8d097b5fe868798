"""The verify harness: run every level of a model, judge, check golden, report.

A model module (or a user's test) provides a ``build()`` that returns a
:class:`FidelityCase`: the signature, one runner per level of reference and
the chip program. A model's ``verify`` function then only needs::

    def verify(*, target, backend, steps=None, seed=0, out=None, console=None,
               golden_dir=None, update_golden=False):
        return verify_case(build(), target=target, backend=backend, steps=steps,
                           seed=seed, out=out, console=console,
                           golden_dir=golden_dir, update_golden=update_golden)
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from glia_neuromorphic.errors import ValidationError
from glia_neuromorphic.fidelity import golden as golden_files
from glia_neuromorphic.fidelity.progress import DelayedProgress
from glia_neuromorphic.fidelity.report import build_report, write_report
from glia_neuromorphic.fidelity.signature import (
    FIXED,
    Judgement,
    Signature,
    judge,
    print_results,
)
from glia_neuromorphic.hwconfig import load_target
from glia_neuromorphic.program import ChipProgram
from glia_neuromorphic.runs import RunResult

logger = logging.getLogger(__name__)

#: A runner is called as ``runner(steps=, seed=, target=, backend=)``.
Runner = Callable[..., RunResult]


@dataclasses.dataclass
class FidelityCase:
    """Model description returned by ``build()``: everything needed to verify it.

    Attributes
    ----------
    signature : Signature
        Metrics and tolerances.
    runners : dict of str -> callable
        Level (``rate``, ``float``, ``fixed``, ...) -> function called with
        keyword arguments ``steps``, ``seed``, ``target`` and ``backend`` that
        returns a :class:`RunResult`. The ``fixed`` runner runs the chip
        program on the requested backend and target; the float and rate
        runners ignore both.
    steps : int
        Default number of steps.
    program : ChipProgram, optional
        The fixed-point program; its content hash goes into golden files and
        reports.
    quantization : optional
        Relative quantization errors per parameter for the report histogram
        (see :func:`glia_neuromorphic.fidelity.report.normalize_quantization`).
    raster_probe, value_probe : str, optional
        Probes drawn in the report (spike raster, value over time).
    golden_level : str
        Level whose run is stored in and compared with golden files.
    """

    signature: Signature
    runners: dict[str, Runner]
    steps: int
    program: ChipProgram | None = None
    quantization: Any = None
    raster_probe: str | None = None
    value_probe: str | None = None
    golden_level: str = FIXED

    def __post_init__(self) -> None:
        missing = [
            level
            for tol in self.signature.tolerances
            if tol.gate
            for level in tol.levels
            if level not in self.runners
        ]
        if missing:
            raise ValidationError(
                f"model {self.signature.name!r}: gates need runners for levels "
                f"{sorted(set(missing))}; add them to FidelityCase.runners"
            )
        if self.steps < 1:
            raise ValidationError(
                f"model {self.signature.name!r}: steps is {self.steps}; need >= 1"
            )


@dataclasses.dataclass
class Verdict:
    """The outcome of :func:`verify_case`; ``passed`` decides the exit code."""

    judgement: Judgement
    runs: dict[str, RunResult]
    golden: golden_files.GoldenComparison | None = None
    report_json: Path | None = None
    report_html: Path | None = None
    elapsed: float = 0.0

    @property
    def passed(self) -> bool:
        """Return True if every gate passed and the golden file (if any) matched."""
        golden_ok = self.golden is None or self.golden.identical
        return self.judgement.passed and golden_ok


def run_levels(
    case: FidelityCase,
    *,
    target: str,
    backend: str,
    steps: int,
    seed: int,
    console: Console | None = None,
) -> dict[str, RunResult]:
    """Run every level of ``case`` and return the runs by level.

    Raises
    ------
    ValidationError
        If a runner does not return a RunResult, or returns one with another
        seed or number of steps than requested.
    """
    runs = {}
    levels = list(case.runners)
    with DelayedProgress(console, len(levels), f"{case.signature.name}") as bar:
        for level in levels:
            bar.advance(0, description=f"{case.signature.name}: {level} run")
            start = time.perf_counter()
            run = case.runners[level](
                steps=steps, seed=seed, target=target, backend=backend
            )
            _check_run(case, level, run, steps, seed)
            logger.info(
                "%s: %s run on %s took %.2f s",
                case.signature.name,
                level,
                run.backend,
                time.perf_counter() - start,
            )
            runs[level] = run
            bar.advance(1)
    return runs


def _check_run(case: FidelityCase, level: str, run: Any, steps: int, seed: int) -> None:
    name = case.signature.name
    if not isinstance(run, RunResult):
        raise ValidationError(
            f"model {name!r}: the {level!r} runner returned "
            f"{type(run).__name__}, expected a RunResult"
        )
    if int(run.seed) != int(seed):
        raise ValidationError(
            f"model {name!r}: the {level!r} runner recorded seed {run.seed}, but "
            f"seed {seed} was requested; pass the seed through to the run"
        )
    if run.n_steps != steps:
        raise ValidationError(
            f"model {name!r}: the {level!r} run has {run.n_steps} steps, "
            f"{steps} were requested"
        )


def program_hash_of(case: FidelityCase, run: RunResult) -> str:
    """Return the program hash: of ``case.program``, else from the run's metadata."""
    if case.program is not None:
        return case.program.content_hash()
    recorded = run.metadata.get("program_hash")
    if not recorded:
        raise ValidationError(
            f"model {case.signature.name!r}: golden files need the chip program's "
            "hash; set FidelityCase.program or metadata['program_hash'] of the run"
        )
    return str(recorded)


def verify_case(
    case: FidelityCase,
    *,
    target: str,
    backend: str,
    steps: int | None = None,
    seed: int = 0,
    out: str | Path | None = None,
    console: Console | None = None,
    golden_dir: str | Path | None = None,
    update_golden: bool = False,
) -> Verdict:
    """Run, judge and report one model; the Verdict reports whether it passed.

    Parameters
    ----------
    case : FidelityCase
        The model's runners, signature and program.
    target : str
        hw_configs target of the fixed-point run.
    backend : str
        Backend of the fixed-point run (``emulator``, ``lava``, ...).
    steps : int, optional
        Steps to run; defaults to ``case.steps``.
    seed : int
        Seed for every level; each run must record it.
    out : path, optional
        Directory for report.json and report.html; no report when None.
    console : rich Console, optional
        Where the table and progress go; nothing is printed when None.
    golden_dir : path, optional
        Directory of golden files; the golden check is skipped when None.
    update_golden : bool
        Record the fixed-point run as the new golden file instead of
        comparing with it. A run that fails a gate is not recorded.
    """
    start = time.perf_counter()
    target_summary = load_target(target).summary()
    steps = case.steps if steps is None else int(steps)
    runs = run_levels(
        case, target=target, backend=backend, steps=steps, seed=seed, console=console
    )
    judgement = judge(case.signature, runs)

    comparison = None
    refuse_update = update_golden and not judgement.passed
    if refuse_update:
        # a run that fails its gates must not become the new baseline
        logger.warning(
            "%s: golden file not updated because fidelity gates failed",
            case.signature.name,
        )
    if golden_dir is not None and not refuse_update:
        run = runs.get(case.golden_level)
        if run is None:
            raise ValidationError(
                f"model {case.signature.name!r}: golden files store the "
                f"{case.golden_level!r} run, which this case does not produce"
            )
        comparison = golden_files.check_or_update(
            run,
            program_hash_of(case, run),
            golden_dir,
            case.signature.name,
            update=update_golden,
        )

    verdict = Verdict(judgement, runs, comparison)
    if out is not None:
        report = build_report(
            case.signature.name,
            judgement,
            judgement.runs,
            target=target,
            backend=backend,
            seed=seed,
            steps=steps,
            program_hash=case.program.content_hash() if case.program else None,
            target_summary=target_summary,
            golden=comparison.to_dict() if comparison else None,
            quantization=case.quantization,
            raster_probe=case.raster_probe,
            value_probe=case.value_probe,
        )
        report["passed"] = verdict.passed
        verdict.report_json, verdict.report_html = write_report(out, report)
    verdict.elapsed = time.perf_counter() - start
    if console is not None:
        _print_verdict(verdict, console)
        if refuse_update:
            console.print(
                "[bold red]golden file not updated:[/] the run failed its "
                "fidelity gates; fix the model first"
            )
    return verdict


def _print_verdict(verdict: Verdict, console: Console) -> None:
    print_results(verdict.judgement, console)
    for level, run in verdict.runs.items():
        if run.counters:
            console.print(f"overflow counters of the {level} run: {run.counters}")
    if verdict.golden is not None:
        style = "green" if verdict.golden.identical else "bold red"
        console.print(f"[{style}]golden:[/] {verdict.golden.describe()}")
    if verdict.report_html is not None:
        console.print(f"report: {verdict.report_json} and {verdict.report_html}")
    console.print(f"verified in {verdict.elapsed:.1f} s")
