"""Fidelity checks: metrics, model signatures, golden files, reports, verify harness."""

from glia_neuromorphic.fidelity.harness import FidelityCase, Verdict, verify_case
from glia_neuromorphic.fidelity.progress import DelayedProgress
from glia_neuromorphic.fidelity.signature import (
    FIXED,
    FLOAT,
    LEVELS,
    RATE,
    Judgement,
    MetricResult,
    Signature,
    Tolerance,
    judge,
    print_results,
    results_table,
)

__all__ = [
    "DelayedProgress",
    "FIXED",
    "FLOAT",
    "LEVELS",
    "RATE",
    "FidelityCase",
    "Judgement",
    "MetricResult",
    "Signature",
    "Tolerance",
    "Verdict",
    "judge",
    "print_results",
    "results_table",
    "verify_case",
]
