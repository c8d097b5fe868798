"""Astrocyte Lava process: a slow calcium trace per astrocyte with graded output."""

from glia_neuromorphic.processes.astrocyte.process import Astrocyte

__all__ = ["Astrocyte"]
