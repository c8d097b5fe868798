"""Timing and atrophy studies that ``glia verify astro-sequence`` adds to its report.

Each study runs on the verify's own target and backend. On
``loihi2``/``lava`` the float spiking level is Lava ``floating_pt``, and the
fixed-point level is the bit-exact emulator running the chip program of the
fixed-point Lava graph (it reproduces Lava ``fixed_pt`` spike for spike and
runs faster). On ``loihi1``/``nengo-loihi`` the float level is Nengo's
simulator, and the fixed-point level is the bit-exact emulator running the
Nengo network as nengo-loihi builds and discretizes it (the same spikes as
nengo-loihi's emulator, several times faster). The rate model and the
mean-field formula are the float references.

- Timing: random memories, open chain, clean cue; first dwell and period
  against ``tau_a`` for time constants a 12-bit decay represents. Gate:
  fixed point within 10 % of float spiking, per ``(gain, tau_a)`` on the
  mean over seeds.
- Atrophy: the digits (N = 64, gain 1.5, cycle) with a random fraction of
  astrocytic synapses removed; recall quality against the fraction and the
  critical fraction per level. Gate: fixed minus float critical fraction
  within 0.1.

``--studies compact`` (the default) keeps ``make demo`` to a few minutes;
``large`` runs more gains, time constants and seeds; ``none`` skips both.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from glia_neuromorphic.errors import ValidationError
from glia_neuromorphic.models.astro_sequence import atrophy, timing
from glia_neuromorphic.models.astro_sequence.cases import run_cases
from glia_neuromorphic.models.astro_sequence.studies import LABELS
from glia_neuromorphic.models.astro_sequence.studies import (
    summarize as summarize_study,
)

SIZES = ("compact", "large", "none")
#: Float spiking and fixed-point sweep backends of each verify backend.
STUDY_BACKENDS = {
    "lava": ("lava-float", "emulator"),
    "nengo-loihi": ("nengo", "emulator-loihi1"),
}
#: Network size of the timing studies.
TIMING_UNITS = 256


@dataclasses.dataclass(frozen=True)
class StudyPlan:
    """Grid of the verify studies for one size and backend."""

    timing_units: int
    timing_gains: tuple[float, ...]
    timing_taus: tuple[float, ...]
    timing_seeds: int
    atrophy_fractions: tuple[float, ...]
    atrophy_seeds: int
    atrophy_units: int = 64
    atrophy_gain: float = 1.5
    atrophy_tau: float = 0.256
    atrophy_duration: float = 4.0
    timing_patterns: int = 4
    astro_copies: int = 1


#: Atrophied fractions of the digits, finer around the measured critical
#: fraction (about 0.7) than elsewhere.
COMPACT_FRACTIONS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9)
LARGE_FRACTIONS = (0.0, 0.2, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)


def plan_for(size, backend: str) -> StudyPlan | None:
    """Return the study grid of ``size`` for ``backend`` (None for ``"none"``).

    ``size`` is one of :data:`SIZES` or a :class:`StudyPlan`, returned as is.
    """
    if isinstance(size, StudyPlan):
        return size
    if size not in SIZES:
        raise ValidationError(f"studies size is {size!r}; use one of {list(SIZES)}")
    if size == "none":
        return None
    if backend not in STUDY_BACKENDS:
        raise ValidationError(
            f"no studies for backend {backend!r}; use one of {list(STUDY_BACKENDS)}"
        )
    units = TIMING_UNITS
    if size == "compact":
        return StudyPlan(
            timing_units=units,
            timing_gains=(2.0,),
            timing_taus=timing.TAUS[:3],
            timing_seeds=1,
            atrophy_fractions=COMPACT_FRACTIONS,
            atrophy_seeds=1,
        )
    return StudyPlan(
        timing_units=units,
        timing_gains=timing.GAINS,
        timing_taus=timing.TAUS,
        timing_seeds=3,
        atrophy_fractions=LARGE_FRACTIONS,
        atrophy_seeds=3,
    )


def _study_cases(plan: StudyPlan, backends, seed: int):
    seeds = range(seed, seed + plan.timing_seeds)
    timing_cases = []
    for backend in backends:
        timing_cases += timing.timing_cases(
            backend,
            n_units=plan.timing_units,
            n_patterns=plan.timing_patterns,
            taus=plan.timing_taus,
            gains=plan.timing_gains,
            seeds=seeds,
        )
    atrophy_cases = []
    for backend in backends:
        atrophy_cases += atrophy.atrophy_cases(
            backend,
            "digits",
            plan.atrophy_units,
            plan.atrophy_gain,
            plan.atrophy_tau,
            plan.atrophy_duration,
            seeds=range(seed, seed + plan.atrophy_seeds),
            fractions=list(plan.atrophy_fractions),
            n_patterns=10,
        )
    if plan.astro_copies != 1:
        timing_cases = [
            dataclasses.replace(c, astro_copies=plan.astro_copies)
            if c.backend.startswith("nengo")
            else c
            for c in timing_cases
        ]
    return timing_cases, atrophy_cases


def mean_differences(records, float_backend: str, fixed_backend: str):
    """Return per ``(gain, tau_a)`` the seed-mean first dwell and period of both
    levels and their relative differences (None when a run lacks a dwell)."""
    groups: dict[tuple, dict[str, list]] = {}
    for r in records:
        if r["backend"] not in (float_backend, fixed_backend):
            continue
        g = groups.setdefault((r["gain"], r["tau_a"]), {})
        g.setdefault(r["backend"], []).append(r)
    rows = []
    for (gain, tau), by_level in sorted(groups.items()):
        row: dict[str, Any] = {"gain": gain, "tau_a": tau}
        for name in ("first_dwell", "period"):
            values = {}
            for level in (float_backend, fixed_backend):
                runs = by_level.get(level, [])
                got = [r[name] for r in runs]
                ok = bool(runs) and all(v is not None for v in got)
                values[level] = float(np.mean(got)) if ok else None
            a, b = values[float_backend], values[fixed_backend]
            row[f"{name}_float"] = a
            row[f"{name}_fixed"] = b
            row[f"{name}_rel_diff"] = None if a is None or b is None else b / a - 1.0
        rows.append(row)
    return rows


def run_studies(
    size: str,
    backend: str,
    seed: int,
    console=None,
) -> dict[str, Any] | None:
    """Run the timing and atrophy studies; return records, summaries and checks.

    Study seeds are ``seed, seed + 1, ...``, and every record contains its seed.
    """
    plan = plan_for(size, backend)
    if plan is None:
        return None
    float_backend, fixed_backend = STUDY_BACKENDS[backend]
    backends = ("rate", float_backend, fixed_backend)
    timing_cases, atrophy_cases = _study_cases(plan, backends, seed)
    progress = console is not None
    start = time.perf_counter()
    timing_records = run_cases(
        timing_cases, scheduler="serial", progress=progress, description="timing"
    )
    timing_wall = time.perf_counter() - start
    start = time.perf_counter()
    atrophy_records = run_cases(
        atrophy_cases, scheduler="serial", progress=progress, description="atrophy"
    )
    atrophy_wall = time.perf_counter() - start

    timing_summary = summarize_study("timing", timing_records)
    means = mean_differences(timing_records, float_backend, fixed_backend)
    atrophy_summary = summarize_study("atrophy", atrophy_records)
    groups = atrophy_summary["groups"]

    def fc(level: str):
        key = f"{level}/digits/{plan.atrophy_units}"
        return groups[key]["critical_fraction"] if key in groups else None

    fcs = {level: fc(level) for level in backends}
    return {
        "size": size if isinstance(size, str) else "custom",
        "plan": dataclasses.asdict(plan),
        "float_backend": float_backend,
        "fixed_backend": fixed_backend,
        "seeds": list(range(seed, seed + max(plan.timing_seeds, plan.atrophy_seeds))),
        "timing": {
            "wall_time_s": timing_wall,
            "summary": timing_summary,
            "fixed_vs_float_means": means,
            "records": timing_records,
        },
        "atrophy": {
            "wall_time_s": atrophy_wall,
            "summary": atrophy_summary,
            "critical_fraction": fcs,
            "mean_field_fc": 1.0 - 1.0 / plan.atrophy_gain,
            "records": atrophy_records,
        },
    }


def study_checks(studies: dict[str, Any], check_type, tolerance_t, tolerance_fc):
    """Return the gating checks of the studies (``check_type`` builds one)."""
    means = studies["timing"]["fixed_vs_float_means"]
    diffs = [
        abs(row[f"{name}_rel_diff"])
        for row in means
        for name in ("first_dwell", "period")
        if row[f"{name}_rel_diff"] is not None
    ]
    missing = sum(
        row[f"{name}_rel_diff"] is None
        for row in means
        for name in ("first_dwell", "period")
    )
    worst = max(diffs) if diffs else None
    fcs = studies["atrophy"]["critical_fraction"]
    flt, fix = fcs[studies["float_backend"]], fcs[studies["fixed_backend"]]
    fc_diff = None if flt is None or fix is None else fix - flt
    seeds = studies["plan"]["timing_seeds"]
    return [
        check_type(
            "timing study: max dwell difference, fixed vs float "
            f"(mean over {seeds} seed{'s' if seeds > 1 else ''} per gain and tau_a)",
            None if worst is None else round(worst, 4),
            f"<= {tolerance_t:.0%}, every dwell measured",
            worst is not None and worst <= tolerance_t and missing == 0,
        ),
        check_type(
            "atrophy study: critical fraction, fixed minus float",
            None if fc_diff is None else round(fc_diff, 3),
            f"|difference| <= {tolerance_fc}",
            fc_diff is not None and abs(fc_diff) <= tolerance_fc,
        ),
        check_type(
            "atrophy study: critical fraction per level",
            {k: None if v is None else round(v, 3) for k, v in fcs.items()},
            "reported",
            True,
            gate=False,
        ),
    ]


def load_sweeps(paths) -> list[dict[str, Any]]:
    """Read ``glia sweep`` JSON files (``<study>.json``) to embed in the report."""
    sweeps = []
    for path in paths or ():
        path = Path(path)
        try:
            payload = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValidationError(
                f"cannot read sweep results {path}: {exc}; pass a timing.json or "
                "atrophy.json written by 'glia sweep'"
            ) from exc
        if not isinstance(payload, dict) or payload.get("study") not in (
            "timing",
            "atrophy",
            "scale",
        ):
            raise ValidationError(
                f"{path} is not a 'glia sweep' result (no study field); pass a "
                "timing.json, atrophy.json or scale.json written by 'glia sweep'"
            )
        sweeps.append({"file": str(path), **payload})
    return sweeps


def study_figures(studies: dict[str, Any] | None, sweeps) -> dict[str, str]:
    """Return the report figures (title -> base64 PNG) of the studies and sweeps."""
    from glia_neuromorphic.models.astro_sequence.report import _png

    figures = {}
    if studies is not None:
        records = studies["timing"]["records"]
        labels = {b: LABELS.get(b, b) for b in ("rate", *_levels(studies))}
        figures[
            "Timing study: period and first dwell vs tau_a "
            "(line: mean field; markers: mean and std over seeds)"
        ] = _png(timing.figure(records, labels))
        figures[
            "Atrophy study: recall vs atrophied fraction (mean and std over seeds)"
        ] = _png(atrophy.figure(studies["atrophy"]["summary"]["groups"]))
    for sweep in sweeps:
        title = f"Sweep {sweep['study']} from {Path(sweep['file']).name}"
        if sweep["study"] == "timing":
            names = sorted({r["backend"] for r in sweep["records"]})
            labels = {b: LABELS.get(b, b) for b in names}
            figures[title] = _png(timing.figure(sweep["records"], labels))
        elif sweep["study"] == "atrophy":
            figures[title] = _png(atrophy.figure(sweep["summary"]["groups"]))
    return figures


def _levels(studies):
    return (studies["float_backend"], studies["fixed_backend"])
