"""Sequence length the network holds versus its size.

For each size N the sweep stores open chains of P random memories (Hebbian
weights, clean cue) and reports the largest P whose whole chain is recalled
in order (mean over seeds): the sequence capacity. Digits are projected to N
units to show that the real input keeps working as the network grows.
"""

from __future__ import annotations

from typing import Any

from glia_neuromorphic.models.astro_sequence.cases import Case

SIZES = (64, 128, 256, 512, 1024)
PATTERN_COUNTS = (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128)
#: Time constant and gain of the scale runs (``tau_a`` exact at 12 bits). At
#: gain 2 the rate model ends in a mixture state after about five
#: transitions even at N = 1024, so gain 2 measures that failure, not storage.
TAU_A = 0.256
GAIN = 1.5
#: Seconds per memory: the measured dwell at gain 1.5 is about 1.4 tau_a.
SECONDS_PER_MEMORY = 0.5
#: Mean recall quality a pattern count needs to count as held.
FULL_RECALL = 0.9


def capacity_cases(
    backend: str, sizes=SIZES, counts=PATTERN_COUNTS, seeds=range(3), max_load=0.25
) -> list[Case]:
    """Return cases for every size and pattern count with ``P <= max_load * N``."""
    return [
        Case(
            backend,
            memories="random",
            n_units=n,
            n_patterns=p,
            gain=GAIN,
            tau_a=TAU_A,
            duration=round(0.3 + (p - 1) * SECONDS_PER_MEMORY, 3),
            seed=seed,
        )
        for n in sizes
        for p in counts
        if p <= max_load * n
        for seed in seeds
    ]


def digit_cases(backend: str, sizes=SIZES, seeds=range(3), gain=1.5) -> list[Case]:
    """Return digit runs (one pass through the ten digits) for every size."""
    return [
        Case(
            backend,
            memories="digits",
            n_units=n,
            n_patterns=10,
            gain=gain,
            tau_a=TAU_A,
            duration=4.0,
            seed=seed,
        )
        for n in sizes
        for seed in seeds
    ]


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the capacity per backend and size, and digit recall per size.

    Capacity is the largest P whose chain was recalled in order with mean
    quality (over seeds) of at least ``FULL_RECALL``, provided every smaller
    P tested was too. A seed that ends in a mixture state lowers the mean.
    """
    out: dict[str, Any] = {}
    for backend in sorted({r["backend"] for r in records}):
        rows = [r for r in records if r["backend"] == backend]
        per_size = {}
        for n in sorted({r["n_units"] for r in rows}):
            random_rows = [
                r for r in rows if r["n_units"] == n and r["memories"] == "random"
            ]
            capacity = None
            tested = sorted({r["n_patterns"] for r in random_rows})
            quality = {}
            for p in tested:
                at = [r for r in random_rows if r["n_patterns"] == p]
                quality[str(p)] = sum(r["quality"] for r in at) / len(at)
            for p in tested:
                if quality[str(p)] < FULL_RECALL:
                    break
                capacity = p
            digits = [
                r for r in rows if r["n_units"] == n and r["memories"] == "digits"
            ]
            per_size[str(n)] = {
                "capacity": capacity,
                "tested_counts": tested,
                "quality_by_count": quality,
                "largest_tested": max(tested) if tested else None,
                "digits_quality": (
                    sum(r["quality"] for r in digits) / len(digits) if digits else None
                ),
                "digits_seeds": [r["seed"] for r in digits],
            }
        out[backend] = per_size
    return out
