"""Declaration of the Recorder process; models are in models.py.

Lava's ``Monitor`` returns its buffer through ``Runtime.get_var``, which in
lava-nc 0.10 receives one element per channel message. Reading 2000 neurons
over 1050 steps took 51 s on a 2-core machine, five times the run itself.
The Recorder writes each step's input into a memory-mapped ``.npy`` file
instead, so reading the run back is one file read. It only receives, so the
network it listens to runs unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from lava.magma.core.process.ports.ports import InPort
from lava.magma.core.process.process import AbstractProcess

from glia_neuromorphic.errors import ValidationError


class Recorder(AbstractProcess):
    """Record ``a_in`` of every step into the rows of a ``.npy`` file.

    Parameters
    ----------
    shape : tuple of int
        Shape of one step's input (one dimension).
    steps : int
        Rows of the file; step ``t`` (counted from 1 over all runs of the
        graph) is written to row ``t - 1``. Steps beyond ``steps`` raise.
    path : str or Path
        File to create (``float64`` zeros); each step's input is stored as it
        arrives (spikes and integers of up to 24 bits are exact). Read it with
        :meth:`data` after the run.
    """

    def __init__(
        self,
        *,
        shape: tuple[int],
        steps: int,
        path: str | Path,
        name: str | None = None,
    ) -> None:
        if len(shape) != 1:
            raise ValidationError(f"Recorder shape is {shape}; use one dimension")
        if steps < 1:
            raise ValidationError(f"Recorder steps is {steps}; it must be >= 1")
        path = Path(path)
        np.lib.format.open_memmap(
            path, mode="w+", dtype=np.float64, shape=(steps, *shape)
        ).flush()
        super().__init__(shape=shape, steps=steps, path=str(path), name=name)
        self.path = path
        self.a_in = InPort(shape=shape)

    def data(self, steps: int | None = None) -> np.ndarray:
        """Return the first ``steps`` recorded rows (all rows by default)."""
        values = np.load(self.path, mmap_mode="r")
        return np.array(values if steps is None else values[:steps])
