"""Timing, atrophy and scale studies: run the sweeps and write their reports."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from glia_neuromorphic.errors import ValidationError
from glia_neuromorphic.fileset import write_file_set
from glia_neuromorphic.models.astro_sequence import atrophy, scale, timing
from glia_neuromorphic.models.astro_sequence.cases import Case, run_cases

STUDIES = ("timing", "atrophy", "scale")
#: Float and fixed-point backend of each target, for the comparisons.
PAIRS = (
    ("lava-float", "lava-fixed"),
    ("lava-float", "emulator"),
    ("nengo", "nengo-loihi"),
    ("nengo", "emulator-loihi1"),
)
LABELS = {
    "rate": "rate model",
    "lava-float": "Lava float (loihi2)",
    "lava-fixed": "Lava fixed (loihi2)",
    "nengo": "Nengo float (loihi1 net)",
    "nengo-loihi": "nengo-loihi (loihi1)",
    "emulator": "emulator (loihi2 program)",
    "emulator-loihi1": "emulator (loihi1, nengo-loihi discretization)",
}


def study_cases(
    study: str,
    backends,
    n_units: int,
    seeds: int,
    memories: str = "random",
    astro_copies: int = 1,
    fractions=None,
    patterns=None,
) -> list[Case]:
    """Return the cases of ``study`` for each backend at size ``n_units``.

    ``astro_copies`` applies to the Nengo backends; ``fractions`` replaces the
    atrophy study's default grid and ``patterns`` the scale study's chain
    lengths (each still limited to ``N / 4``).
    """
    if astro_copies < 1:
        raise ValidationError(f"astro_copies is {astro_copies}; it must be >= 1")
    if fractions is not None and study != "atrophy":
        raise ValidationError(
            f"fractions apply to the atrophy study only, not {study!r}; drop them"
        )
    if patterns is not None:
        if study != "scale":
            raise ValidationError(
                f"patterns apply to the scale study only, not {study!r}; drop them"
            )
        bad = [p for p in patterns if int(p) != p or p < 2]
        if bad:
            raise ValidationError(
                f"chain lengths {bad} are not whole numbers of at least 2; "
                "a sequence needs two memories"
            )
        patterns = sorted({int(p) for p in patterns})
    cases: list[Case] = []
    for backend in backends:
        if study == "timing":
            cases += timing.timing_cases(backend, n_units=n_units, seeds=range(seeds))
        elif study == "atrophy":
            gain = 2.0 if memories == "random" else 1.5
            p = 5 if memories == "random" else 10
            cases += atrophy.atrophy_cases(
                backend, memories, n_units, gain, 0.256, 5.0, range(seeds), fractions, p
            )
        elif study == "scale":
            # the standard sizes below n_units, then n_units itself (the Loihi 1
            # network fits N <= 1023 on one core, so its largest point is 1000)
            sizes = [n for n in scale.SIZES if n < n_units] + [n_units]
            cases += scale.capacity_cases(
                backend,
                sizes=sizes,
                counts=scale.PATTERN_COUNTS if patterns is None else patterns,
                seeds=range(seeds),
            )
            cases += scale.digit_cases(backend, sizes=sizes, seeds=range(seeds))
        else:
            raise ValidationError(f"unknown study {study!r}; use one of {STUDIES}")
    if astro_copies != 1:
        cases = [
            dataclasses.replace(c, astro_copies=astro_copies)
            if c.backend.startswith("nengo")
            else c
            for c in cases
        ]
    return cases


def summarize(study: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the summary and the float-vs-fixed comparisons of ``study``."""
    backends = {r["backend"] for r in records}
    if study == "timing":
        summary = {"per_backend": timing.summarize(records), "fixed_vs_float": []}
        for flt, fix in PAIRS:
            if flt in backends and fix in backends:
                summary["fixed_vs_float"].append(
                    timing.compare_fixed(records, flt, fix)
                )
        return summary
    if study == "atrophy":
        groups = atrophy.summarize(records)
        comparisons = []
        for flt, fix in PAIRS:
            for key, entry in groups.items():
                if entry["backend"] != flt:
                    continue
                other = groups.get(key.replace(flt, fix, 1))
                if other is None:
                    continue
                a, b = entry["critical_fraction"], other["critical_fraction"]
                comparisons.append(
                    {
                        "float": key,
                        "fixed": key.replace(flt, fix, 1),
                        "float_fc": a,
                        "fixed_fc": b,
                        "difference": None if a is None or b is None else b - a,
                    }
                )
        return {"groups": groups, "fixed_vs_float": comparisons}
    if study == "scale":
        return {"per_backend": scale.summarize(records)}
    raise ValidationError(f"unknown study {study!r}; use one of {STUDIES}")


def write_report(study: str, records: list[dict[str, Any]], out: Path) -> dict:
    """Write ``<study>.json`` (records and summary) and ``<study>.html`` to ``out``."""
    from glia_neuromorphic.models.astro_sequence.report import _png

    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(study, records)
    figures = {}
    if study == "timing":
        labels = {b: LABELS.get(b, b) for b in sorted({r["backend"] for r in records})}
        figures["Dwell times vs tau_a (line: mean field)"] = _png(
            timing.figure(records, labels)
        )
    elif study == "atrophy":
        figures["Recall vs atrophied fraction (mean +/- std over seeds)"] = _png(
            atrophy.figure(summary["groups"])
        )
    payload = {"study": study, "summary": summary, "records": records}
    images = "".join(
        f"<h2>{title}</h2><img alt='{title}' src='data:image/png;base64,{data}'>"
        for title, data in figures.items()
    )
    body = json.dumps(summary, indent=1)
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>astro-sequence {study}</title></head><body>"
        f"<h1>astro-sequence: {study} study</h1>"
        f"<p>{len(records)} runs; every record in {study}.json holds its seed.</p>"
        f"{images}<h2>Summary</h2><pre>{body}</pre></body></html>"
    )
    write_file_set(
        {
            out / f"{study}.json": json.dumps(payload, indent=1),
            out / f"{study}.html": page,
        }
    )
    return summary


def run_study(
    study: str,
    backends,
    n_units: int,
    seeds: int,
    out: Path,
    workers: int | None = None,
    scheduler: str = "processes",
    memories: str = "random",
    astro_copies: int = 1,
    fractions=None,
    patterns=None,
) -> dict:
    """Run a study's sweep in parallel, then write and return its summary."""
    cases = study_cases(
        study, backends, n_units, seeds, memories, astro_copies, fractions, patterns
    )
    records = run_cases(cases, workers=workers, scheduler=scheduler, description=study)
    return write_report(study, records, Path(out))
