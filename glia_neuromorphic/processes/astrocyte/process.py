"""Declaration of the Astrocyte process (ports and state); models are in models.py."""

from __future__ import annotations

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from glia_neuromorphic.hwconfig import load_chip


class Astrocyte(AbstractProcess):
    """Astrocytes that low-pass filter neural activity and send it as graded spikes.

    Each astrocyte ``j`` keeps a calcium-like trace ``c_j`` driven by the
    synaptic input it receives (``a_in``, usually the +/-1 spikes of the
    on/off neuron pair it wraps) and sends ``c_j`` every step as a graded
    spike on ``s_out``.

    Float model (``floating_pt``)::

        c <- c * (1 - decay) + a_in * 2**act_shift
        s_out = c / 2**out_shift

    Fixed-point model (``fixed_pt``), integer add, multiply, shift and compare
    only, with the same arithmetic as a Loihi compartment current::

        c <- sign(c) * ((|c| * (2**decay_bits - decay_c - decay_offset)) >> decay_bits)
             + (a_in << act_shift)
        c is clipped to the signed range of c_bits
        s_out = c >> out_shift

    Parameters
    ----------
    shape : tuple of int
        Number of astrocytes.
    decay : float
        Per-step decay fraction for the float model (``dt / tau_a``).
    decay_c : int
        Stored decay for the fixed-point model; the effective per-step decay
        is ``(decay_c + decay_offset) / 2**decay_bits``.
    out_shift : int
        Right shift between the trace and its graded output.
    target : str
        hw_configs chip whose datapath widths the fixed-point model uses:
        ``decay_bits``, the current-decay offset, ``act_shift`` and ``u_bits``
        (the width of ``c``). Each can be overridden by the keyword of the
        same name.
    """

    def __init__(
        self,
        *,
        shape: tuple[int, ...],
        decay: float = 0.0,
        decay_c: int = 0,
        out_shift: int = 0,
        target: str = "loihi2",
        decay_bits: int | None = None,
        decay_offset: int | None = None,
        act_shift: int | None = None,
        c_bits: int | None = None,
        name: str | None = None,
    ) -> None:
        chip = load_chip(target)
        decay_bits = chip.neuron.decay_bits if decay_bits is None else decay_bits
        if decay_offset is None:
            decay_offset = chip.neuron.decay_u_offset
        act_shift = chip.neuron.act_shift if act_shift is None else act_shift
        c_bits = chip.neuron.u_bits if c_bits is None else c_bits
        super().__init__(
            shape=shape,
            decay=decay,
            decay_c=decay_c,
            out_shift=out_shift,
            decay_bits=decay_bits,
            decay_offset=decay_offset,
            act_shift=act_shift,
            c_bits=c_bits,
            name=name,
        )
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.c = Var(shape=shape, init=np.zeros(shape))
        self.decay = Var(shape=(1,), init=decay)
        self.decay_c = Var(shape=(1,), init=decay_c)
        self.out_shift = Var(shape=(1,), init=out_shift)
