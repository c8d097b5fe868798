"""Recorder Lava process: writes its input of every step to a NumPy file."""

from glia_neuromorphic.processes.recorder.process import Recorder

__all__ = ["Recorder"]
