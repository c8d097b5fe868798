"""Float and fixed-point models of the Recorder process (same code, two types)."""

from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from glia_neuromorphic.errors import BackendError
from glia_neuromorphic.processes.recorder.process import Recorder


class _RecorderModel(PyLoihiProcessModel):
    """Open the file on the first step and write one row per step."""

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self._path = proc_params["path"]
        self._steps = int(proc_params["steps"])
        self._rows = None

    def run_spk(self) -> None:
        values = self.a_in.recv()
        if self._rows is None:
            self._rows = np.load(self._path, mmap_mode="r+")
        row = self.time_step - 1
        if row >= self._steps:
            raise BackendError(
                f"Recorder {self._path} has room for {self._steps} steps, but "
                f"the graph ran step {self.time_step}; create the Recorder with "
                "more steps."
            )
        self._rows[row] = values


@implements(proc=Recorder, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyRecorderModelFloat(_RecorderModel):
    """Recorder for float graphs."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)


@implements(proc=Recorder, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyRecorderModelFixed(_RecorderModel):
    """Recorder for fixed-point graphs."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
