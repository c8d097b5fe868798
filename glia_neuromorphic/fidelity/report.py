"""Fidelity reports: a versioned report.json and a self-contained report.html.

The JSON contains everything the HTML shows (metric results, spike rasters and
traces to plot, golden comparison, quantization errors), so ``glia report DIR``
can rebuild the HTML from the JSON alone. The two files are written as one
set: a failed write leaves the previous pair, never a new JSON beside an old
HTML page.
The schema is described in docs/report_schema.md.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from glia_neuromorphic.errors import ProgramFileError
from glia_neuromorphic.fidelity import metrics
from glia_neuromorphic.fidelity.signature import RATE, Judgement
from glia_neuromorphic.fileset import write_file_set
from glia_neuromorphic.fileutil import jsonable
from glia_neuromorphic.program import atomic_write_text
from glia_neuromorphic.runs import RunResult

SCHEMA = "glia-fidelity-report"
#: Schema name of the report ``glia verify contracting-rnn`` writes.
CONTRACTING_RNN_SCHEMA = "glia-contracting-rnn-report"
SCHEMA_VERSION = 1
JSON_NAME = "report.json"
HTML_NAME = "report.html"

#: Limits on the plot data stored in the JSON, so reports of long runs stay small.
MAX_TRACE_POINTS = 2000
MAX_TRACE_COLUMNS = 8
MAX_RASTER_SPIKES = 200_000


# --- building -----------------------------------------------------------


#: Top-level keys every report of this schema version has.
REQUIRED_KEYS = (
    "created",
    "model",
    "passed",
    "target",
    "backend",
    "seed",
    "steps",
    "dt",
    "metrics",
    "runs",
)


def build_report(
    model: str,
    judgement: Judgement,
    runs: Mapping[str, RunResult],
    *,
    target: str,
    backend: str,
    seed: int,
    steps: int,
    program_hash: str | None = None,
    target_summary: Mapping[str, Any] | None = None,
    golden: Mapping[str, Any] | None = None,
    quantization: Any = None,
    raster_probe: str | None = None,
    value_probe: str | None = None,
    versions: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Return the report as a JSON-ready dict (schema version 1).

    Parameters
    ----------
    model : str
        Model name.
    judgement : Judgement
        The evaluated tolerances.
    runs : mapping of str -> RunResult
        Runs by level; their counters, seeds and backends are recorded and the
        chosen probes are stored for plotting.
    target, backend : str
        Where the fixed-point run was made.
    seed, steps : int
        Seed and number of steps of the verification.
    program_hash : str, optional
        ``ChipProgram.content_hash()`` of the fixed-point program.
    target_summary : mapping, optional
        ``Target.summary()``, including the values marked as assumed.
    golden : mapping, optional
        ``GoldenComparison.to_dict()``.
    quantization : optional
        Relative quantization errors per parameter (see
        :func:`normalize_quantization`).
    raster_probe, value_probe : str, optional
        Spike probe drawn as a raster and value probe drawn over time; by
        default the first spike probe and the first other probe.
    versions : mapping, optional
        Library versions; defaults to the installed ones.
    """
    from glia_neuromorphic.fidelity.golden import library_versions

    raster_probe = raster_probe or _first_probe(runs, spikes=True)
    value_probe = value_probe or _first_probe(runs, spikes=False)
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "model": model,
        "passed": judgement.passed,
        "target": target,
        "backend": backend,
        "seed": int(seed),
        "steps": int(steps),
        "dt": _common_dt(runs),
        "program_hash": program_hash,
        "versions": dict(versions or library_versions()),
        "target_summary": dict(target_summary or {}),
        "metrics": [r.to_dict() for r in judgement.results],
        "golden": dict(golden) if golden is not None else None,
        "runs": {level: _run_summary(run) for level, run in runs.items()},
        "traces": _traces(runs, raster_probe, value_probe),
        "quantization": normalize_quantization(quantization),
    }


def _first_probe(runs: Mapping[str, RunResult], spikes: bool) -> str | None:
    for run in runs.values():
        for key in sorted(run.data):
            if key.endswith(metrics.SPIKES_SUFFIX) == spikes:
                return key
    return None


def _common_dt(runs: Mapping[str, RunResult]) -> float | None:
    return next((float(run.dt) for run in runs.values()), None)


def _run_summary(run: RunResult) -> dict[str, Any]:
    return {
        "backend": run.backend,
        "target": run.target,
        "seed": int(run.seed),
        "steps": run.n_steps,
        "input_latency": int(run.input_latency),
        "probes": sorted(run.data),
        "counters": jsonable(run.counters),
    }


def _traces(
    runs: Mapping[str, RunResult], raster_probe: str | None, value_probe: str | None
) -> dict[str, Any]:
    traces: dict[str, Any] = {"raster": None, "values": None}
    if raster_probe:
        levels = {}
        for level, run in runs.items():
            if raster_probe in run.data:
                raster = np.asarray(run.data[raster_probe])
                raster = raster.reshape(raster.shape[0], -1)
                rows, cols = np.nonzero(raster)
                levels[level] = {
                    "steps": (rows[:MAX_RASTER_SPIKES] + 1).tolist(),
                    "indices": cols[:MAX_RASTER_SPIKES].tolist(),
                    "n": int(raster.shape[1]),
                    "truncated": bool(rows.size > MAX_RASTER_SPIKES),
                }
        traces["raster"] = {"probe": raster_probe, "levels": levels}
    if value_probe:
        levels = {}
        for level, run in runs.items():
            if value_probe in run.data:
                values = np.asarray(run.data[value_probe], dtype=float)
                values = values.reshape(values.shape[0], -1)[:, :MAX_TRACE_COLUMNS]
                stride = max(1, math.ceil(values.shape[0] / MAX_TRACE_POINTS))
                levels[level] = {
                    "steps": (np.arange(0, values.shape[0], stride) + 1).tolist(),
                    "values": values[::stride].T.tolist(),
                }
        traces["values"] = {"probe": value_probe, "levels": levels}
    return traces


def normalize_quantization(quantization: Any) -> list[dict[str, Any]] | None:
    """Return quantization errors as ``[{"name", "rel_error"}, ...]`` or None.

    Accepts a mapping ``name -> relative errors`` (array-like), a mapping
    ``name -> {"rel_error": ...}`` (other keys such as ``float`` and ``int``
    are kept), a list of dicts with ``name`` and ``rel_error``, or an object
    with a ``to_dict()`` method returning one of those. Relative errors are
    dimensionless (``|int_value * scale - float_value| / |float_value|``).
    """
    if quantization is None:
        return None
    if hasattr(quantization, "to_dict"):
        quantization = quantization.to_dict()
    if isinstance(quantization, Mapping):
        entries = []
        for name, value in quantization.items():
            entry = dict(value) if isinstance(value, Mapping) else {"rel_error": value}
            entry["name"] = str(name)
            entries.append(entry)
    else:
        entries = [dict(e) for e in quantization]
    out = []
    for entry in entries:
        if "rel_error" not in entry or "name" not in entry:
            raise ProgramFileError(
                f"quantization entry {entry!r} needs 'name' and 'rel_error'"
            )
        out.append(jsonable({**entry, "rel_error": np.ravel(entry["rel_error"])}))
    return out


# --- writing and loading ------------------------------------------------


def write_report(out: str | Path, report: Mapping[str, Any]) -> tuple[Path, Path]:
    """Write report.json and report.html into directory ``out``, both or neither.

    A failure while writing either file leaves the previous pair (or no
    report) in place; see :func:`glia_neuromorphic.fileset.write_file_set`.

    Returns
    -------
    tuple of Path
        The JSON and HTML paths.
    """
    out = Path(out)
    json_path, html_path = out / JSON_NAME, out / HTML_NAME
    # NaN and infinity are not JSON; they are stored as null
    text = json.dumps(_finite(report), indent=1, allow_nan=False, default=_json_default)
    page = render_html(report)
    write_file_set({json_path: text, html_path: page})
    return json_path, html_path


def _finite(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_finite(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def load_report(path: str | Path) -> dict[str, Any]:
    """Read report.json (``path`` is the file or its directory).

    Raises
    ------
    ProgramFileError
        If the file is missing, not valid JSON, not a fidelity report, or of
        another schema version.
    """
    path = Path(path)
    if path.is_dir():
        path = path / JSON_NAME
    if not path.is_file():
        raise ProgramFileError(
            f"report {str(path)!r} not found; create it with `glia verify MODEL "
            "--out DIR`"
        )
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProgramFileError(
            f"report {str(path)!r} is not valid JSON ({exc}); rerun `glia verify`"
        ) from exc
    if _contracting_rnn_report(report):
        return report
    if isinstance(report, dict) and "schema" not in report and "model" in report:
        raise ProgramFileError(
            f"{str(path)!r} was written by `glia verify {report['model']}`, "
            "whose report.html holds figures that the JSON does not contain; "
            "rerun that command to rebuild both"
        )
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        raise ProgramFileError(f"{str(path)!r} is not a glia fidelity report")
    version = report.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ProgramFileError(
            f"report {str(path)!r} has schema version {version!r}, this toolchain "
            f"reads version {SCHEMA_VERSION}; rerun `glia verify` to regenerate it"
        )
    missing = [key for key in REQUIRED_KEYS if key not in report]
    if missing:
        raise ProgramFileError(
            f"report {str(path)!r} lacks the key {missing[0]!r} (missing: "
            f"{', '.join(missing)}); rerun `glia verify` to regenerate it"
        )
    return report


def _contracting_rnn_report(report: Any) -> bool:
    """Return whether ``report`` is a ``glia verify contracting-rnn`` report.

    That model writes its own schema (see docs/report_schema.md); its module
    is imported only to render one.
    """
    return isinstance(report, dict) and report.get("schema") == CONTRACTING_RNN_SCHEMA


def rebuild_html(directory: str | Path) -> Path:
    """Rebuild report.html in ``directory`` from its report.json."""
    directory = Path(directory)
    json_path = directory / JSON_NAME if directory.is_dir() else directory
    report = load_report(json_path)
    if _contracting_rnn_report(report):
        from glia_neuromorphic.models.contracting_rnn import report as crnn_report

        return crnn_report.rebuild_html(json_path, report)
    html_path = json_path.parent / HTML_NAME
    try:
        text = render_html(report)
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        # a nested entry is missing or of the wrong type
        what = f"lacks the key {exc}" if isinstance(exc, KeyError) else f"has {exc}"
        raise ProgramFileError(
            f"report {str(json_path)!r} is damaged: it {what}; rerun `glia verify` "
            "to regenerate it"
        ) from exc
    atomic_write_text(html_path, text)
    return html_path


# --- figures ------------------------------------------------------------


def figure_png(fig: Figure) -> str:
    """Return ``fig`` as a base64 PNG for an ``<img src="data:...">`` tag."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def figure_raster(report: Mapping[str, Any]) -> str | None:
    """Return a base64 PNG of the spike rasters, one panel per level."""
    raster = (report.get("traces") or {}).get("raster")
    if not raster or not raster["levels"]:
        return None
    levels = raster["levels"]
    fig = Figure(figsize=(10, 1.8 * len(levels) + 0.6))
    axes = fig.subplots(len(levels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (level, spikes) in zip(axes, levels.items(), strict=True):
        ax.scatter(spikes["steps"], spikes["indices"], s=40, marker="|", lw=1.2)
        ax.set_ylabel(f"{level}\nneuron")
        ax.set_ylim(-0.5, spikes["n"] - 0.5)
    axes[0].set_title(f"spikes of {raster['probe']}")
    axes[-1].set_xlabel("step")
    return figure_png(fig)


def figure_values(report: Mapping[str, Any]) -> str | None:
    """Return a base64 PNG of the value probe over time for every level."""
    values = (report.get("traces") or {}).get("values")
    if not values or not values["levels"]:
        return None
    fig = Figure(figsize=(10, 3.2))
    ax = fig.subplots()
    styles = ["-", "--", ":", "-."]
    for k, (level, trace) in enumerate(values["levels"].items()):
        for column, series in enumerate(trace["values"]):
            ax.plot(
                trace["steps"],
                series,
                linestyle=styles[k % len(styles)],
                color=f"C{column % 10}",
                lw=1.2,
                label=f"{level} [{column}]",
            )
    ax.set_title(f"{values['probe']} over time")
    ax.set_xlabel("step")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return figure_png(fig)


def figure_metrics(report: Mapping[str, Any]) -> str | None:
    """Return a base64 PNG with one bar per metric and its tolerance line."""
    results = [
        r
        for r in report.get("metrics", [])
        if r["value"] is not None and math.isfinite(r["value"])
    ]
    if not results:
        return None
    fig = Figure(figsize=(10, 0.9 * len(results) + 0.6))
    axes = fig.subplots(len(results), 1, squeeze=False)[:, 0]
    for ax, result in zip(axes, results, strict=True):
        color = "tab:green" if result["passed"] else "tab:red"
        if not result["gate"]:
            color = "tab:gray" if result["passed"] else "tab:orange"
        ax.barh([0], [result["value"]], color=color, height=0.6)
        ax.axvline(result["threshold"], color="black", ls="--", lw=1)
        span = max(abs(result["value"]), abs(result["threshold"]), 1e-12)
        ax.set_xlim(
            min(0.0, result["value"], result["threshold"]) - 0.05 * span, 1.15 * span
        )
        ax.set_yticks([])
        ax.set_title(
            f"{result['name']}: {result['value']:.4g} {result['unit']} "
            f"(needs {result['comparison']} {result['threshold']:.4g})",
            fontsize=8,
            loc="left",
        )
    fig.tight_layout()
    return figure_png(fig)


def figure_quantization(report: Mapping[str, Any]) -> str | None:
    """Return a base64 PNG with a relative-error histogram per parameter."""
    entries = report.get("quantization") or []
    if not entries:
        return None
    columns = min(3, len(entries))
    rows = math.ceil(len(entries) / columns)
    fig = Figure(figsize=(10, 2.4 * rows))
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, entry in zip(axes, entries, strict=False):
        errors = np.asarray(entry["rel_error"], dtype=float)
        errors = errors[np.isfinite(errors)]
        ax.hist(errors, bins=30, color="tab:blue")
        ax.set_title(entry["name"], fontsize=9)
        ax.set_xlabel("relative error")
    for ax in axes[len(entries) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return figure_png(fig)


# --- HTML ---------------------------------------------------------------

#: Style sheet of the report pages (embedded, so a page is one file).
PAGE_CSS = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1100px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
th { background: #f0f0f0; }
.pass { color: #1a7f37; font-weight: bold; }
.fail { color: #cf222e; font-weight: bold; }
.report { color: #777; } .mono { font-family: monospace; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.4em 0; }
"""


def render_html(report: Mapping[str, Any]) -> str:
    """Return the report as one HTML page with its figures embedded as PNG."""
    esc = html.escape
    verdict = "PASSED" if report["passed"] else "FAILED"
    css_class = "pass" if report["passed"] else "fail"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(report['model'])}: fidelity report</title>",
        f"<style>{PAGE_CSS}</style></head><body>",
        f"<h1>{esc(report['model'])}: <span class='{css_class}'>{verdict}</span></h1>",
        _summary_table(report),
        "<h2>Metrics</h2>",
        _metrics_table(
            [r for r in report.get("metrics", []) if RATE not in r["levels"]]
        ),
        _cost_of_spiking(report),
        _golden_section(report),
    ]
    figures = [
        ("Spike rasters", figure_raster(report)),
        ("Values over time", figure_values(report)),
        ("Metrics against tolerances", figure_metrics(report)),
        ("Quantization error", figure_quantization(report)),
    ]
    for title, png in figures:
        if png:
            parts.append(f"<h2>{esc(title)}</h2>")
            parts.append(f'<img alt="{esc(title)}" src="data:image/png;base64,{png}">')
    parts.append(_runs_table(report))
    parts.append("</body></html>")
    return "\n".join(parts)


def key_value_table(pairs: list[tuple[str, Any]]) -> str:
    """Return an HTML table with one escaped ``name | value`` row per pair."""
    body = "".join(
        f"<tr><th>{html.escape(k)}</th><td class='mono'>{html.escape(str(v))}</td></tr>"
        for k, v in pairs
    )
    return f"<table>{body}</table>"


def _summary_table(report: Mapping[str, Any]) -> str:
    summary = report.get("target_summary") or {}
    assumed = summary.get("assumed") or []
    versions = ", ".join(f"{k} {v}" for k, v in report.get("versions", {}).items())
    return key_value_table(
        [
            ("target", report["target"]),
            ("backend", report["backend"]),
            ("seed", report["seed"]),
            ("steps", report["steps"]),
            ("dt (s)", report.get("dt")),
            ("program hash", report.get("program_hash") or "-"),
            ("created (UTC)", report["created"]),
            ("libraries", versions),
            (f"assumed hw values ({len(assumed)})", ", ".join(assumed) or "none"),
        ]
    )


def _cost_of_spiking(report: Mapping[str, Any]) -> str:
    results = [r for r in report.get("metrics", []) if RATE in r["levels"]]
    if not results:
        return ""
    return (
        "<h2>Cost of spiking (float network vs rate model, reported only)</h2>"
        + _metrics_table(results)
    )


def _metrics_table(results: list[Mapping[str, Any]]) -> str:
    esc = html.escape
    head = (
        "<tr><th>metric</th><th>levels</th><th>value</th><th>unit</th>"
        "<th>tolerance</th><th>status</th><th>detail</th></tr>"
    )
    rows = []
    for r in results:
        status = r["status"]
        css = "pass" if r["passed"] else "fail"
        if not r["gate"]:
            css = "report"
        value = "-" if r["value"] is None else f"{r['value']:.4g}"
        rows.append(
            f"<tr><td>{esc(r['name'])}</td><td>{esc(' vs '.join(r['levels']))}</td>"
            f"<td>{value}</td><td>{esc(r['unit'])}</td>"
            f"<td>{esc(r['comparison'])} {r['threshold']:.4g}</td>"
            f"<td class='{css}'>{esc(status)}</td><td>{esc(r.get('detail', ''))}</td>"
            "</tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _golden_section(report: Mapping[str, Any]) -> str:
    golden = report.get("golden")
    if not golden:
        return ""
    css = "pass" if golden["identical"] else "fail"
    text = html.escape(golden["description"])
    return f"<h2>Golden file</h2><p class='{css}'>{text}</p>"


def _runs_table(report: Mapping[str, Any]) -> str:
    esc = html.escape
    rows = []
    for level, run in report.get("runs", {}).items():
        counters = json.dumps(run.get("counters") or {}, sort_keys=True)
        rows.append(
            f"<tr><td>{esc(level)}</td><td>{esc(str(run['backend']))}</td>"
            f"<td>{esc(str(run['target']))}</td><td>{run['steps']}</td>"
            f"<td>{run['input_latency']}</td><td class='mono'>{esc(counters)}</td></tr>"
        )
    head = (
        "<tr><th>level</th><th>backend</th><th>target</th><th>steps</th>"
        "<th>input latency</th><th>overflow counters</th></tr>"
    )
    return f"<h2>Runs</h2><table>{head}{''.join(rows)}</table>"
