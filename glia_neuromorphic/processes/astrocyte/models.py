"""Float and fixed-point process models of the Astrocyte process."""

from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from glia_neuromorphic.processes.astrocyte.process import Astrocyte


@implements(proc=Astrocyte, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyAstrocyteModelFloat(PyLoihiProcessModel):
    """Float model: exponential low-pass of the input, sent as a graded value."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    c: np.ndarray = LavaPyType(np.ndarray, float)
    decay: np.ndarray = LavaPyType(np.ndarray, float)
    decay_c: np.ndarray = LavaPyType(np.ndarray, int)
    out_shift: np.ndarray = LavaPyType(np.ndarray, int)

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self.act_scale = float(2 ** proc_params["act_shift"])

    def run_spk(self) -> None:
        a_in = self.a_in.recv()
        self.c[:] = self.c * (1.0 - self.decay) + a_in * self.act_scale
        self.s_out.send(self.c / float(2 ** int(self.out_shift[0])))


@implements(proc=Astrocyte, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyAstrocyteModelFixed(PyLoihiProcessModel):
    """Fixed-point model: integer add, multiply, shift and compare only.

    ``c`` is a signed ``c_bits`` register; the decay truncates toward zero
    like the Loihi compartment current, and values beyond the register range
    are clipped.
    """

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    c: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    decay: np.ndarray = LavaPyType(np.ndarray, float)
    decay_c: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)
    out_shift: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=5)

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self.decay_bits = int(proc_params["decay_bits"])
        self.decay_offset = int(proc_params["decay_offset"])
        self.act_shift = int(proc_params["act_shift"])
        c_bits = int(proc_params["c_bits"])
        self.c_max = (1 << (c_bits - 1)) - 1

    def run_spk(self) -> None:
        a_in = self.a_in.recv().astype(np.int64)
        keep = (1 << self.decay_bits) - int(self.decay_c[0]) - self.decay_offset
        c = self.c.astype(np.int64)
        decayed = np.sign(c) * np.right_shift(np.abs(c) * keep, self.decay_bits)
        c = decayed + np.left_shift(a_in, self.act_shift)
        c = np.clip(c, -self.c_max, self.c_max)
        self.c[:] = c.astype(np.int32)
        self.s_out.send(np.right_shift(c, int(self.out_shift[0])).astype(np.int32))
