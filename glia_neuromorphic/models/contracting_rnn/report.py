"""JSON, PNG and HTML reports of ``glia verify contracting-rnn``.

The page reuses the fidelity report's style sheet, tables and PNG embedding
(``glia_neuromorphic.fidelity.report``). It shows the checks, the accuracy of
each level, the certificates before and after quantization, the wall time of
each spiking run and the convergence plot. The files appear together or not at all.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from glia_neuromorphic.errors import ProgramFileError
from glia_neuromorphic.fidelity.report import (
    CONTRACTING_RNN_SCHEMA,
    PAGE_CSS,
    figure_png,
    key_value_table,
)
from glia_neuromorphic.fileset import write_file_set
from glia_neuromorphic.fileutil import strict_json
from glia_neuromorphic.program import atomic_write_text

JSON_NAME = "report.json"
HTML_NAME = "report.html"
PLOT_NAME = "convergence.png"
#: Schema name and version of report.json (documented in docs/report_schema.md).
SCHEMA = CONTRACTING_RNN_SCHEMA
SCHEMA_VERSION = 1


def convergence_figure(numbers: dict[str, Any], fixed_label: str) -> Figure:
    """Return the distance traces of both runs and the certified envelope.

    The y axis is logarithmic, so a contraction at rate ``c`` is a line of
    slope ``-c``. The dashed line starts at the fixed-point run's first
    distance and decays at the certified rate of the quantized network.
    """
    conv = numbers["convergence"]
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.semilogy(conv["rate"], label="float rate model")
    ax.semilogy(conv["fixed"], label=fixed_label)
    steps = np.arange(len(conv["fixed"]))
    envelope = conv["fixed"][0] * np.exp(
        -numbers["certified_rate_quantized_per_step"] * steps
    )
    ax.semilogy(steps, envelope, "k--", label="certified bound (quantized)")
    ax.set_xlabel("step")
    ax.set_ylabel("distance in metric M")
    ax.legend()
    return fig


def _check_rows(checks: dict[str, bool]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td>"
        f"<td class='{'pass' if ok else 'fail'}'>{'pass' if ok else 'FAIL'}</td></tr>"
        for name, ok in checks.items()
    )
    return f"<table><tr><th>check</th><th>result</th></tr>{rows}</table>"


def _certificate_rows(report: dict[str, Any]) -> str:
    cert, cert_q = report["certificate"], report["certificate_quantized"]
    euler, euler_q = (
        report["euler_certificate"],
        report["quantization"]["euler_quantized"],
    )
    conv = report["convergence"]
    rows = [
        ("certificate margin", cert["margin"], cert_q["margin"]),
        (
            "certified rate / step",
            report["certified_rate_per_step"],
            report["certified_rate_quantized_per_step"],
        ),
        ("Euler-step factor q (< 1)", euler["bound"], euler_q["bound"]),
        (
            "feedback residual |ML + L^T M|",
            report["quantization"]["feedback_residual_float"],
            report["quantization"]["feedback_residual_quantized"],
        ),
        (
            "measured decay rate / step",
            conv["rate_fit"]["rate"],
            conv["fixed_fit"]["rate"],
        ),
    ]
    body = "".join(
        f"<tr><td>{html.escape(name)}</td><td class='mono'>{before:.5g}</td>"
        f"<td class='mono'>{after:.5g}</td></tr>"
        for name, before, after in rows
    )
    head = "<tr><th>quantity</th><th>float</th><th>quantized (fixed point)</th></tr>"
    return f"<table>{head}{body}</table>"


def render_html(report: dict[str, Any], plot_png: str) -> str:
    """Return the report as one HTML page with the convergence plot embedded."""
    verdict = "PASSED" if report["passed"] else "FAILED"
    css = "pass" if report["passed"] else "fail"
    acc, seconds = report["accuracy"], report["wall_seconds"]
    digits = report["test_digits"]
    summary = key_value_table(
        [
            ("target", report["target"]["target"]),
            ("fixed-point backend", report["backend"]),
            ("seed", report["seed"]),
            ("held-out digits", digits),
            ("spiking steps per digit", report["spiking"]["steps_per_digit"]),
            ("assumed hw values", ", ".join(report["target"]["assumed"]) or "none"),
            ("total wall time (s)", f"{report['seconds']:.1f}"),
        ]
    )
    accuracy = key_value_table(
        [
            ("float rate model", f"{acc['float_rate_model']:.1%}"),
            ("float spiking (Lava floating_pt)", f"{acc['float_spiking']:.1%}"),
            (
                f"fixed point ({report['backend']})",
                f"{acc['fixed_spiking']:.1%}",
            ),
        ]
    )
    timing = key_value_table(
        [
            ("float spiking, Lava", f"{seconds['float_spiking']:.2f}"),
            (f"fixed point, {report['backend']}", f"{seconds['fixed_point']:.2f}"),
            (
                f"convergence pair, {report['backend']}",
                f"{seconds['convergence']:.2f}",
            ),
        ]
    )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>contracting-rnn: {verdict}</title>",
            f"<style>{PAGE_CSS}</style></head><body>",
            f"<h1>contracting-rnn: <span class='{css}'>{verdict}</span></h1>",
            summary,
            "<h2>Checks</h2>",
            _check_rows(report["checks"]),
            f"<h2>Accuracy on {digits} held-out digits</h2>",
            accuracy,
            "<h2>Certificates before and after quantization</h2>",
            _certificate_rows(report),
            "<h2>Convergence of two runs from different states</h2>",
            f'<img alt="convergence" src="data:image/png;base64,{plot_png}">',
            "<h2>Wall time of the spiking runs (s)</h2>",
            timing,
            "<h2>Quantization</h2>",
            key_value_table(
                [
                    (name, value)
                    for name, value in report["quantization"].items()
                    if not isinstance(value, dict | list)
                ]
            ),
            "</body></html>",
        ]
    )


def _jsonable(numbers: dict[str, Any]) -> dict[str, Any]:
    conv = numbers["convergence"]
    converted = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, **numbers}
    converted["convergence"] = {
        "rate_fit": conv["rate_fit"].summary(),
        "fixed_fit": conv["fixed_fit"].summary(),
        "rate_distance": conv["rate"].tolist(),
        "fixed_distance": conv["fixed"].tolist(),
    }
    return converted


def write_reports(
    numbers: dict[str, Any], out: Path, fixed_label: str
) -> dict[str, Any]:
    """Write report.json, convergence.png and report.html into ``out``.

    Returns the JSON-ready report.
    """
    report = _jsonable(numbers)
    png = figure_png(convergence_figure(numbers, fixed_label))
    write_file_set(
        {
            out / JSON_NAME: strict_json(report, indent=2, default=_json_default),
            out / PLOT_NAME: base64.b64decode(png),
            out / HTML_NAME: render_html(report, png),
        }
    )
    return report


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    return str(value)


def rebuild_html(json_path: Path, report: dict[str, Any]) -> Path:
    """Rebuild report.html beside ``json_path`` from ``report`` and convergence.png.

    Raises
    ------
    ProgramFileError
        If the report has another schema version, lacks a key, or the plot
        file beside it is missing.
    """
    version = report.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ProgramFileError(
            f"report {str(json_path)!r} has schema version {version!r}, this "
            f"toolchain reads version {SCHEMA_VERSION}; rerun `glia verify "
            "contracting-rnn` to regenerate it"
        )
    plot = json_path.parent / PLOT_NAME
    if not plot.is_file():
        raise ProgramFileError(
            f"{str(plot)!r} not found; report.html embeds it, so rerun `glia "
            "verify contracting-rnn` to write both"
        )
    png = base64.b64encode(plot.read_bytes()).decode("ascii")
    try:
        text = render_html(report, png)
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        what = f"lacks the key {exc}" if isinstance(exc, KeyError) else f"has {exc}"
        raise ProgramFileError(
            f"report {str(json_path)!r} is damaged: it {what}; rerun `glia verify "
            "contracting-rnn` to regenerate it"
        ) from exc
    html_path = json_path.parent / HTML_NAME
    atomic_write_text(html_path, text)
    return html_path
