"""Spiking neuron-astrocyte sequence memory as a Lava process graph.

Each Hopfield unit ``i`` is an on/off pair of LIF neurons: the on neuron
receives ``+beta * h_i`` and the off neuron ``-beta * h_i`` as synaptic
current, so the unit's output ``s_i = r_on - r_off`` (spikes per step) is a
rectified, saturating version of ``tanh(beta * h_i)``. The synaptic current
filter (time constant ``tau_n``) plays the role of the rate model's neuron
time constant. Each unit has one astrocyte (the :class:`Astrocyte` process)
that low-pass filters ``s_i`` with ``tau_a`` and drives every neuron through
graded spikes and the transition weights ``gain * J_a``::

    LIF(2N) --Dense(rec: J_s)--------------------------> LIF(2N)
    LIF(2N) --Dense(+-1)--> Astrocyte(N) --Dense(J_a, graded)--> LIF(2N)

Units: ``vth`` is the threshold in v units; a synaptic input of ``beta * h``
times ``vth`` on the current drives a neuron at about one spike per step.
Float parameters are the unrounded values in the chip's integer units, so the
float and fixed-point graphs differ by quantization only.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from glia_neuromorphic.errors import QuantizationError, ValidationError
from glia_neuromorphic.hwconfig import ChipConfig
from glia_neuromorphic.models.astro_sequence.params import AstroParams
from glia_neuromorphic.models.astro_sequence.patterns import check_sequence_inputs
from glia_neuromorphic.quantize import (
    ParamReport,
    QuantizedDecay,
    decay_from_tau,
    quantize_bias,
    quantize_threshold,
    quantize_weights,
)

#: Threshold mantissa; v crosses ``VTH_MANT << vth_shift``. Chosen so that the
#: largest current (about 75 thresholds at beta = 30) stays inside 24 bits.
VTH_MANT = 256
#: Membrane time constant of the LIF neurons (seconds). The leak bounds how far
#: v of a silent neuron falls, so it can fire again within a few steps.
TAU_M = 0.005
#: Weight (integer units) from each neuron of a pair to its astrocyte.
ASTRO_INPUT_WEIGHT = 16
#: Target size of the largest astrocyte output mantissa.
ASTRO_MANTISSA_TARGET = 160
#: Fewest graded-payload levels of a full trace (a unit held at s = 1). The
#: traces of all units of a memory rise together, so one payload step moves
#: the whole astrocytic drive at once. At N = 1000 the mantissa target alone
#: leaves 4 levels, and the fixed-point dwells then differ from float by up
#: to 33 %; with 16 levels they stay within 6 %.
ASTRO_PAYLOAD_LEVELS = 16


@dataclasses.dataclass
class Layer:
    """One synapse group: float weights (integer units) and their quantization."""

    name: str
    float_weights: np.ndarray
    mantissa: np.ndarray
    exp: int
    num_message_bits: int
    report: ParamReport

    def lava_float_weights(self, act_shift: int, to_lif: bool) -> np.ndarray:
        """Return the weights a float Lava Dense needs to act like the chip."""
        scale = float(2**act_shift) if to_lif else 1.0
        return self.float_weights * scale


@dataclasses.dataclass
class SpikingDesign:
    """Every parameter of the spiking graph, float and quantized."""

    n_units: int
    chip: ChipConfig
    params: AstroParams
    vth_mant: int
    vth: float
    decay_u: QuantizedDecay
    decay_v: QuantizedDecay
    decay_astro: QuantizedDecay
    out_shift: int
    rec: Layer
    astro_in: Layer
    astro_out: Layer
    cue_bias: np.ndarray
    cue_bias_mant: np.ndarray
    cue_bias_exp: np.ndarray
    cue_report: ParamReport

    def quantization_summary(self) -> dict:
        """Return the quantization report as JSON-ready data."""
        return {
            "decays": [
                d.to_dict() for d in (self.decay_u, self.decay_v, self.decay_astro)
            ],
            "weights": [
                layer.report.to_dict()
                for layer in (self.rec, self.astro_in, self.astro_out)
            ],
            "bias": [self.cue_report.to_dict()],
            "vth_mant": self.vth_mant,
            "astro_out_shift": self.out_shift,
        }


def pair_matrix(weights: np.ndarray) -> np.ndarray:
    """Expand unit weights ``(N, M)`` to on/off neuron weights ``(2N, 2M)``.

    Neurons ``0..N-1`` are the on neurons and ``N..2N-1`` the off neurons; a
    unit's output is (on spikes) - (off spikes) and the off neurons receive
    the negated input.
    """
    return np.block([[weights, -weights], [-weights, weights]])


def _layer(name, weights, chip, num_message_bits=0, exp=None) -> Layer:
    q = quantize_weights(weights, chip, name=name, exp=exp)
    return Layer(name, weights, q.mantissa, q.exp, num_message_bits, q.report)


def _astro_out_shift(k: float, c_scale: float, n: int, chip: ChipConfig) -> int:
    """Choose the graded-output shift so the output weights use most mantissa bits.

    ``k`` is the largest output weight at shift 0. Larger shifts make the
    weights larger but the graded payload coarser: the product of the two is
    fixed, so the shift trades weight precision for payload precision. The
    shift aims at weights of ``ASTRO_MANTISSA_TARGET`` but keeps at least
    ``ASTRO_PAYLOAD_LEVELS`` payload levels for a full trace (``c_scale``).
    The payload times the weights summed over ``n`` inputs must stay within
    the accumulator.
    """
    exp_min = chip.synapse.weight_exp_min
    shift = math.ceil(math.log2(ASTRO_MANTISSA_TARGET / (k * 2.0**-exp_min)))
    shift = min(shift, math.floor(math.log2(c_scale / ASTRO_PAYLOAD_LEVELS)))
    shift = max(shift, 0)
    payload_bits = chip.synapse.graded_spike_bits
    if payload_bits == 0:
        raise ValidationError(
            f"target {chip.name!r} has no graded spikes (synapse.graded_spike_bits "
            "= 0); run the Lava graph on a Loihi 2 target, or use the Nengo "
            "version of this model for Loihi 1"
        )
    peak = c_scale / 2**shift
    if peak >= 2 ** (payload_bits - 1):
        raise QuantizationError(
            f"astrocyte output {peak:.0f} needs more than {payload_bits} payload bits"
        )
    acc_bound = n * (2**chip.synapse.weight_mant_bits) * peak
    if acc_bound >= 2 ** (chip.neuron.accumulator_bits - 1):
        raise QuantizationError(
            f"astrocyte output weights can sum to {acc_bound:.3g}, beyond the "
            f"{chip.neuron.accumulator_bits}-bit accumulator; use fewer units"
        )
    return shift


def design(
    params: AstroParams,
    j_s: np.ndarray,
    j_a: np.ndarray,
    cue: np.ndarray,
    chip: ChipConfig,
    mask: np.ndarray | None = None,
) -> SpikingDesign:
    """Compute float parameters in integer units and quantize them for ``chip``."""
    j_s, j_a, cue = check_sequence_inputs(j_s, j_a, cue)
    n = j_s.shape[0]
    dt = params.dt
    act = 2**chip.neuron.act_shift
    decay_u = decay_from_tau(params.tau_n, dt, chip, name="neuron current (tau_n)")
    decay_v = decay_from_tau(
        TAU_M, dt, chip, name="neuron voltage (tau_m)", register="v"
    )
    decay_astro = decay_from_tau(
        params.tau_a, dt, chip, name="astrocyte trace (tau_a)", register="u"
    )
    vth_mant = VTH_MANT
    vth = float(vth_mant * 2**chip.neuron.vth_shift)
    quantize_threshold(vth, chip, name="neurons")

    # A presynaptic rate r adds r * w to the current each step, so the filtered
    # current settles at r * w / (dt / tau_n); w = beta * J * vth * dt / tau_n
    # makes the current beta * h * vth.
    d_u = dt / params.tau_n
    rec_float = pair_matrix(params.beta * j_s * vth * d_u) / act
    rec = _layer("recurrent (J_s)", rec_float, chip)

    unit_in = np.hstack([np.eye(n), -np.eye(n)]) * ASTRO_INPUT_WEIGHT
    astro_in = _layer("astrocyte input", unit_in, chip, exp=0)

    # The trace of a unit held at s = 1 settles at c_scale.
    c_scale = ASTRO_INPUT_WEIGHT * act / (dt / params.tau_a)
    j_ast = params.gain * (j_a if mask is None else j_a * mask)
    unit_out = params.beta * j_ast * vth * d_u / c_scale / act
    k = float(np.abs(unit_out).max()) if unit_out.size else 0.0
    out_shift = _astro_out_shift(k, c_scale, n, chip) if k > 0 else 0
    astro_out = _layer(
        "astrocyte output (gain * J_a)",
        np.vstack([unit_out, -unit_out]) * 2**out_shift,
        chip,
        num_message_bits=chip.synapse.graded_spike_bits,
    )

    # The cue enters like a current of beta * I_ext * vth, added to v as a bias.
    cue_bias = np.concatenate([cue, -cue]) * params.beta * vth
    bias_mant, bias_exp, bias_report = quantize_bias(cue_bias, chip, name="cue bias")
    return SpikingDesign(
        n_units=n,
        chip=chip,
        params=params,
        vth_mant=vth_mant,
        vth=vth,
        decay_u=decay_u,
        decay_v=decay_v,
        decay_astro=decay_astro,
        out_shift=out_shift,
        rec=rec,
        astro_in=astro_in,
        astro_out=astro_out,
        cue_bias=cue_bias,
        cue_bias_mant=bias_mant,
        cue_bias_exp=bias_exp,
        cue_report=bias_report,
    )
