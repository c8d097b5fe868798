"""Lava LIF process models with a voltage floor and reset by subtraction.

Lava 0.10's LIF resets ``v`` to zero after a spike and has no lower voltage
limit. A unit that must fire at ``max(J, 0) / vth`` (a rectified-linear rate)
needs both changes. With reset to zero the overshoot above threshold is lost,
so the rate saturates like ``J / (vth + J / 2)``. Without a floor, a unit
driven below zero integrates a negative voltage that silences it long after
its input turns positive. Loihi 1 has a programmable lower voltage limit;
Loihi 2 runs neuron models as microcode, which can subtract the threshold.

These models subclass Lava's float and bit-accurate LIF models and change only
those two steps; the current and voltage arithmetic (decays, shifts, wrap and
clip of the 24-bit registers) is Lava's. They are selected for the ``LIF``
process through ``Loihi2SimCfg(exception_proc_model_map=...)``.
"""

from __future__ import annotations

import numpy as np
from lava.proc.lif.models import PyLifModelBitAcc, PyLifModelFloat


class RectifiedLifModelFloat(PyLifModelFloat):
    """Float LIF with ``v >= 0`` and reset by subtracting ``vth``."""

    def subthr_dynamics(self, activation_in: np.ndarray) -> None:
        """Update u and v as Lava's float LIF does, then floor v at zero."""
        super().subthr_dynamics(activation_in)
        np.maximum(self.v, 0.0, out=self.v)

    def reset_voltage(self, spike_vector: np.ndarray) -> None:
        """Subtract the threshold from every neuron that spiked."""
        self.v[spike_vector] -= _per_neuron(self.vth, self.v)[spike_vector]


class RectifiedLifModelFixed(PyLifModelBitAcc):
    """Lava's bit-accurate LIF arithmetic with ``v >= 0`` and subtractive reset."""

    def subthr_dynamics(self, activation_in: np.ndarray) -> None:
        """Update u and v bit-accurately, then floor v at zero."""
        super().subthr_dynamics(activation_in)
        np.maximum(self.v, 0, out=self.v)

    def reset_voltage(self, spike_vector: np.ndarray) -> None:
        """Subtract the scaled threshold ``vth << vth_shift`` from spiking neurons."""
        self.v[spike_vector] -= _per_neuron(self.effective_vth, self.v)[spike_vector]


def _per_neuron(threshold, v: np.ndarray) -> np.ndarray:
    """Return a scalar or per-neuron threshold as one value per neuron of ``v``."""
    return np.broadcast_to(threshold, v.shape)


def clipped_float_model(v_floor: float, v_ceiling: float) -> type:
    """Return Lava's float LIF model with v clipped like the 24-bit register.

    Lava's float LIF leaves ``v`` unbounded while its bit-accurate model clips
    it; the float reference of an unchanged LIF uses this class so that both
    runs saturate at the same voltage.
    """

    class ClippedLifModelFloat(PyLifModelFloat):
        """Lava float LIF whose voltage saturates at the register range."""

        def subthr_dynamics(self, activation_in: np.ndarray) -> None:
            super().subthr_dynamics(activation_in)
            np.clip(self.v, v_floor, v_ceiling, out=self.v)

    return ClippedLifModelFloat


class SaturatingLifModelFloat(RectifiedLifModelFloat):
    """Float LIF with ``0 <= v <= 2 vth`` and subtractive reset.

    The ceiling discards input beyond one spike per step, so the rate is
    ``clip(J / vth, 0, 1)`` spikes per step for a constant input ``J``: one
    half of a hard-tanh on/off pair.
    """

    def subthr_dynamics(self, activation_in: np.ndarray) -> None:
        """Update u and v as Lava's float LIF does, then clip v to [0, 2 vth]."""
        super().subthr_dynamics(activation_in)
        np.minimum(self.v, 2.0 * self.vth, out=self.v)


class SaturatingLifModelFixed(RectifiedLifModelFixed):
    """Bit-accurate :class:`SaturatingLifModelFloat`, ``v`` in [0, 2 effective_vth]."""

    def subthr_dynamics(self, activation_in: np.ndarray) -> None:
        """Update u and v bit-accurately, then clip v to [0, 2 effective_vth]."""
        super().subthr_dynamics(activation_in)
        np.minimum(self.v, 2 * self.effective_vth, out=self.v)
