"""Recall quality versus the fraction of atrophied astrocytic synapses.

Removing a random fraction ``f`` of astrocytic synapses scales the mean
astrocytic drive by ``1 - f``, so in mean field the effective gain is
``gain * (1 - f)`` and transitions stop at ``f_c = 1 - 1/gain``. The mask is
applied when the network is built (dropped synapses), not at run time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glia_neuromorphic.models.astro_sequence.cases import Case, critical_fraction

#: Largest difference of critical fractions, fixed point vs float.
FC_TOLERANCE = 0.1


def fraction_grid(gain: float, fine: float = 0.05, coarse: float = 0.1) -> list[float]:
    """Return atrophy fractions from 0 to 1: steps of ``fine`` within 0.2 of
    ``1 - 1/gain`` and of ``coarse`` elsewhere."""
    centre = 1.0 - 1.0 / gain
    coarse_points = np.arange(0.0, 1.0 + 1e-9, coarse)
    fine_points = np.arange(centre - 0.2, centre + 0.2 + 1e-9, fine)
    points = np.concatenate([coarse_points, fine_points])
    points = points[(points >= 0.0) & (points <= 1.0)]
    return sorted({round(float(p), 4) for p in points})


def atrophy_cases(
    backend: str,
    memories: str,
    n_units: int,
    gain: float,
    tau_a: float,
    duration: float,
    seeds=range(5),
    fractions=None,
    n_patterns: int = 5,
) -> list[Case]:
    """Return the cases of one atrophy sweep (fractions x seeds)."""
    fractions = fraction_grid(gain) if fractions is None else fractions
    return [
        Case(
            backend,
            memories=memories,
            n_units=n_units,
            n_patterns=n_patterns,
            gain=gain,
            tau_a=tau_a,
            atrophy=f,
            duration=duration,
            seed=seed,
        )
        for f in fractions
        for seed in seeds
    ]


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Return mean and spread of recall per fraction, and the critical fraction.

    Records are grouped by backend, memories and network size. The critical
    fraction is where the mean recall quality (ordered transitions of one
    pass) falls below 0.5 for good.
    """
    groups: dict[tuple, list] = {}
    for r in records:
        groups.setdefault((r["backend"], r["memories"], r["n_units"]), []).append(r)
    out = {}
    for (backend, mem, n), rows in sorted(groups.items()):
        fractions = sorted({r["atrophy"] for r in rows})
        stats = []
        for f in fractions:
            at = [r for r in rows if r["atrophy"] == f]
            q = np.array([r["quality"] for r in at])
            m = np.array([r["mean_peak_overlap"] for r in at])
            stats.append(
                {
                    "fraction": f,
                    "seeds": [r["seed"] for r in at],
                    "quality_mean": float(q.mean()),
                    "quality_std": float(q.std()),
                    "overlap_mean": float(m.mean()),
                    "overlap_std": float(m.std()),
                }
            )
        gain = rows[0]["gain"]
        f_c = critical_fraction(
            [s["fraction"] for s in stats], [s["quality_mean"] for s in stats]
        )
        out[f"{backend}/{mem}/{n}"] = {
            "backend": backend,
            "memories": mem,
            "n_units": n,
            "gain": gain,
            "tau_a": rows[0]["tau_a"],
            "mean_field_fc": 1.0 - 1.0 / gain,
            "critical_fraction": f_c,
            "points": stats,
            "width": _transition_width(stats),
        }
    return out


def _transition_width(stats) -> float | None:
    """Return the atrophy span over which mean quality falls from >= 0.9 to <= 0.1."""
    high = [s["fraction"] for s in stats if s["quality_mean"] >= 0.9]
    low = [s["fraction"] for s in stats if s["quality_mean"] <= 0.1]
    if not high or not low:
        return None
    last_high = max(high)
    after = [f for f in low if f > last_high]
    return (min(after) - last_high) if after else None


def figure(summary: dict[str, Any]):
    """Return a figure of recall quality and mean peak overlap vs atrophy."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for key, entry in summary.items():
        f = [s["fraction"] for s in entry["points"]]
        for ax, name in zip(axes, ("quality", "overlap"), strict=True):
            ax.errorbar(
                f,
                [s[f"{name}_mean"] for s in entry["points"]],
                yerr=[s[f"{name}_std"] for s in entry["points"]],
                marker="o",
                ms=3,
                capsize=2,
                label=key,
            )
    for ax, label in zip(
        axes, ("ordered transitions / (P - 1)", "mean peak overlap"), strict=True
    ):
        ax.set_xlabel("atrophied fraction f")
        ax.set_ylabel(label)
        for entry in summary.values():
            ax.axvline(entry["mean_field_fc"], color="gray", lw=0.5, ls=":")
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    return fig
