"""Transition timing versus astrocyte parameters: mean field next to measured runs.

Mean field (differing neurons flip when ``gain * (c_mu - c_{mu-1}) > 1``):
first dwell after a clean cue ``T1 = tau_a ln(gain / (gain - 1))``, periodic
dwell ``T_ss = tau_a ln(sqrt(gain) / (sqrt(gain) - 1))``, an upper estimate
because it ignores the traces of older memories. Finite networks switch 5 to
25 % earlier, because crosstalk lets the most susceptible neurons flip first.
The sweep uses time constants a 12-bit decay represents at dt = 1 ms
(``4.096 s / delta``) so the fixed-point runs keep the float ``tau_a``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glia_neuromorphic.models.astro_sequence.cases import Case, mean_field_period

#: 4.096 s / delta for delta = 16, 10, 8, 7, 6, rounded to within 0.01 %.
TAUS = (0.256, 0.4096, 0.512, 0.5851, 0.6827)
GAINS = (1.5, 2.0, 3.0)
#: Gates of the float runs: linear fit of the period and first-dwell ratio.
MIN_R2 = 0.99
FIRST_DWELL_RANGE = (0.75, 1.0)
#: Largest relative timing difference, fixed point vs float spiking.
FIXED_TOLERANCE = 0.10


def duration_for(gain: float, tau_a: float, n_patterns: int) -> float:
    """Return a run length (seconds) that fits one pass through the sequence.

    The mean-field dwells are upper estimates; half a ``tau_a`` and 0.25 s are
    added as margin.
    """
    t1, t_ss = mean_field_period(gain, tau_a)
    return 0.05 + t1 + (n_patterns - 2) * t_ss + 0.5 * tau_a + 0.25


def timing_cases(
    backend: str,
    n_units: int = 1000,
    n_patterns: int = 4,
    taus=TAUS,
    gains=GAINS,
    seeds=(0,),
) -> list[Case]:
    """Return the grid of cases (``taus`` x ``gains`` x ``seeds``) for ``backend``."""
    return [
        Case(
            backend,
            memories="random",
            n_units=n_units,
            n_patterns=n_patterns,
            gain=gain,
            tau_a=tau,
            duration=round(duration_for(gain, tau, n_patterns), 3),
            seed=seed,
        )
        for gain in gains
        for tau in taus
        for seed in seeds
    ]


def linear_fit(x, y) -> dict[str, float]:
    """Return slope, intercept and R^2 of the least-squares line through (x, y)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    total = ((y - y.mean()) ** 2).sum()
    r2 = 1.0 - (residual**2).sum() / total if total > 0 else 1.0
    return {"slope": float(slope), "intercept": float(intercept), "r2": float(r2)}


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Return timing summaries keyed by ``"backend/N"``, then by gain.

    Runs of the same ``tau_a`` are averaged over seeds (runs without a
    measured period are left out). For each backend and gain: the mean first
    dwell and period per ``tau_a``, their ratios to the mean field, the
    per-seed range of the first-dwell ratio, and, with at least three time
    constants, the linear fits of the mean period and the mean first dwell
    against ``tau_a`` (the first dwell's slope over ``T1 / tau_a`` too).
    """
    out: dict[str, Any] = {}
    for backend, n in sorted({(r["backend"], r["n_units"]) for r in records}):
        mine = [r for r in records if r["backend"] == backend and r["n_units"] == n]
        per_gain = {}
        for gain in sorted({r["gain"] for r in mine}):
            rows = [
                r
                for r in mine
                if r["gain"] == gain and r["period"] and r["first_dwell"]
            ]
            taus = sorted({r["tau_a"] for r in rows})
            first, period, seeds, ratios = [], [], [], []
            for tau in taus:
                at = [r for r in rows if r["tau_a"] == tau]
                t1 = mean_field_period(gain, tau)[0]
                first.append(float(np.mean([r["first_dwell"] for r in at])))
                period.append(float(np.mean([r["period"] for r in at])))
                seeds.append([r["seed"] for r in at])
                ratios += [r["first_dwell"] / t1 for r in at]
            t1_unit, t_ss_unit = mean_field_period(gain, 1.0)
            entry: dict[str, Any] = {
                "tau_a": taus,
                "seeds": seeds,
                "first_dwell": first,
                "period": period,
                "first_dwell_over_mean_field": [
                    f / (t1_unit * t) for f, t in zip(first, taus, strict=True)
                ],
                "first_dwell_ratio_per_seed": [min(ratios), max(ratios)]
                if ratios
                else None,
                "period_over_tau": [p / t for p, t in zip(period, taus, strict=True)],
                "mean_field_period_over_tau": t_ss_unit,
                "mean_field_first_over_tau": t1_unit,
            }
            if len(taus) >= 3:
                entry["fit"] = linear_fit(taus, period)
                # the slope of the first dwell leaves out the fixed time a
                # switch takes (the intercept), which inflates single ratios at
                # short tau_a and high gain
                entry["first_dwell_fit"] = linear_fit(taus, first)
                entry["first_dwell_slope_over_mean_field"] = (
                    entry["first_dwell_fit"]["slope"] / t1_unit
                )
            per_gain[str(gain)] = entry
        out[f"{backend}/{n}"] = per_gain
    return out


def compare_fixed(
    records: list[dict[str, Any]], float_backend: str, fixed_backend: str
) -> dict[str, Any]:
    """Return the relative first-dwell and period differences, fixed vs float.

    Runs are paired by gain, ``tau_a`` and seed.
    """

    def key(r):
        return (r["gain"], r["tau_a"], r["seed"], r["n_units"])

    floats = {key(r): r for r in records if r["backend"] == float_backend}
    pairs = []
    for r in records:
        if r["backend"] != fixed_backend or key(r) not in floats:
            continue
        f = floats[key(r)]
        row = {"gain": r["gain"], "tau_a": r["tau_a"], "seed": r["seed"]}
        for name in ("first_dwell", "period"):
            if f[name] and r[name]:
                row[name] = r[name] / f[name] - 1.0
            else:
                row[name] = None
        pairs.append(row)
    diffs = [
        abs(p[name]) for p in pairs for name in ("first_dwell", "period") if p[name]
    ]
    missing = sum(p[name] is None for p in pairs for name in ("first_dwell", "period"))
    return {
        "float": float_backend,
        "fixed": fixed_backend,
        "pairs": pairs,
        "max_rel_diff": max(diffs) if diffs else None,
        "unmatched": missing,
    }


def figure(records: list[dict[str, Any]], labels: dict[str, str]):
    """Return a matplotlib figure: period and first dwell vs ``tau_a`` per gain.

    Lines are the mean field; markers are the mean over seeds of each
    backend in ``labels`` (backend -> legend label), error bars the standard
    deviation over seeds.
    """
    import matplotlib.pyplot as plt

    gains = sorted({r["gain"] for r in records})
    fig, axes = plt.subplots(
        2, len(gains), figsize=(4 * len(gains), 6.5), squeeze=False
    )
    markers = dict(zip(labels, "osD^v<>", strict=False))
    tau_line = np.linspace(0.2, 0.72, 50)
    for col, gain in enumerate(gains):
        t1, t_ss = mean_field_period(gain, 1.0)
        for row, (name, mf) in enumerate((("period", t_ss), ("first_dwell", t1))):
            ax = axes[row, col]
            ax.plot(tau_line, mf * tau_line, "k-", lw=1, label="mean field")
            for backend, label in labels.items():
                mine = [
                    r
                    for r in records
                    if r["backend"] == backend and r["gain"] == gain and r[name]
                ]
                taus = sorted({r["tau_a"] for r in mine})
                if not taus:
                    continue
                values = [[r[name] for r in mine if r["tau_a"] == t] for t in taus]
                ax.errorbar(
                    taus,
                    [np.mean(v) for v in values],
                    yerr=[np.std(v) for v in values],
                    fmt=markers[backend],
                    mfc="none",
                    capsize=2,
                    label=label,
                    alpha=0.8,
                )
            ax.set_title(f"gain {gain}: {name.replace('_', ' ')}", fontsize=10)
            ax.set_xlabel("tau_a (s)")
            ax.set_ylabel("seconds")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig
