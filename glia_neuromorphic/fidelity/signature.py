"""Model signatures: the metrics and tolerances a model declares, and their judge.

A model module declares a :class:`Signature` next to its definition::

    SIGNATURE = Signature(
        "tiny-lif",
        tolerances=[
            Tolerance("spike_count_agreement", ">=", 0.95, probe="lif.spikes"),
            Tolerance("van_rossum", "<=", 0.5, probe="lif.spikes",
                      params={"tau": 0.01}, gate=False),
            Tolerance("recall_order", ">=", 1.0, levels=("fixed",)),
        ],
        task_scores={"recall_order": score_recall},
    )

The levels of reference are named ``rate`` (the model's own rate or ODE
model), ``float`` (the float spiking network with the chip program's float
parameters, same update order and latency) and ``fixed`` (the fixed-point
run). Other names (e.g. ``lava``, ``emulator``) label further fixed-point runs
for bit-exact comparisons. Gates never involve the ``rate`` level: how far
the float network is from the rate model is reported as the cost of spiking,
and it does not decide whether a fixed-point run passes.
"""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from glia_neuromorphic.errors import FidelityError, ValidationError
from glia_neuromorphic.fidelity import metrics
from glia_neuromorphic.runs import RunResult

#: The three levels of reference, (a) to (c).
RATE, FLOAT, FIXED = "rate", "float", "fixed"
LEVELS = (RATE, FLOAT, FIXED)

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}


@dataclasses.dataclass(frozen=True)
class MetricValue:
    """A computed metric: the value checked against the tolerance and extras."""

    value: float
    unit: str
    detail: str = ""
    per_index: np.ndarray | None = None


def _spike_probe(tol: Tolerance) -> str:
    if not tol.probe or not tol.probe.endswith(metrics.SPIKES_SUFFIX):
        raise ValidationError(
            f"tolerance {tol.name!r}: metric {tol.metric!r} needs a spike probe "
            f"('group{metrics.SPIKES_SUFFIX}'), got probe {tol.probe!r}"
        )
    return tol.probe


def _agreement(aligned: metrics.AlignedRuns, tol: Tolerance) -> MetricValue:
    per = metrics.spike_count_agreement(*aligned.pair(_spike_probe(tol)))
    worst = int(np.argmin(per))
    return MetricValue(
        float(np.mean(per)),
        "fraction",
        f"mean over {per.size} neurons; lowest {per[worst]:.3f} at index {worst}",
        per,
    )


def _rate_rmse(aligned: metrics.AlignedRuns, tol: Tolerance) -> MetricValue:
    raster_a, raster_b = aligned.pair(_spike_probe(tol))
    value = metrics.rate_rmse(raster_a, raster_b, aligned.dt)
    per = metrics.firing_rates(raster_a, aligned.dt) - metrics.firing_rates(
        raster_b, aligned.dt
    )
    return MetricValue(value, "Hz", f"over {per.size} neurons", per)


def _van_rossum(aligned: metrics.AlignedRuns, tol: Tolerance) -> MetricValue:
    if "tau" not in tol.params:
        raise ValidationError(
            f"tolerance {tol.name!r}: van_rossum needs params={{'tau': seconds}}"
        )
    tau = float(tol.params["tau"])
    per = metrics.van_rossum_distance(*aligned.pair(_spike_probe(tol)), aligned.dt, tau)
    return MetricValue(
        float(np.mean(per)), "1", f"mean over {per.size} neurons, tau {tau} s", per
    )


def _decoded_rmse(aligned: metrics.AlignedRuns, tol: Tolerance) -> MetricValue:
    if not tol.probe:
        raise ValidationError(f"tolerance {tol.name!r}: decoded_rmse needs a probe")
    x_a, x_b = aligned.pair(tol.probe)
    value = metrics.decoded_rmse(x_a, x_b)
    per = np.sqrt(np.mean((x_a.astype(float) - x_b.astype(float)) ** 2, axis=0))
    return MetricValue(value, tol.params.get("unit", "value"), "", per)


def _bit_exact_probes(aligned: metrics.AlignedRuns, tol: Tolerance) -> list[str]:
    if tol.probe:
        aligned.pair(tol.probe)
        return [tol.probe]
    return sorted(aligned.a)


def _mismatch_count(aligned: metrics.AlignedRuns, tol: Tolerance) -> MetricValue:
    probes = _bit_exact_probes(aligned, tol)
    count = metrics.mismatch_count(aligned.a, aligned.b, probes)
    divergence = metrics.first_divergence(
        aligned.a, aligned.b, probes, step_offset=aligned.offset_a
    )
    detail = "identical" if divergence is None else divergence.describe(aligned.labels)
    return MetricValue(float(count), "entries", detail)


def _first_divergence(aligned: metrics.AlignedRuns, tol: Tolerance) -> MetricValue:
    probes = _bit_exact_probes(aligned, tol)
    divergence = metrics.first_divergence(
        aligned.a, aligned.b, probes, step_offset=aligned.offset_a
    )
    if divergence is None:
        # no divergence: report one step past the end, so ">" any step passes
        last = aligned.n_steps + aligned.offset_a + 1
        return MetricValue(float(last), "step", "identical over all steps")
    return MetricValue(
        float(divergence.step), "step", divergence.describe(aligned.labels)
    )


#: Metrics that compare two aligned runs: name -> function(aligned, tolerance).
PAIR_METRICS: dict[str, Callable[[metrics.AlignedRuns, Tolerance], MetricValue]] = {
    "spike_count_agreement": _agreement,
    "rate_rmse": _rate_rmse,
    "van_rossum": _van_rossum,
    "decoded_rmse": _decoded_rmse,
    "mismatch_count": _mismatch_count,
    "first_divergence": _first_divergence,
}


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """One metric, the comparison it must satisfy and the levels it compares.

    Parameters
    ----------
    metric : str
        A name from :data:`PAIR_METRICS` or a task score of the signature.
    comparison : str
        One of ``>=``, ``>``, ``<=``, ``<``, ``==``; the check is
        ``value <comparison> threshold``.
    threshold : float
        The limit, in the metric's unit.
    levels : tuple of str
        Two levels for a comparison metric, ``(run, reference)``, e.g.
        ``("fixed", "float")``. A task score takes one level (the score of
        that run) or two (score of the first minus score of the second).
    probe : str, optional
        Probe key (``"group.variable"`` or a derived signal) the metric reads.
    gate : bool
        True if a failure fails the verification; False for report-only.
    params : mapping
        Extra metric parameters (``tau`` in seconds for ``van_rossum``,
        ``unit`` for ``decoded_rmse``).
    label : str, optional
        Display name; defaults to ``metric [probe]``.
    """

    metric: str
    comparison: str
    threshold: float
    levels: tuple[str, ...] = (FIXED, FLOAT)
    probe: str | None = None
    gate: bool = True
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    label: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(self.levels))
        if self.comparison not in COMPARISONS:
            raise ValidationError(
                f"tolerance {self.name!r}: comparison {self.comparison!r} is not "
                f"one of {list(COMPARISONS)}"
            )
        if not isinstance(self.threshold, int | float) or math.isnan(self.threshold):
            raise ValidationError(
                f"tolerance {self.name!r}: threshold must be a number, got "
                f"{self.threshold!r}"
            )
        if len(self.levels) not in (1, 2) or len(set(self.levels)) != len(self.levels):
            raise ValidationError(
                f"tolerance {self.name!r}: levels {self.levels} must name one run "
                "or two different runs"
            )
        if self.gate and RATE in self.levels:
            raise ValidationError(
                f"tolerance {self.name!r}: a gate cannot involve the {RATE!r} "
                "level; gates compare the fixed-point run with the float network. "
                "Declare it with gate=False to report it"
            )

    @property
    def name(self) -> str:
        """Return the display name of this tolerance."""
        if self.label:
            return self.label
        probe = f" [{self.probe}]" if self.probe else ""
        return f"{self.metric}{probe}"


@dataclasses.dataclass
class Signature:
    """The fidelity contract of a model: tolerances, task scores, derived signals.

    Attributes
    ----------
    name : str
        Model name used in reports and golden files.
    tolerances : list of Tolerance
        Every check, gate or report-only.
    task_scores : dict of str -> callable
        ``name -> f(run) -> float``: task-level scores computed from one run
        (recall order, accuracy, ...), usable as metrics in tolerances.
    derived : dict of str -> callable
        ``name -> f(run) -> (steps, k) array``: signals computed from a run
        before judging, such as decoded values or pattern overlaps. Each is
        added to the run's data under ``name``, so tolerances and plots can
        read it.
    description : str
        One line for reports.
    """

    name: str
    tolerances: list[Tolerance]
    task_scores: dict[str, Callable[[RunResult], float]] = dataclasses.field(
        default_factory=dict
    )
    derived: dict[str, Callable[[RunResult], np.ndarray]] = dataclasses.field(
        default_factory=dict
    )
    description: str = ""

    def __post_init__(self) -> None:
        if not self.tolerances:
            raise ValidationError(f"signature {self.name!r} declares no tolerance")
        clash = set(self.task_scores) & set(PAIR_METRICS)
        if clash:
            raise ValidationError(
                f"signature {self.name!r}: task score names {sorted(clash)} clash "
                "with built-in metrics; rename them"
            )
        for tol in self.tolerances:
            if tol.metric in self.task_scores:
                continue
            if tol.metric not in PAIR_METRICS:
                raise ValidationError(
                    f"signature {self.name!r}: unknown metric {tol.metric!r}; use "
                    f"one of {sorted(PAIR_METRICS)} or declare it in task_scores"
                )
            if len(tol.levels) != 2:
                raise ValidationError(
                    f"signature {self.name!r}: metric {tol.metric!r} compares two "
                    f"runs, but tolerance {tol.name!r} names levels {tol.levels}"
                )

    @property
    def levels(self) -> list[str]:
        """Return every level named by a tolerance, in first-use order."""
        seen: dict[str, None] = {}
        for tol in self.tolerances:
            seen.update(dict.fromkeys(tol.levels))
        return list(seen)

    def derived_keys(self, level: str) -> list[str]:
        """Return the derived signals to compute for a run of ``level``.

        A derived signal is computed for each level named by a tolerance that
        reads it. A signal that no tolerance reads is shown in plots only, so
        it is computed for every level except ``rate``, because a rate model
        usually records its values directly.
        """
        keys = []
        for key in self.derived:
            users = [tol for tol in self.tolerances if tol.probe == key]
            if any(level in tol.levels for tol in users) or (
                not users and level != RATE
            ):
                keys.append(key)
        return keys

    def with_derived(self, run: RunResult, level: str) -> RunResult:
        """Return a copy of ``run`` with its derived signals added.

        A signal the run already records under the same key is kept as is.
        """
        data = dict(run.data)
        for key in self.derived_keys(level):
            if key not in data:
                value = np.asarray(self.derived[key](run))
                data[key] = value.reshape(value.shape[0], -1)
        return dataclasses.replace(run, data=data)


@dataclasses.dataclass
class MetricResult:
    """The outcome of one tolerance.

    ``passed`` is None when the tolerance was skipped (a report-only check
    whose level was not run); ``value`` is then None too.
    """

    name: str
    metric: str
    levels: tuple[str, ...]
    probe: str | None
    value: float | None
    unit: str
    comparison: str
    threshold: float
    gate: bool
    passed: bool | None
    detail: str = ""
    per_index: np.ndarray | None = None

    @property
    def status(self) -> str:
        """Return ``pass``, ``FAIL``, ``skipped``, or the same for report-only."""
        if self.passed is None:
            return "skipped"
        word = "pass" if self.passed else "FAIL"
        return word if self.gate else f"{word.lower()} (report)"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (per-index values as a list)."""
        out = dataclasses.asdict(self)
        out["levels"] = list(self.levels)
        out["status"] = self.status
        if self.per_index is not None:
            out["per_index"] = np.asarray(self.per_index, dtype=float).tolist()
        return out


@dataclasses.dataclass
class Judgement:
    """Every tolerance of a signature evaluated on a set of runs.

    ``runs`` contains the judged runs with their derived signals added.
    """

    signature: str
    results: list[MetricResult]
    runs: dict[str, RunResult] = dataclasses.field(default_factory=dict, repr=False)

    @property
    def passed(self) -> bool:
        """Return True if every gate passed (report-only results do not count)."""
        return all(r.passed for r in self.results if r.gate)

    @property
    def failures(self) -> list[MetricResult]:
        """Return the gates that failed."""
        return [r for r in self.results if r.gate and not r.passed]

    def raise_for_failure(self) -> None:
        """Raise FidelityError naming every failed gate."""
        if self.passed:
            return
        parts = [
            f"{r.name} ({' vs '.join(r.levels)}) = {_fmt(r.value)} {r.unit}, "
            f"needs {r.comparison} "
            f"{_fmt(r.threshold)}" + (f" ({r.detail})" if r.detail else "")
            for r in self.failures
        ]
        raise FidelityError(
            f"model {self.signature!r} failed {len(parts)} fidelity gate(s): "
            + "; ".join(parts)
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "signature": self.signature,
            "passed": self.passed,
            "results": [r.to_dict() for r in self.results],
        }


def judge(signature: Signature, runs: Mapping[str, RunResult]) -> Judgement:
    """Evaluate every tolerance of ``signature`` on ``runs``.

    Parameters
    ----------
    signature : Signature
        The model's declared tolerances.
    runs : mapping of str -> RunResult
        One run per level (``rate``, ``float``, ``fixed``, ...). Runs are
        aligned by their documented input latency before each comparison.

    Returns
    -------
    Judgement
        Per-tolerance value, pass or fail, and the overall verdict.

    Raises
    ------
    ValidationError
        If a gate names a level that is missing from ``runs``, or a metric
        cannot be computed from the runs (missing probe, bad shape).
    """
    prepared = {
        level: signature.with_derived(run, level) for level, run in runs.items()
    }
    results = []
    for tol in signature.tolerances:
        missing = [lvl for lvl in tol.levels if lvl not in prepared]
        if missing and tol.gate:
            raise ValidationError(
                f"signature {signature.name!r}: gate {tol.name!r} needs the run(s) "
                f"{missing}, but only {sorted(prepared)} were given"
            )
        if missing:
            results.append(_skipped(tol))
            continue
        computed = _compute(signature, tol, prepared)
        results.append(_check(tol, computed))
    return Judgement(signature.name, results, prepared)


def _compute(signature: Signature, tol: Tolerance, runs: Mapping) -> MetricValue:
    if tol.metric in signature.task_scores:
        score = signature.task_scores[tol.metric]
        values = [float(score(runs[level])) for level in tol.levels]
        if len(values) == 1:
            return MetricValue(values[0], "score", f"score of {tol.levels[0]} run")
        detail = ", ".join(
            f"{lvl} {val:.4g}" for lvl, val in zip(tol.levels, values, strict=True)
        )
        return MetricValue(values[0] - values[1], "score diff", detail)
    first, second = tol.levels
    aligned = metrics.align(runs[first], runs[second], labels=(first, second))
    return PAIR_METRICS[tol.metric](aligned, tol)


def _check(tol: Tolerance, computed: MetricValue) -> MetricResult:
    value = float(computed.value)
    passed = not math.isnan(value) and COMPARISONS[tol.comparison](value, tol.threshold)
    return MetricResult(
        tol.name,
        tol.metric,
        tol.levels,
        tol.probe,
        value,
        computed.unit,
        tol.comparison,
        float(tol.threshold),
        tol.gate,
        bool(passed),
        computed.detail,
        computed.per_index,
    )


def _skipped(tol: Tolerance) -> MetricResult:
    return MetricResult(
        tol.name,
        tol.metric,
        tol.levels,
        tol.probe,
        None,
        "",
        tol.comparison,
        float(tol.threshold),
        tol.gate,
        None,
        "level not run",
    )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def results_table(
    results: Sequence[MetricResult] | Judgement, title: str = "", compact: bool = False
) -> Table:
    """Return a rich Table of metric results (name, value, tolerance, status).

    With ``compact`` the detail goes under the metric name instead of into a
    column of its own, which suits consoles narrower than about 110 columns.
    """
    if isinstance(results, Judgement):
        title = title or f"fidelity of {results.signature}"
        results = results.results
    table = Table(title=title or None, show_lines=compact)
    table.add_column("metric", overflow="fold", min_width=12)
    table.add_column("levels", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("tolerance", no_wrap=True)
    table.add_column("status", no_wrap=True)
    if not compact:
        table.add_column("detail", overflow="fold", min_width=16)
    styles = {"pass": "green", "FAIL": "bold red", "skipped": "dim"}
    for r in results:
        style = styles.get(r.status, "yellow" if "fail" in r.status else "")
        name = escape(r.name)
        detail = escape(r.detail)
        if compact and detail:
            name += f"\n[dim]{detail}[/]"
        cells = [
            name,
            "/".join(r.levels),
            f"{_fmt(r.value)} {'' if r.unit == '1' else r.unit}".strip(),
            f"{r.comparison} {_fmt(r.threshold)}",
            f"[{style}]{r.status}[/]" if style else r.status,
        ]
        table.add_row(*cells, *([] if compact else [detail]))
    return table


def print_results(judgement: Judgement, console: Console | None = None) -> None:
    """Print the results table and a one-line verdict."""
    console = console or Console()
    compact = console.width < 110
    fidelity = [r for r in judgement.results if RATE not in r.levels]
    cost = [r for r in judgement.results if RATE in r.levels]
    console.print(
        results_table(fidelity, f"fidelity of {judgement.signature}", compact)
    )
    if cost:
        title = "cost of spiking: float network vs rate model (reported only)"
        console.print(results_table(cost, title, compact))
    verdict = "[green]passed[/]" if judgement.passed else "[bold red]FAILED[/]"
    console.print(
        f"{judgement.signature}: {verdict} "
        f"({len(judgement.failures)} of "
        f"{sum(r.gate for r in judgement.results)} gates failed)"
    )
