"""Spiking export of a ReLU assembly: Lava LIF neurons run with Loihi2SimCfg.

Mapping (NEF principle 3 with one neuron per unit):

- every unit is a LIF compartment without voltage leak (``dv = 0``), so its
  spike rate is ``max(J, 0) / vth`` for an input ``J`` per step;
- the module time constant ``tau`` is the compartment current decay, so the
  current ``u`` is the rate model's synaptic state ``s`` scaled by
  ``kappa = rate_scale * vth`` (``rate_scale``: spikes per step per unit rate);
- recurrent weights ``vth * W / tau_s``, which is ``tau_s W`` in NEF terms
  for spike impulses of area ``1/dt``. The self-feedback ``1 - tau_s / tau``
  of principle 3 is zero because the current decay itself is ``tau``;
- the linear coupling ``L x`` needs ``x`` itself, which one ReLU neuron cannot
  carry, so every unit of a coupled assembly gets an "off" twin that fires at
  ``max(-x, 0)``; ``x = on - off`` and the twin receives the negated input;
- inputs ``U u + b`` are biases, changed between run segments (one per item).

Neuron models (``neuron``): ``relu`` (default) floors ``v`` at zero and resets
by subtracting the threshold, so the rate is rectified-linear; ``lif`` is
Lava's LIF unchanged (reset to zero, ``v`` only limited by the 24-bit
register), with ``vth`` chosen so the register floor is ``negative_range``
thresholds below zero. See ``lava_models`` for why the default differs from
Lava's LIF.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any

import numpy as np
import scipy.sparse

from glia_neuromorphic.contraction import quantize_weights
from glia_neuromorphic.errors import BackendError, QuantizationError, ValidationError
from glia_neuromorphic.hwconfig import ChipConfig
from glia_neuromorphic.models.contracting_rnn.network import Assembly

logger = logging.getLogger(__name__)

#: Largest allowed |tau_eff / tau - 1| after decay quantization.
TAU_TOLERANCE = 0.05


@dataclasses.dataclass
class SpikingNetwork:
    """Float parameters of the spiking network, in Lava's float LIF units.

    Attributes
    ----------
    weights : ndarray, shape (neurons, neurons)
        Synaptic weights (post, pre); neurons are the on units, then the off
        twins (if the assembly is coupled).
    vth : float
        Threshold.
    tau_s : float
        Current decay time constant in steps (``du = 1 / tau_s``).
    neuron : str
        ``relu`` (voltage floor at zero, subtractive reset) or ``lif``.
    rate_scale : float
        Spikes per step per unit rate.
    n_units : int
        On neurons (the units of the rate model).
    time_scale : int
        Spiking steps per rate-model step.
    steps_per_item, readout_steps : int
        Steps per sequence item and length of the readout window (spiking steps).
    """

    weights: np.ndarray
    vth: float
    tau_s: float
    neuron: str
    rate_scale: float
    n_units: int
    time_scale: int
    steps_per_item: int
    readout_steps: int

    @property
    def n_neurons(self) -> int:
        """Return the number of LIF neurons per network copy."""
        return len(self.weights)

    @property
    def kappa(self) -> float:
        """Return the input per step that stands for one unit of ``x``."""
        return self.rate_scale * self.vth

    def bias(self, drive: np.ndarray) -> np.ndarray:
        """Return neuron biases for unit drives ``U u + b`` of shape (..., n_units)."""
        on = self.kappa * drive
        return on if self.n_neurons == self.n_units else np.concatenate([on, -on], -1)

    def current(self, s: np.ndarray) -> np.ndarray:
        """Return neuron currents ``u`` for rate-model states ``s`` (..., n_units)."""
        on = self.kappa * s
        return on if self.n_neurons == self.n_units else np.concatenate([on, -on], -1)

    def features(self, counts: np.ndarray) -> np.ndarray:
        """Return rate-model features from readout-window spike counts per neuron.

        ``counts`` has shape (batch, n_neurons); the feature of a unit is the
        mean ``phi(x)`` over the window, here the on-neuron rate over
        ``rate_scale``.
        """
        return counts[:, : self.n_units] / (self.rate_scale * self.readout_steps)


def export(
    assembly: Assembly,
    chip: ChipConfig,
    max_x: float,
    max_drive: float,
    time_scale: int = 4,
    peak_rate: float = 0.6,
    neuron: str = "relu",
    negative_range: float = 4.0,
) -> SpikingNetwork:
    """Map a trained ReLU assembly onto LIF neurons (float parameters).

    Parameters
    ----------
    chip : ChipConfig
        Supplies the voltage and bias widths that bound ``vth``.
    max_x : float
        Largest unit input ``x`` of the rate model on calibration data; it
        fires at ``peak_rate`` spikes per step.
    max_drive : float
        Largest ``|U u + b|``; its bias must fit the chip's bias format.
    time_scale : int
        Spiking steps per rate-model step; ``tau_s = tau * time_scale``.
    peak_rate : float
        Spikes per step at ``max_x`` (below 1).
    neuron : {"relu", "lif"}
        Neuron model, see the module docstring.
    negative_range : float
        For ``lif``: depth of the register floor in thresholds. ``relu`` only
        needs ``v`` to hold up to two thresholds.

    Raises
    ------
    BackendError
        For tanh modules, which would need on/off pairs inside the module.
    """
    if assembly.nonlinearity != "relu":
        raise BackendError(
            f"export maps ReLU modules only, got {assembly.nonlinearity!r}; "
            "use export_tanh for tanh and hardtanh modules"
        )
    if neuron not in ("relu", "lif"):
        raise ValidationError(f"neuron must be 'relu' or 'lif', got {neuron!r}")
    if time_scale < 1 or not 0 < peak_rate < 1 or max_x <= 0:
        raise ValidationError(
            f"need time_scale >= 1, 0 < peak_rate < 1 and max_x > 0, got "
            f"{time_scale}, {peak_rate}, {max_x}"
        )
    fmt = chip.neuron
    rate_scale = peak_rate / max_x
    v_max = 2 ** (fmt.v_bits - 1) - 1
    bias_top = (2 ** (fmt.bias_mant_bits - 1) - 1) * 2**fmt.bias_exp_max
    # v must reach down to the floor (lif) or up to two thresholds (relu),
    # and the bias of max_drive must fit the bias format
    depth = negative_range if neuron == "lif" else 2.0
    vth_floor = v_max / (2**chip.neuron.vth_shift * depth)
    vth_bias = bias_top / (2**fmt.act_shift * rate_scale * max(max_drive, 1e-9))
    vth = math.floor(min(vth_floor, vth_bias, 2**fmt.vth_mant_bits - 1))
    tau_s = assembly.tau * time_scale
    a = 1.0 / tau_s
    L = assembly.L
    on_block = a * vth * (assembly.W + L)
    if np.any(L != 0):
        off_block = -a * vth * L
        weights = np.block([[on_block, off_block], [-on_block, -off_block]])
    else:
        weights = on_block
    return SpikingNetwork(
        weights=weights,
        vth=float(vth),
        tau_s=tau_s,
        neuron=neuron,
        rate_scale=rate_scale,
        n_units=assembly.n_units,
        time_scale=time_scale,
        steps_per_item=assembly.steps_per_item * time_scale,
        readout_steps=assembly.readout_steps * time_scale,
    )


@dataclasses.dataclass
class FixedPointNetwork:
    """Integer parameters for Lava's bit-accurate LIF and Sparse models.

    Attributes
    ----------
    weights : ndarray of int
        Lava weights: even values in [-256, 254] (8-bit mixed-sign mantissa
        times 2, as Lava stores mixed-sign weights).
    weight_exp : int
        Lava's weight exponent (the mantissa exponent minus one).
    vth : int
        Threshold mantissa (``vth << vth_shift`` is compared with ``v``).
    du : int
        Stored current decay (the effective decay is ``du + decay_u_offset``).
    bias_exp : int
        Shared bias exponent.
    report : dict
        Quantization report: tau_eff, weight error, bias exponent, ...
    """

    weights: np.ndarray
    weight_exp: int
    vth: int
    du: int
    bias_exp: int
    report: dict[str, Any]
    dequantized_weights: np.ndarray

    def bias(self, net: SpikingNetwork, drive: np.ndarray, chip: ChipConfig):
        """Return bias mantissas for unit drives, raising if one does not fit."""
        scaled = net.bias(drive) * 2**chip.neuron.act_shift / 2**self.bias_exp
        mant = np.rint(scaled).astype(np.int64)
        top = 2 ** (chip.neuron.bias_mant_bits - 1) - 1
        if np.any(np.abs(mant) > top):
            raise QuantizationError(
                f"contracting-rnn bias: mantissa {int(np.max(np.abs(mant)))} exceeds "
                f"{top} at bias_exp {self.bias_exp} because an input drives a unit "
                "beyond the calibrated range; calibrate with these inputs or lower "
                "peak_rate"
            )
        return mant


def quantize(net: SpikingNetwork, chip: ChipConfig, max_drive: float):
    """Quantize a spiking network for the chip's LIF and synapse formats.

    Parameters
    ----------
    max_drive : float
        Largest ``|U u + b|`` the network will see; sets the bias exponent.

    Raises
    ------
    QuantizationError
        If the current decay is off by more than 5 % or the biases do not fit.
    """
    neuron, synapse = chip.neuron, chip.synapse
    unity = chip.decay_unity
    delta = round(unity / net.tau_s)
    tau_eff = unity / delta
    if abs(tau_eff / net.tau_s - 1) > TAU_TOLERANCE:
        raise QuantizationError(
            f"contracting-rnn: tau_s {net.tau_s} steps becomes {tau_eff:.2f} steps "
            f"with {neuron.decay_bits}-bit decays; pick a time_scale giving "
            f"{unity}/delta steps for an integer delta"
        )
    q = quantize_weights(
        net.weights,
        synapse.weight_mant_bits,
        synapse.weight_exp_min + 1,
        synapse.weight_exp_max + 1,
    )
    bias_top = (2 ** (neuron.bias_mant_bits - 1) - 1) * 2**neuron.bias_exp_max
    peak_bias = net.kappa * max_drive * 2**neuron.act_shift
    if peak_bias > bias_top:
        raise QuantizationError(
            f"contracting-rnn: bias up to {peak_bias:.0f} exceeds the largest "
            f"bias {bias_top} of {chip.name}; export with a peak_rate "
            f"{bias_top / peak_bias:.3f} times the current one"
        )
    bias_exp = max(
        0,
        math.ceil(
            math.log2(max(peak_bias, 1) / (2 ** (neuron.bias_mant_bits - 1) - 1))
        ),
    )
    vth = int(round(net.vth))
    error = np.abs(q.values - net.weights)
    report = {
        "tau_s": net.tau_s,
        "tau_eff": tau_eff,
        "du": delta - neuron.decay_u_offset,
        "weight_exp": q.exponent - 1,
        "weight_max_abs_error": float(error.max()),
        "weight_rel_error": float(error.max() / np.max(np.abs(net.weights))),
        "weights_clipped": q.clipped,
        "vth": vth,
        "bias_exp": bias_exp,
    }
    return FixedPointNetwork(
        weights=2 * q.mantissa,
        weight_exp=q.exponent - 1,
        vth=vth,
        du=delta - neuron.decay_u_offset,
        bias_exp=bias_exp,
        report=report,
        dequantized_weights=q.values,
    )


def _run_config(net: SpikingNetwork, chip: ChipConfig, fixed_point: bool):
    """Return the Loihi2SimCfg with the LIF model for ``net.neuron``."""
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.lif.process import LIF

    from glia_neuromorphic.models.contracting_rnn import lava_models

    tag = "fixed_pt" if fixed_point else "floating_pt"
    models = {
        "saturating": (
            lava_models.SaturatingLifModelFloat,
            lava_models.SaturatingLifModelFixed,
        ),
        "relu": (
            lava_models.RectifiedLifModelFloat,
            lava_models.RectifiedLifModelFixed,
        ),
    }
    if net.neuron in models:
        model = models[net.neuron][int(fixed_point)]
        return Loihi2SimCfg(select_tag=tag, exception_proc_model_map={LIF: model})
    if fixed_point:
        return Loihi2SimCfg(select_tag=tag)
    v_max = (2 ** (chip.neuron.v_bits - 1) - 1) / 2**chip.neuron.act_shift
    model = lava_models.clipped_float_model(-v_max, v_max)
    return Loihi2SimCfg(select_tag=tag, exception_proc_model_map={LIF: model})


def run_lava(
    net: SpikingNetwork,
    drives: np.ndarray,
    chip: ChipConfig,
    fixed: FixedPointNetwork | None = None,
    s0: np.ndarray | None = None,
    probe_current: bool = False,
) -> dict[str, np.ndarray]:
    """Run copies of the network, one per sequence, in one Lava graph.

    Parameters
    ----------
    drives : ndarray, shape (batch, items, n_units)
        Unit drives ``U u + b`` per sequence item.
    fixed : FixedPointNetwork, optional
        Run Lava's bit-accurate models with these integers (``fixed_pt``);
        without it the float models run (``floating_pt``).
    s0 : ndarray, shape (batch, n_units), optional
        Initial rate-model state, mapped to initial currents.
    probe_current : bool
        Record the current ``u`` of the on neurons at every step.

    Returns
    -------
    dict
        ``counts`` (batch, n_units) and ``neuron_counts`` (batch, n_neurons):
        spike counts of the on neurons and of all neurons in the readout
        window; ``features`` (batch, n_units): the rate-model feature from
        ``net.features``; with ``probe_current``: ``s`` (steps, batch,
        n_units), the current converted back to rate-model units.
    """
    from lava.magma.core.run_conditions import RunSteps
    from lava.proc.io.sink import RingBuffer
    from lava.proc.lif.process import LIF
    from lava.proc.monitor.process import Monitor
    from lava.proc.sparse.process import Sparse
    from lava.utils.weightutils import SignMode

    batch, items, _ = drives.shape
    size = batch * net.n_neurons
    unit_scale = 2.0**chip.neuron.act_shift if fixed is not None else 1.0
    if fixed is None:
        weights = net.weights
        params = {"du": 1.0 / net.tau_s, "vth": net.vth}
        bias = net.bias(drives)
        bias_exp = 0
    else:
        weights = fixed.weights
        params = {"du": fixed.du, "vth": fixed.vth}
        bias = fixed.bias(net, drives, chip)
        bias_exp = fixed.bias_exp
    u0 = np.zeros((batch, net.n_neurons))
    if s0 is not None:
        u0 = net.current(np.asarray(s0, float)) * unit_scale
        if fixed is not None:
            u0 = np.rint(u0)

    lif = LIF(
        shape=(size,),
        dv=0,
        bias_mant=bias[:, 0].reshape(-1),
        bias_exp=bias_exp,
        u=u0.reshape(-1),
        **params,
    )
    block = scipy.sparse.kron(scipy.sparse.eye(batch), scipy.sparse.csr_matrix(weights))
    extra = {}
    if fixed is not None:
        # Lava doubles mixed-sign mantissas, which FixedPointNetwork.weights
        # already contains; fixing the mode keeps single-sign layers consistent
        extra = {
            "weight_exp": fixed.weight_exp,
            "num_weight_bits": chip.synapse.weight_mant_bits,
            "sign_mode": SignMode.MIXED,
        }
    synapses = Sparse(weights=block.tocsr(), **extra)
    lif.s_out.connect(synapses.s_in)
    synapses.a_out.connect(lif.a_in)
    sink = RingBuffer(shape=(size,), buffer=net.readout_steps)
    lif.s_out.connect(sink.a_in)
    monitor = None
    total = items * net.steps_per_item
    if probe_current:
        monitor = Monitor()
        monitor.probe(lif.u, total)

    config = _run_config(net, chip, fixed is not None)
    try:
        for item in range(items):
            if item > 0:
                lif.bias_mant.set(
                    bias[:, item]
                    .reshape(-1)
                    .astype(float if fixed is None else np.int64)
                )
            lif.run(condition=RunSteps(num_steps=net.steps_per_item), run_cfg=config)
        spikes = sink.data.get().reshape(batch, net.n_neurons, -1)
        out = {
            "counts": spikes[:, : net.n_units].sum(axis=-1),
            "neuron_counts": spikes.sum(axis=-1),
        }
        if monitor is not None:
            u = monitor.get_data()[lif.name]["u"].reshape(total, batch, net.n_neurons)
            out["s"] = u[:, :, : net.n_units] / unit_scale / net.kappa
    finally:
        lif.stop()
    out["features"] = net.features(out["neuron_counts"])
    return out


# --- tanh and hardtanh modules: saturating on/off pairs


@dataclasses.dataclass
class TanhSpikingNetwork(SpikingNetwork):
    """Spiking export of a tanh or hardtanh assembly (``neuron="saturating"``).

    Every unit has a saturating on/off pair whose rates are ``clip(x, 0, 1)``
    and ``clip(-x, 0, 1)`` spikes per step, so ``phi(x) = on - off`` is
    ``clip(x, -1, 1)``. A coupled assembly also needs ``x`` itself for
    ``L x``, so each unit gets a second, linear pair firing at
    ``linear_scale * max(+-x, 0)`` (below saturation in the calibrated range).
    Neurons are ordered: saturating on, saturating off, then linear on and
    linear off if coupled. ``rate_scale`` is 1.

    Attributes
    ----------
    linear_scale : float
        Spikes per step per unit ``x`` of the linear pair (0 if uncoupled).
    """

    linear_scale: float = 0.0

    def _gains(self) -> list[float]:
        """Return the input per step per unit ``x`` of each neuron group."""
        gains = [self.kappa, -self.kappa]
        if self.linear_scale > 0:
            linear = self.linear_scale * self.vth
            gains += [linear, -linear]
        return gains

    def bias(self, drive: np.ndarray) -> np.ndarray:
        """Return neuron biases for unit drives ``U u + b`` of shape (..., n_units)."""
        return np.concatenate([g * drive for g in self._gains()], -1)

    def current(self, s: np.ndarray) -> np.ndarray:
        """Return neuron currents ``u`` for rate-model states ``s`` (..., n_units)."""
        return np.concatenate([g * s for g in self._gains()], -1)

    def features(self, counts: np.ndarray) -> np.ndarray:
        """Return the mean ``phi(x)``: on minus off count over the readout window."""
        n = self.n_units
        difference = counts[:, :n] - counts[:, n : 2 * n]
        return difference / (self.rate_scale * self.readout_steps)


def export_tanh(
    assembly: Assembly,
    chip: ChipConfig,
    max_x: float,
    max_drive: float,
    time_scale: int = 4,
    peak_rate: float = 0.6,
) -> TanhSpikingNetwork:
    """Map a trained tanh or hardtanh assembly onto saturating LIF pairs.

    The pair realizes ``clip(x, -1, 1)``, a piecewise-linear stand-in for
    ``tanh`` with the same slope range [0, 1], so the module certificates
    (which only use that range) hold for the spiking network unchanged. The
    swap changes what a tanh-trained assembly computes, so its accuracy must
    be measured with hardtanh. Train with ``nonlinearity="hardtanh"`` for an
    exact match of the rate model.

    Parameters
    ----------
    max_x : float
        Largest ``|x|`` on calibration data; the linear pair of a coupled
        assembly fires at ``peak_rate`` spikes per step there.
    max_drive : float
        Largest ``|U u + b|``; its bias must fit the chip's bias format.
    time_scale, peak_rate
        As in :func:`export`.

    Raises
    ------
    BackendError
        For ReLU assemblies (use :func:`export`).
    """
    if assembly.nonlinearity not in ("tanh", "hardtanh"):
        raise BackendError(
            f"export_tanh maps tanh and hardtanh modules, got "
            f"{assembly.nonlinearity!r}; use export for ReLU modules"
        )
    if time_scale < 1 or not 0 < peak_rate < 1 or max_x <= 0:
        raise ValidationError(
            f"need time_scale >= 1, 0 < peak_rate < 1 and max_x > 0, got "
            f"{time_scale}, {peak_rate}, {max_x}"
        )
    L = assembly.L
    coupled = bool(np.any(L != 0))
    linear_scale = min(peak_rate / max_x, 1.0) if coupled else 0.0

    # the saturating neurons take vth per unit x (one spike per step at
    # x = 1), the largest input gain, so they set the bias range. The voltage
    # must reach two thresholds, the ceiling of the saturating model
    fmt = chip.neuron
    v_max = 2 ** (fmt.v_bits - 1) - 1
    bias_top = (2 ** (fmt.bias_mant_bits - 1) - 1) * 2**fmt.bias_exp_max
    vth_floor = v_max / (2**fmt.vth_shift * 2.0)
    vth_bias = bias_top / (2**fmt.act_shift * max(max_drive, 1e-9))
    vth = math.floor(min(vth_floor, vth_bias, 2**fmt.vth_mant_bits - 1))
    tau_s = assembly.tau * time_scale
    a = 1.0 / tau_s

    # a spike of a saturating pair carries +-1 of phi(x); a spike of a linear
    # pair carries +-1 / linear_scale of x
    linear = linear_scale * vth
    gains = np.array([vth, -vth] + [linear, -linear] * coupled)
    phi_decode = np.array([1.0, -1.0] + [0.0, 0.0] * coupled)
    weights = a * np.kron(np.outer(gains, phi_decode), assembly.W)
    if coupled:
        x_decode = np.array([0.0, 0.0, 1.0, -1.0]) / linear_scale
        weights += a * np.kron(np.outer(gains, x_decode), L)
    return TanhSpikingNetwork(
        weights=weights,
        vth=float(vth),
        tau_s=tau_s,
        neuron="saturating",
        rate_scale=1.0,
        n_units=assembly.n_units,
        time_scale=time_scale,
        steps_per_item=assembly.steps_per_item * time_scale,
        readout_steps=assembly.readout_steps * time_scale,
        linear_scale=linear_scale,
    )


def tanh_weights(net: TanhSpikingNetwork, weights: np.ndarray):
    """Return the ``W`` and ``L`` that exported (or dequantized) weights encode.

    ``W`` is read from the saturating-on to saturating-on block and ``L`` from
    the linear-on to saturating-on block (zero if uncoupled), each divided by
    its scale, so a quantized network can be certified again.
    """
    n = net.n_units
    a_vth = net.vth / net.tau_s
    W = weights[:n, :n] / a_vth
    L = np.zeros_like(W)
    if net.linear_scale > 0:
        L = weights[:n, 2 * n : 3 * n] * net.linear_scale / a_vth
    return W, L
