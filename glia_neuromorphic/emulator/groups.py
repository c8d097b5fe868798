"""State and per-step update of each emulated group kind.

Two arithmetic modes implement the compartment update of a reference:

``lava``
    lava-nc 0.10 ``PyLifModelBitAcc``. The input (already shifted by the
    synapse's weight exponent) is shifted by ``act_shift`` and added to the
    decayed current in 32-bit arithmetic; the current then wraps *once* by
    ``2**u_bits`` (see :func:`~glia_neuromorphic.emulator.arithmetic.wrap_once`);
    the voltage sum is 32-bit and clipped to ``+/-(2**(v_bits-1) - 1)``.
``nengo-loihi``
    nengo-loihi 1.1.0 ``CompartmentState.update``. The input (chip weights
    already hold the activation shift) wraps in the ``accumulator_bits``
    accumulator, the current wraps in two's complement at ``u_bits``, the
    current plus bias wraps again, and the voltage is clipped.

Both then hold v at 0 during the refractory period, spike when
``v > vth << vth_shift`` and reset v to 0. The refractory rule is
nengo-loihi's: after a spike at step t the voltage is forced to 0 for
``refract_delay - 1`` steps while u keeps integrating (``refract_delay = 1``
means none). Lava 0.10 has no fixed-point refractory LIF, so in ``lava`` mode
this rule is the project's own extension.
"""

from __future__ import annotations

import numpy as np

from glia_neuromorphic.emulator.arithmetic import (
    RegisterLog,
    clip_symmetric,
    decay,
    shift,
    wrap_once,
    wrap_signed,
)
from glia_neuromorphic.hwconfig import ChipConfig
from glia_neuromorphic.program import AstrocyteGroup, CompartmentGroup, SpikeSource


def _overflow(policy: str, bits: int, lava_wrap_once: bool = False):
    if policy == "clip":
        return lambda x: clip_symmetric(x, bits)
    if lava_wrap_once:
        return lambda x: wrap_once(x, bits)
    return lambda x: wrap_signed(x, bits)


class LavaArithmetic:
    """Compartment current and voltage update of lava-nc 0.10's bit-accurate LIF."""

    registers = ("accumulator", "u", "v")

    def __init__(self, chip: ChipConfig, log: RegisterLog) -> None:
        neuron, overflow = chip.neuron, chip.overflow
        self.neuron = neuron
        self.log = log
        self.policies = {
            "accumulator": overflow.accumulator,
            "u": overflow.u,
            "v": overflow.v,
        }
        self.accumulator = _overflow(overflow.accumulator, neuron.accumulator_bits)
        self.u_overflow = _overflow(overflow.u, neuron.u_bits, lava_wrap_once=True)
        self.v_overflow = _overflow(overflow.v, neuron.v_bits)

    def update(self, name, u, v, total, du, dv, bias):
        """Return the new ``(u, v)`` before threshold and reset."""
        n = self.neuron
        x = decay(u, du, n.decay_u_offset, n.decay_bits)
        if total is not None:
            x = x + (total << n.act_shift)
        x_reg = self.accumulator(x)
        self.log.record(name, "accumulator", x, x_reg)
        u_new = self.u_overflow(x_reg)
        self.log.record(name, "u", x_reg, u_new)
        y = decay(v, dv, n.decay_v_offset, n.decay_bits) + u_new + bias
        y_reg = self.accumulator(y)
        self.log.record(name, "accumulator", y, y_reg)
        v_new = self.v_overflow(y_reg)
        self.log.record(name, "v", y_reg, v_new)
        return u_new, v_new


class NengoLoihiArithmetic:
    """Compartment current and voltage update of nengo-loihi 1.1.0's emulator."""

    registers = ("accumulator", "u", "u_bias", "v")

    def __init__(self, chip: ChipConfig, log: RegisterLog) -> None:
        neuron, overflow = chip.neuron, chip.overflow
        self.neuron = neuron
        self.log = log
        self.policies = {
            "accumulator": overflow.accumulator,
            "u": overflow.u,
            "u_bias": overflow.u,
            "v": overflow.v,
        }
        self.accumulator = _overflow(overflow.accumulator, neuron.accumulator_bits)
        self.u_overflow = _overflow(overflow.u, neuron.u_bits)
        self.v_overflow = _overflow(overflow.v, neuron.v_bits)

    def update(self, name, u, v, total, du, dv, bias):
        """Return the new ``(u, v)`` before threshold and reset."""
        n = self.neuron
        x = decay(u, du, n.decay_u_offset, n.decay_bits)
        if total is not None:
            q = self.accumulator(total)
            self.log.record(name, "accumulator", total, q)
            x = x + q
        u_new = self.u_overflow(x)
        self.log.record(name, "u", x, u_new)
        u_bias = u_new + bias
        u_bias_reg = self.u_overflow(u_bias)
        self.log.record(name, "u_bias", u_bias, u_bias_reg)
        y = decay(v, dv, n.decay_v_offset, n.decay_bits) + u_bias_reg
        v_new = self.v_overflow(y)
        self.log.record(name, "v", y, v_new)
        return u_new, v_new


def make_arithmetic(chip: ChipConfig, log: RegisterLog):
    """Return the arithmetic of the target's bit-exact reference."""
    if chip.reference == "lava":
        return LavaArithmetic(chip, log)
    return NengoLoihiArithmetic(chip, log)


class LifState:
    """Current, voltage, refractory counter and spikes of one compartment group."""

    def __init__(self, group: CompartmentGroup, chip: ChipConfig, arithmetic):
        self.name = group.name
        self.n = group.n
        self.arithmetic = arithmetic
        self.registers = dict(arithmetic.policies)
        self.du = group.decay_u.astype(np.int64)
        self.dv = group.decay_v.astype(np.int64)
        self.vth = group.vth.astype(np.int64) << chip.neuron.vth_shift
        self.bias_exp = group.bias_exp.astype(np.int64)
        self.set_bias_mant(group.bias_mant)
        self.refract = group.refract_delay.astype(np.int64)
        self.has_refract = bool(np.any(self.refract > 1))
        self.u = np.zeros(self.n, dtype=np.int64)
        self.v = np.zeros(self.n, dtype=np.int64)
        self.ref_count = np.zeros(self.n, dtype=np.int64)
        self.output = np.zeros(self.n, dtype=bool)

    def set_bias_mant(self, bias_mant: np.ndarray) -> None:
        """Set the bias mantissas; the bias is ``bias_mant`` shifted by bias_exp."""
        self.bias = shift(np.asarray(bias_mant, dtype=np.int64), self.bias_exp)

    def update(self, total: np.ndarray | None, t: int) -> None:
        """Integrate ``total`` input (None: no synapses), spike and reset."""
        self.u, v = self.arithmetic.update(
            self.name, self.u, self.v, total, self.du, self.dv, self.bias
        )
        if self.has_refract:
            v[self.ref_count > 0] = 0
        spikes = v > self.vth
        v[spikes] = 0
        self.v = v
        self.output = spikes
        if self.has_refract:
            self.ref_count[spikes] = self.refract[spikes]
            np.maximum(self.ref_count - 1, 0, out=self.ref_count)

    def read(self, variable: str) -> np.ndarray:
        """Return the probed variable: ``spikes``, ``u`` or ``v``."""
        return self.output if variable == "spikes" else getattr(self, variable)


class AstrocyteState:
    """Calcium trace and graded output of one astrocyte group.

    Each step ``c`` decays like a compartment current (with the chip's current
    decay offset), gains ``input << act_shift``, is clipped to
    ``+/-(2**(c_bits-1) - 1)``, and ``c >> out_shift`` is sent as a graded
    spike.
    """

    def __init__(self, group: AstrocyteGroup, chip: ChipConfig, arithmetic):
        self.name = group.name
        self.n = group.n
        self.neuron = chip.neuron
        self.log = arithmetic.log
        self.decay_c = np.int64(group.decay_c)
        self.c_bits = group.c_bits
        self.out_shift = group.out_shift
        self.registers = {"c": "clip"}
        self.c = np.zeros(self.n, dtype=np.int64)
        self.output = np.zeros(self.n, dtype=np.int64)

    def update(self, total: np.ndarray | None, t: int) -> None:
        """Decay and integrate ``total``, clip, and compute the output."""
        n = self.neuron
        x = decay(self.c, self.decay_c, n.decay_u_offset, n.decay_bits)
        if total is not None:
            x = x + (total << n.act_shift)
        self.c = clip_symmetric(x, self.c_bits)
        self.log.record(self.name, "c", x, self.c)
        self.output = self.c >> self.out_shift

    def read(self, variable: str) -> np.ndarray:
        """Return the calcium trace ``c``."""
        return self.c


class SourceState:
    """A spike source: emits the scheduled indices at each step."""

    registers: dict[str, str] = {}

    def __init__(self, group: SpikeSource) -> None:
        self.name = group.name
        self.n = group.n
        order = np.argsort(group.steps, kind="stable")
        self.steps = group.steps[order]
        self.indices = group.indices[order]
        self.output = np.zeros(self.n, dtype=bool)

    def update(self, total: None, t: int) -> None:
        """Emit the spikes scheduled for step ``t``."""
        lo, hi = np.searchsorted(self.steps, [t, t + 1])
        self.output = np.zeros(self.n, dtype=bool)
        self.output[self.indices[lo:hi]] = True

    def read(self, variable: str) -> np.ndarray:
        """Return this step's spikes."""
        return self.output
