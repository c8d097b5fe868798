"""State and per-step update of each emulated group kind.

Two arithmetic modes implement the compartment update of a reference:

``lava``
    lava-nc 0.10 ``PyLifModelBitAcc``. The input (already shifted by the
    synapse's weight exponent) is shifted by ``act_shift`` and added to the
    decayed current in 32-bit arithmetic. The current then wraps *once* by
    ``2**u_bits``: a value above ``2**(u_bits-1)`` loses ``2**u_bits``, a
    value at or below ``-2**(u_bits-1)`` gains it, so ``-2**(u_bits-1)``
    becomes ``+2**(u_bits-1)`` and a value more than one period out stays
    out of range. The voltage sum is 32-bit and clipped to
    ``+/-(2**(v_bits-1) - 1)``.
``nengo-loihi``
    nengo-loihi 1.1.0 ``CompartmentState.update``. The input (chip weights
    already hold the activation shift) wraps in the ``accumulator_bits``
    accumulator, the current wraps in two's complement at ``u_bits``, the
    current plus bias wraps again, and the voltage is clipped.

Both then clip v to the group's ``[vmin, vmax]`` (nengo-loihi's
``np.clip(voltage, vmin, vmax)``; in ``lava`` mode the project's rectified
LIF models floor v at 0 at the same point), hold v at 0 during the
refractory period, spike when ``v > vth << vth_shift`` and reset v: to 0,
or in ``lava`` mode optionally by subtracting ``vth << vth_shift``. The
refractory rule is
nengo-loihi's: after a spike at step t the voltage is forced to 0 for
``refract_delay - 1`` steps while u keeps integrating (``refract_delay = 1``
means none). Lava 0.10 has no fixed-point refractory LIF, so in ``lava`` mode
this rule is the project's own extension.
"""

from __future__ import annotations

import numpy as np

from glia_neuromorphic.emulator import kernels
from glia_neuromorphic.emulator.arithmetic import (
    RegisterLog,
    clip_symmetric,
    decay,
    shift,
)
from glia_neuromorphic.errors import BackendError, ValidationError
from glia_neuromorphic.hwconfig import ChipConfig
from glia_neuromorphic.program import AstrocyteGroup, CompartmentGroup, SpikeSource

_POLICY_CODES = {"wrap": kernels.WRAP, "clip": kernels.CLIP}
_RESET_CODES = {"zero": kernels.RESET_ZERO, "subtract": kernels.RESET_SUBTRACT}


class CompartmentArithmetic:
    """Widths, overflow policies and mode code of the target's compartment update.

    In ``lava`` mode a ``wrap`` policy on u means Lava's wrap-once rule.
    """

    def __init__(self, chip: ChipConfig, log: RegisterLog) -> None:
        neuron, overflow = chip.neuron, chip.overflow
        self.log = log
        self.lava = chip.reference == "lava"
        self.mode = kernels.LAVA if self.lava else kernels.NENGO_LOIHI
        u_code = _POLICY_CODES[overflow.u]
        if self.lava and overflow.u == "wrap":
            u_code = kernels.WRAP_ONCE
        self.policies = np.array(
            [_POLICY_CODES[overflow.accumulator], u_code, _POLICY_CODES[overflow.v]],
            dtype=np.int64,
        )
        self.widths = np.array(
            [
                neuron.decay_bits,
                neuron.decay_u_offset,
                neuron.decay_v_offset,
                neuron.act_shift,
                neuron.accumulator_bits,
                neuron.u_bits,
                neuron.v_bits,
            ],
            dtype=np.int64,
        )
        self.registers = {
            "accumulator": overflow.accumulator,
            "u": overflow.u,
            "v": overflow.v,
        }
        if not self.lava:
            # nengo-loihi wraps u + bias in the u register a second time
            self.registers["u_bias"] = overflow.u


def make_arithmetic(chip: ChipConfig, log: RegisterLog) -> CompartmentArithmetic:
    """Return the compartment arithmetic of the target's bit-exact reference."""
    return CompartmentArithmetic(chip, log)


class LifState:
    """Current, voltage, refractory counter and spikes of one compartment group."""

    def __init__(self, group: CompartmentGroup, chip: ChipConfig, arithmetic):
        self.name = group.name
        self.n = group.n
        self.arithmetic = arithmetic
        self.registers = dict(arithmetic.registers)
        self.du = group.decay_u.astype(np.int64)
        self.dv = group.decay_v.astype(np.int64)
        self.vth = group.vth.astype(np.int64) << chip.neuron.vth_shift
        self.bias_exp = group.bias_exp.astype(np.int64)
        self.set_bias_mant(group.bias_mant)
        self.refract = group.refract_delay.astype(np.int64)
        self.reset = _reset_code(group, chip)
        self.vmin, self.vmax = _voltage_limits(group, chip)
        self.u = _initial(group, "u_init", chip.neuron.u_bits)
        self.v = _initial(group, "v_init", chip.neuron.v_bits)
        self.ref_count = np.zeros(self.n, dtype=np.int64)
        self.output = np.zeros(self.n, dtype=np.bool_)
        self._no_input = np.zeros(self.n, dtype=np.int64)

    def set_bias_mant(self, bias_mant: np.ndarray) -> None:
        """Set the bias mantissas; the bias is ``bias_mant`` shifted by bias_exp."""
        self.bias = shift(np.asarray(bias_mant, dtype=np.int64), self.bias_exp)

    def update(self, total: np.ndarray | None, t: int) -> None:
        """Integrate ``total`` input (None: no synapses), spike and reset."""
        arithmetic = self.arithmetic
        events = np.zeros(4, dtype=np.int64)
        first_index = np.zeros(4, dtype=np.int64)
        first_value = np.zeros(4, dtype=np.int64)
        kernels.lif_step(
            arithmetic.mode,
            self.u,
            self.v,
            self._no_input if total is None else total,
            self.du,
            self.dv,
            self.bias,
            self.vth,
            self.refract,
            self.ref_count,
            self.output,
            arithmetic.widths,
            arithmetic.policies,
            self.reset,
            self.vmin,
            self.vmax,
            events,
            first_index,
            first_value,
        )
        for slot in np.flatnonzero(events):
            arithmetic.log.add(
                self.name,
                kernels.REGISTER_NAMES[slot],
                int(events[slot]),
                int(first_index[slot]),
                int(first_value[slot]),
            )

    def read(self, variable: str) -> np.ndarray:
        """Return the probed variable: ``spikes``, ``u`` or ``v``."""
        return self.output if variable == "spikes" else getattr(self, variable)


def _reset_code(group: CompartmentGroup, chip: ChipConfig) -> int:
    if group.reset_mode == "subtract" and chip.reference != "lava":
        raise BackendError(
            f"compartment group {group.name!r}: reset_mode 'subtract' cannot run "
            f"on {chip.name!r}, whose reference (nengo-loihi 1.1.0's emulator) "
            "always resets v to 0 after a spike; use reset_mode='zero' or a "
            "target whose reference is Lava (loihi2)"
        )
    return _RESET_CODES[group.reset_mode]


def _voltage_limits(group: CompartmentGroup, chip: ChipConfig) -> tuple[int, int]:
    """Return the group's (vmin, vmax), the v register's range where unset."""
    limit = (1 << (chip.neuron.v_bits - 1)) - 1
    vmin = -limit if group.vmin is None else group.vmin
    vmax = limit if group.vmax is None else group.vmax
    if vmin < -limit or vmax > limit:
        raise ValidationError(
            f"compartment group {group.name!r}: voltage limits [{vmin}, {vmax}] "
            f"exceed the {chip.neuron.v_bits}-bit v register of {chip.name!r} "
            f"([{-limit}, {limit}]); use vmin/vmax inside it or None"
        )
    return vmin, vmax


def _initial(group: CompartmentGroup, field: str, bits: int) -> np.ndarray:
    """Return the initial register values of ``field``, checked against ``bits``."""
    value = getattr(group, field)
    if value is None:
        return np.zeros(group.n, dtype=np.int64)
    limit = (1 << (bits - 1)) - 1
    if np.any(np.abs(value) > limit):
        raise ValidationError(
            f"compartment group {group.name!r}: {field} reaches "
            f"{int(np.max(np.abs(value)))}, beyond the {bits}-bit register "
            f"(|value| <= {limit}); scale the initial state down"
        )
    return value.astype(np.int64).copy()


class AstrocyteState:
    """Calcium trace and graded output of one astrocyte group.

    Each step ``c`` decays like a compartment current, with the chip's current
    decay offset. It then gains its input in compartment-current units: in
    Lava mode the synapses send unshifted sums, so the input is shifted by
    ``act_shift`` first. ``c`` is clipped to ``+/-(2**(c_bits-1) - 1)`` and
    ``c >> out_shift`` is sent as a graded spike. A binary synapse from an
    astrocyte sees a spike wherever the output is non-zero, as Lava's Dense
    does with ``num_message_bits = 0``.
    """

    def __init__(self, group: AstrocyteGroup, chip: ChipConfig, arithmetic):
        self.name = group.name
        self.n = group.n
        self.neuron = chip.neuron
        self.log = arithmetic.log
        # nengo-loihi chip weights already hold the activation shift
        self.input_shift = chip.neuron.act_shift if arithmetic.lava else 0
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
            x = x + (total << self.input_shift)
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
