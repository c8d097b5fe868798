"""Table, JSON and HTML report of an astro-sequence verify run."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from glia_neuromorphic.fileset import write_file_set


def _value_text(value) -> str:
    """Return a check's value as text; a per-level mapping reads "a 0.7, b 0.8"."""
    if isinstance(value, dict):
        return ", ".join(f"{key} {item}" for key, item in value.items())
    return str(value)


def print_table(result, console) -> None:
    """Print recall per level, each transition's time and overlap, and the checks."""
    from rich.table import Table

    levels = result.report["levels"]
    names = {
        "rate": "(a) rate",
        "float_spiking": "(b) float spiking",
        "fixed_point": "(c) fixed point",
    }
    table = Table(title="recall per level")
    table.add_column("level")
    table.add_column("recalled order")
    table.add_column("correct", justify="right")
    table.add_column("wall s", justify="right")
    for key, label in names.items():
        lv = levels[key]
        table.add_row(
            label,
            " ".join(map(str, lv["order"])),
            f"{lv['correct_transitions']}/{lv['transitions']}",
            f"{lv['wall_time_s']:.1f}",
        )
    console.print(table)

    times = Table(title="transitions: time (s) memory reached overlap 0.9")
    times.add_column("#", justify="right")
    times.add_column("memory", justify="right")
    for label in names.values():
        times.add_column(label, justify="right")
    times.add_column("fixed vs float", justify="right")
    times.add_column("peak overlap (c)", justify="right")
    order = levels["fixed_point"]["order"]
    rel = result.report["fixed_vs_float"]["time_rel_diff"]
    peaks = levels["fixed_point"]["peak_overlaps"]
    for k in range(1, len(order)):
        row = [str(k), str(order[k])]
        for key in names:
            t = levels[key]["times_s"]
            row.append(f"{t[k]:.3f}" if k < len(t) else "-")
        row.append(f"{rel[k - 1]:+.1%}" if k - 1 < len(rel) else "-")
        row.append(f"{peaks[k]:.3f}")
        times.add_row(*row)
    console.print(times)

    checks = Table(title="checks (gates compare fixed point with float spiking)")
    checks.add_column("check")
    checks.add_column("value", justify="right")
    checks.add_column("tolerance")
    checks.add_column("result")
    for c in result.checks:
        if not c.gate:
            verdict = "[cyan]report[/]"
        elif c.passed:
            verdict = "[green]pass[/]"
        else:
            verdict = "[bold red]FAIL[/]"
        checks.add_row(c.name, _value_text(c.value), c.tolerance, verdict)
    console.print(checks)
    studies = result.report.get("studies")
    if studies is not None:
        study = Table(
            title=f"timing study: fixed ({studies['fixed_backend']}) vs float "
            f"({studies['float_backend']}), mean over seeds"
        )
        for name in ("gain", "tau_a (s)", "first dwell float / fixed (s)", "diff"):
            study.add_column(name, justify="right")
        study.add_column("period float / fixed (s)", justify="right")
        study.add_column("diff", justify="right")
        for r in studies["timing"]["fixed_vs_float_means"]:
            study.add_row(
                str(r["gain"]),
                str(r["tau_a"]),
                f"{_sec(r['first_dwell_float'])} / {_sec(r['first_dwell_fixed'])}",
                _pct(r["first_dwell_rel_diff"]),
                f"{_sec(r['period_float'])} / {_sec(r['period_fixed'])}",
                _pct(r["period_rel_diff"]),
            )
        console.print(study)
        fc = studies["atrophy"]["critical_fraction"]
        values = [f"{k} {'-' if v is None else f'{v:.3f}'}" for k, v in fc.items()]
        console.print(
            "atrophy study critical fractions: "
            + ", ".join(values)
            + f" (mean field {studies['atrophy']['mean_field_fc']:.3f})"
        )
    walls = result.report.get("wall_time_s", {})
    console.print(
        "wall time: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in walls.items() if v is not None)
    )
    verdict = "[green]PASSED[/]" if result.passed else "[bold red]FAILED[/]"
    console.print(
        f"{verdict}  seed {result.report['seed']}, target "
        f"{result.report['target']['target']}, backend {result.report['backend']}; "
        f"reports in {result.out}"
    )


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _overlap_figure(levels: dict[str, Any]) -> str:
    import matplotlib.pyplot as plt

    runs = [
        ("(a) rate model", levels["rate_recall"]),
        ("(b) float spiking", levels["recalls"]["float"]),
        ("(c) fixed point", levels["recalls"]["fixed"]),
    ]
    fig, axes = plt.subplots(len(runs), 1, figsize=(10, 7), sharex=True)
    colors = plt.cm.tab10(np.arange(10))
    for ax, (label, rec) in zip(axes, runs, strict=True):
        m = rec.overlaps
        t = np.arange(1, len(m) + 1) * levels["rate"].dt
        for mu in range(m.shape[1]):
            ax.plot(t, m[:, mu], color=colors[mu % 10], lw=1, label=f"digit {mu}")
        ax.axhline(0.9, color="k", lw=0.5, ls=":")
        ax.set_ylabel("overlap m")
        ax.set_title(label, fontsize=10, loc="left")
        ax.set_ylim(-1.05, 1.05)
    axes[0].legend(ncol=10, fontsize=7, loc="lower left")
    axes[-1].set_xlabel("time (s)")
    return _png(fig)


def _raster_figure(levels: dict[str, Any]) -> str:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
    dt = levels["rate"].dt
    for ax, precision in zip(axes, ("float", "fixed"), strict=True):
        spikes = levels["spiking"][precision]["neurons.spikes"]
        steps = min(len(spikes), 1500)
        ax.imshow(
            spikes[:steps].T,
            aspect="auto",
            cmap="gray_r",
            interpolation="nearest",
            origin="lower",
            extent=(0, steps * dt, 0, spikes.shape[1]),
        )
        ax.set_title(f"{precision} spiking: first {steps} steps", fontsize=10)
        ax.set_xlabel("time (s)")
    axes[0].set_ylabel("neuron (on 0-63, off 64-127)")
    return _png(fig)


def _frames_figure(levels: dict[str, Any]) -> str:
    """Stored memories over the fixed-point state at the middle of each dwell."""
    import matplotlib.pyplot as plt

    from glia_neuromorphic.models.astro_sequence.analysis import unit_activity

    rec = levels["recalls"]["fixed"]
    spikes = levels["spiking"]["fixed"]["neurons.spikes"]
    dt = levels["rate"].dt
    patterns = levels["patterns"]
    states = unit_activity(spikes, levels["design"].params.tau_n, dt)
    ends = list(rec.times[1:]) + [len(states) * dt]
    n = max(len(rec.order), 1)
    fig, axes = plt.subplots(2, n, figsize=(1.1 * n + 1, 2.8), squeeze=False)
    for col, (mu, t0, t1) in enumerate(zip(rec.order, rec.times, ends, strict=False)):
        k = min(int(round(0.5 * (t0 + t1) / dt)), len(states) - 1)
        axes[0, col].imshow(patterns[mu].reshape(8, 8), cmap="gray_r", vmin=-1, vmax=1)
        axes[0, col].set_title(f"memory {mu}", fontsize=7)
        axes[1, col].imshow(states[k].reshape(8, 8), cmap="gray_r", vmin=-1, vmax=1)
        axes[1, col].set_title(f"t = {k * dt:.2f} s", fontsize=7)
    for ax in axes.ravel():
        ax.axis("off")
    return _png(fig)


def _check_row(check: dict[str, Any]) -> str:
    """Return one HTML table row of a check with its verdict."""
    if not check["gate"]:
        css, verdict = "report", "report"
    elif check["passed"]:
        css, verdict = "pass", "pass"
    else:
        css, verdict = "fail", "FAIL"
    cells = (
        html.escape(check["name"]),
        html.escape(_value_text(check["value"])),
        html.escape(check["tolerance"]),
    )
    return (
        "<tr>"
        + "".join(f"<td>{cell}</td>" for cell in cells)
        + f"<td class='{css}'>{verdict}</td></tr>"
    )


def _pct(x) -> str:
    return "-" if x is None else f"{x:+.1%}"


def _sec(x) -> str:
    return "-" if x is None else f"{x:.3f}"


def studies_html(report: dict[str, Any]) -> str:
    """Return the HTML tables of the timing and atrophy studies and wall times."""
    studies = report.get("studies")
    parts = []
    if studies is not None:
        rows = "".join(
            f"<tr><td>{r['gain']}</td><td>{r['tau_a']}</td>"
            f"<td>{_sec(r['first_dwell_float'])}</td>"
            f"<td>{_sec(r['first_dwell_fixed'])}</td>"
            f"<td>{_pct(r['first_dwell_rel_diff'])}</td>"
            f"<td>{_sec(r['period_float'])}</td><td>{_sec(r['period_fixed'])}</td>"
            f"<td>{_pct(r['period_rel_diff'])}</td></tr>"
            for r in studies["timing"]["fixed_vs_float_means"]
        )
        plan = studies["plan"]
        parts.append(
            f"<h2>Timing study ({html.escape(studies['size'])})</h2>"
            f"<p>Random memories, N = {plan['timing_units']}, P = "
            f"{plan['timing_patterns']}, seeds {plan['timing_seeds']} from "
            f"{report['seed']}; float spiking = "
            f"{html.escape(studies['float_backend'])}, fixed point = "
            f"{html.escape(studies['fixed_backend'])}"
            + (
                f", {plan['astro_copies']} astrocyte pairs per unit"
                if studies["float_backend"] == "nengo"
                else ""
            )
            + ". Dwells in seconds, mean over seeds.</p>"
            "<table><tr><th>gain</th><th>tau_a</th>"
            "<th>first dwell float</th><th>fixed</th><th>difference</th>"
            "<th>period float</th><th>fixed</th><th>difference</th></tr>"
            f"{rows}</table>"
        )
        fc = studies["atrophy"]["critical_fraction"]
        fc_rows = "".join(
            f"<tr><td>{html.escape(k)}</td>"
            f"<td>{'-' if v is None else f'{v:.3f}'}</td></tr>"
            for k, v in fc.items()
        )
        parts.append(
            f"<h2>Atrophy study ({html.escape(studies['size'])})</h2>"
            f"<p>Digits, N = {plan['atrophy_units']}, gain {plan['atrophy_gain']}, "
            f"tau_a = {plan['atrophy_tau']} s, {plan['atrophy_seeds']} seed(s), "
            f"fractions {list(plan['atrophy_fractions'])}; mean-field critical "
            f"fraction {studies['atrophy']['mean_field_fc']:.3f}.</p>"
            "<table><tr><th>level</th><th>critical fraction</th></tr>"
            f"{fc_rows}</table>"
        )
    walls = report.get("wall_time_s", {})
    if walls:
        cells = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{'-' if v is None else f'{v:.1f}'}"
            "</td></tr>"
            for k, v in walls.items()
        )
        parts.append(
            "<h2>Wall time (s)</h2><table><tr><th>part</th><th>seconds</th></tr>"
            f"{cells}</table>"
        )
    for sweep in report.get("sweeps", []):
        body = html.escape(json.dumps(sweep["summary"], indent=1))
        parts.append(
            f"<h2>Embedded sweep: {html.escape(sweep['study'])} "
            f"({html.escape(sweep['file'])})</h2>"
            f"<details><summary>summary</summary><pre>{body}</pre></details>"
        )
    return "".join(parts)


def render_html(report: dict[str, Any], figures: dict[str, str]) -> str:
    """Return a self-contained HTML page for a report and its PNG figures."""
    rows = "".join(_check_row(c) for c in report["checks"])
    level_rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{' '.join(map(str, lv['order']))}</td>"
        f"<td>{lv['correct_transitions']} / {lv['transitions']}</td>"
        f"<td>{lv['max_overlap']:.3f}</td></tr>"
        for name, lv in report["levels"].items()
    )
    images = "".join(
        f"<h2>{html.escape(title)}</h2><img alt='{html.escape(title)}' "
        f"src='data:image/png;base64,{data}'>"
        for title, data in figures.items()
    )
    verdict = "PASSED" if report["passed"] else "FAILED"
    assumed = ", ".join(report["target"]["assumed"]) or "none"
    runners = "; ".join(f"{k}: {v}" for k, v in report.get("runners", {}).items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>glia verify {html.escape(report["model"])}: {verdict}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 1100px; }}
table {{ border-collapse: collapse; margin-bottom: 1em; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; }}
.pass {{ color: #070; }} .fail {{ color: #b00; font-weight: bold; }}
.report {{ color: #046; }} img {{ max-width: 100%; }}
</style></head><body>
<h1>{html.escape(report["model"])}: {verdict}</h1>
<p>target {html.escape(report["target"]["target"])}, backend
{html.escape(report["backend"])} ({html.escape(runners)}), seed {report["seed"]},
{report["steps"]} steps of {report["dt"]} s. Values marked assumed in the target file:
{html.escape(assumed)}.</p>
<h2>Checks</h2>
<table><tr><th>check</th><th>value</th><th>tolerance</th><th>result</th></tr>
{rows}</table>
<h2>Recall per level</h2>
<table><tr><th>level</th><th>recalled order</th><th>correct / transitions</th>
<th>max overlap</th></tr>{level_rows}</table>
{studies_html(report)}
{images}
</body></html>
"""


def write_reports(
    result, levels: dict[str, Any], out: Path, extra_figures=None
) -> None:
    """Write report.json and report.html (figures inline) into ``out`` as one set.

    ``extra_figures`` (title -> base64 PNG) follow the run's own figures.
    """
    out.mkdir(parents=True, exist_ok=True)
    figures = {
        "Memory overlap over time": _overlap_figure(levels),
        "Spike rasters, float vs fixed point": _raster_figure(levels),
        "Memories (top) and fixed-point state mid-dwell (bottom)": _frames_figure(
            levels
        ),
        **(extra_figures or {}),
    }
    write_file_set(
        {
            out / "report.json": json.dumps(result.report, indent=1),
            out / "report.html": render_html(result.report, figures),
        }
    )
