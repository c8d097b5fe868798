"""Quantize weights, decays, thresholds and biases to a target's fixed point.

Every function takes the chip description (:class:`~glia_neuromorphic.hwconfig.
ChipConfig`) and reads all widths from it. Float inputs are in *integer units*:
a weight of 3.0 means "add 3 to the synaptic input at weight exponent 0"; the
caller chooses the scale between model units and integer units.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any

import numpy as np
import scipy.sparse

from glia_neuromorphic.errors import QuantizationError, ValidationError
from glia_neuromorphic.hwconfig import ChipConfig

logger = logging.getLogger(__name__)

ROUNDING_MODES = ("nearest", "stochastic")
SIGN_MODES = ("mixed", "excitatory", "inhibitory")
#: Largest relative error of an effective time constant a build accepts.
TAU_TOLERANCE = 0.05


@dataclasses.dataclass
class ParamReport:
    """Quantization error of one parameter group.

    Relative errors are over the non-zero float values; ``n_zeroed`` counts
    non-zero floats that became integer 0 (for weights: lost synapses) and
    ``n_saturated`` the values clipped to the end of the integer range.
    """

    name: str
    kind: str
    n_values: int
    float_min: float
    float_max: float
    int_min: int
    int_max: int
    exponent: int | None
    max_rel_error: float
    mean_rel_error: float
    n_saturated: int
    n_zeroed: int
    notes: list[str] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return dataclasses.asdict(self)


def check_finite(values: Any, name: str) -> np.ndarray:
    """Return ``values`` as a float array, or raise naming the first bad entry.

    The index is the first non-finite value in row-major order, e.g.
    ``weights[0, 1] is nan``. A scipy sparse matrix is checked without
    densifying and returned as it is.
    """
    if scipy.sparse.issparse(values):
        _check_finite_sparse(values, name)
        return values
    arr = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        index = np.unravel_index(int(np.flatnonzero(bad)[0]), arr.shape)
        where = f"[{', '.join(str(int(i)) for i in index)}]" if arr.ndim else ""
        raise ValidationError(
            f"{name}{where} is {arr[index] if arr.ndim else arr}; every value "
            "must be finite (check for a division by zero or an unnormalized "
            "zero vector upstream)"
        )
    return arr


def _check_finite_sparse(matrix: Any, name: str) -> None:
    """Raise naming the first non-finite stored entry of a sparse matrix."""
    csr = scipy.sparse.csr_matrix(matrix)
    csr.sort_indices()
    bad = np.flatnonzero(~np.isfinite(csr.data))
    if bad.size:
        k = int(bad[0])
        row = int(np.searchsorted(csr.indptr, k, side="right") - 1)
        raise ValidationError(
            f"{name}[{row}, {int(csr.indices[k])}] is {csr.data[k]}; every value "
            "must be finite (check for a division by zero or an unnormalized "
            "zero vector upstream)"
        )


def _round(x: np.ndarray, rounding: str, rng: np.random.Generator | None) -> np.ndarray:
    if rounding == "nearest":
        return np.floor(x + 0.5)
    if rounding == "stochastic":
        if rng is None:
            raise ValidationError(
                "stochastic rounding needs a seeded numpy Generator (pass rng=)"
            )
        return np.floor(x + rng.random(np.shape(x)))
    raise ValidationError(
        f"unknown rounding mode {rounding!r}; use one of {list(ROUNDING_MODES)}"
    )


def param_report(
    name: str,
    kind: str,
    floats: np.ndarray,
    dequant: np.ndarray,
    ints: np.ndarray,
    exponent: int | None,
    saturated: int,
) -> ParamReport:
    """Return the error report of ``floats`` represented as ``dequant``.

    ``ints`` are the stored integers, ``exponent`` their shared exponent (or
    None) and ``saturated`` the number of values clipped to the range.
    """
    nonzero = floats != 0
    rel = np.abs(dequant[nonzero] - floats[nonzero]) / np.abs(floats[nonzero])
    return ParamReport(
        name=name,
        kind=kind,
        n_values=int(floats.size),
        float_min=float(floats.min()) if floats.size else 0.0,
        float_max=float(floats.max()) if floats.size else 0.0,
        int_min=int(ints.min()) if ints.size else 0,
        int_max=int(ints.max()) if ints.size else 0,
        exponent=exponent,
        max_rel_error=float(rel.max()) if rel.size else 0.0,
        mean_rel_error=float(rel.mean()) if rel.size else 0.0,
        n_saturated=int(saturated),
        n_zeroed=int(np.count_nonzero(nonzero & (dequant == 0))),
    )


# --- weights -----------------------------------------------------------------


@dataclasses.dataclass
class QuantizedWeights:
    """Weights as integer mantissas and one exponent: ``w = mantissa * 2**exp``."""

    mantissa: np.ndarray
    exp: int
    sign_mode: str
    report: ParamReport

    def dequantize(self) -> np.ndarray:
        """Return the represented weights in integer units (float array)."""
        return self.mantissa * 2.0**self.exp


def weight_range(chip: ChipConfig, sign_mode: str) -> tuple[int, int, int]:
    """Return ``(min, max, step)`` of legal mantissas for a sign mode.

    Mixed-sign synapses spend one bit on the sign, so their mantissas are
    even numbers; single-sign synapses use every integer up to ``2**bits - 1``.
    """
    bits = chip.synapse.weight_mant_bits
    if sign_mode == "mixed":
        return chip.synapse.mixed_weight_min, 2**bits - 2, 2
    if sign_mode == "excitatory":
        return 0, 2**bits - 1, 1
    if sign_mode == "inhibitory":
        return -(2**bits - 1), 0, 1
    raise ValidationError(
        f"unknown sign mode {sign_mode!r}; use one of {list(SIGN_MODES)}"
    )


def infer_sign_mode(weights: np.ndarray) -> str:
    """Return ``excitatory``, ``inhibitory`` or ``mixed`` from the weight signs."""
    if weights.size == 0 or weights.min() >= 0:
        return "excitatory"
    if weights.max() <= 0:
        return "inhibitory"
    return "mixed"


def _choose_exp(peak_hi: float, peak_lo: float, lo: int, hi: int, step: int, chip):
    """Return the smallest exponent whose range contains the weights.

    Values up to one mantissa step beyond the range are accepted and clipped,
    which keeps one exponent of precision for an edge value such as 255 in a
    mixed-sign group (legal maximum 254).
    """
    exp_min, exp_max = chip.synapse.weight_exp_min, chip.synapse.weight_exp_max
    for exp in range(exp_min, exp_max + 1):
        scale = 2.0**exp
        if peak_hi / scale <= hi + step and peak_lo / scale >= lo - step:
            return exp, False
    return exp_max, True


def quantize_weights(
    weights: Any,
    chip: ChipConfig,
    *,
    name: str = "weights",
    sign_mode: str | None = None,
    rounding: str = "nearest",
    rng: np.random.Generator | None = None,
    exp: int | None = None,
) -> QuantizedWeights:
    """Quantize float weights (integer units) to mantissas and one exponent.

    Parameters
    ----------
    weights : array_like
        Float weights in integer units at exponent 0.
    chip : ChipConfig
        Target chip; mantissa bits and the exponent range come from it.
    name : str
        Synapse group name used in errors, warnings and the report.
    sign_mode : {"mixed", "excitatory", "inhibitory"}, optional
        Declared format; inferred from the signs when omitted. A weight whose
        sign the format cannot express raises QuantizationError.
    rounding : {"nearest", "stochastic"}
        Round half up, or round stochastically (unbiased) with ``rng``.
    exp : int, optional
        Fixed exponent instead of the automatic choice.

    Returns
    -------
    QuantizedWeights
        Mantissas, the exponent and the error report. Values beyond the range
        are clipped, counted in ``report.n_saturated`` and logged as a warning.
    """
    w = check_finite(weights, name)
    mode = infer_sign_mode(w) if sign_mode is None else sign_mode
    lo, hi, step = weight_range(chip, mode)
    if mode == "excitatory" and w.size and w.min() < 0:
        raise QuantizationError(
            f"synapse group {name!r}: weight {w.min():g} is negative but the group "
            "is declared excitatory; declare sign_mode='mixed' or 'inhibitory'"
        )
    if mode == "inhibitory" and w.size and w.max() > 0:
        raise QuantizationError(
            f"synapse group {name!r}: weight {w.max():g} is positive but the group "
            "is declared inhibitory; declare sign_mode='mixed' or 'excitatory'"
        )

    peak_hi = float(w.max()) if w.size else 0.0
    peak_lo = float(w.min()) if w.size else 0.0
    too_large = False
    if exp is None:
        if peak_hi == 0 and peak_lo == 0:
            exp = 0
        else:
            exp, too_large = _choose_exp(peak_hi, peak_lo, lo, hi, step, chip)
    exp = int(exp)

    scaled = w / (2.0**exp) / step
    mant = _round(scaled, rounding, rng) * step
    clipped = np.clip(mant, lo, hi)
    n_sat = int(np.count_nonzero(clipped != mant))
    mant = clipped.astype(np.int64)
    report = param_report(name, "weights", w, mant * 2.0**exp, mant, exp, n_sat)
    if n_sat:
        note = f"{n_sat} weight(s) clipped to [{lo}, {hi}] at exponent {exp}" + (
            " (largest exponent reached)" if too_large else ""
        )
        report.notes.append(note)
        logger.warning("synapse group %r: %s", name, note)
    if report.n_zeroed:
        report.notes.append(
            f"{report.n_zeroed} non-zero weight(s) rounded to 0 (lost synapses)"
        )
    return QuantizedWeights(mant, exp, mode, report)


# --- decays ------------------------------------------------------------------


@dataclasses.dataclass
class QuantizedDecay:
    """A time constant as a stored decay register value.

    ``delta`` is the per-step decay in units of ``2**-decay_bits`` (the stored
    value plus the register's offset); ``tau_eff = dt * 2**decay_bits / delta``
    is the time constant an Euler-integrated float model with the same
    per-step factor has.
    """

    name: str
    tau: float | None
    dt: float
    stored: int
    delta: int
    tau_eff: float | None
    rel_error: float

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return dataclasses.asdict(self)


def decay_from_tau(
    tau: float | None,
    dt: float,
    chip: ChipConfig,
    *,
    name: str,
    register: str = "u",
    tolerance: float = TAU_TOLERANCE,
) -> QuantizedDecay:
    """Return the stored decay for time constant ``tau`` (seconds) at step ``dt``.

    ``register`` is ``"u"`` (current: the chip adds ``decay_u_offset``) or
    ``"v"`` (voltage: ``decay_v_offset``). ``tau=None`` means no decay, which
    only a register without offset can represent.

    Raises
    ------
    QuantizationError
        If the effective time constant differs from ``tau`` by more than
        ``tolerance`` (relative), naming the filter, both time constants and
        the fix.
    """
    if not (isinstance(dt, int | float) and math.isfinite(dt) and dt > 0):
        raise ValidationError(f"{name}: dt is {dt!r}; it must be a positive number")
    unity = chip.decay_unity
    offset = {"u": chip.neuron.decay_u_offset, "v": chip.neuron.decay_v_offset}.get(
        register
    )
    if offset is None:
        raise ValidationError(f"{name}: unknown register {register!r}; use 'u' or 'v'")
    if tau is None:
        if offset:
            raise QuantizationError(
                f"{name}: 'no decay' is not representable on register {register} "
                f"(its decay has an offset of {offset}); give a finite tau"
            )
        return QuantizedDecay(name, None, dt, 0, 0, None, 0.0)
    if not math.isfinite(tau) or tau <= 0:
        raise ValidationError(
            f"{name}: tau is {tau!r}; it must be a positive finite number of "
            "seconds (use tau=None for a voltage without leak)"
        )

    delta = int(np.floor(unity * dt / tau + 0.5))
    delta = min(max(delta, offset, 1), unity)
    stored = delta - offset
    tau_eff = dt * unity / delta
    rel = tau_eff / tau - 1.0
    result = QuantizedDecay(name, float(tau), float(dt), stored, delta, tau_eff, rel)
    if abs(rel) > tolerance:
        raise QuantizationError(
            f"{name}: tau = {tau:g} s at dt = {dt:g} s becomes tau_eff = "
            f"{tau_eff:.4g} s ({rel:+.1%}, tolerance {tolerance:.0%}) with a "
            f"{chip.neuron.decay_bits}-bit decay; use a representable tau "
            f"(dt*{unity}/k), a coarser dt, or an NEF recurrent low-pass"
        )
    return result


# --- thresholds, biases, refractory ---------------------------------------------


def quantize_threshold(vth: float, chip: ChipConfig, *, name: str) -> int:
    """Return the threshold mantissa for ``vth`` (integer units of v).

    The chip compares v with ``mantissa << vth_shift``; the mantissa is
    rounded to nearest and must fit ``vth_mant_bits`` (unsigned).
    """
    value = float(check_finite(vth, f"{name}.vth"))
    shift = chip.neuron.vth_shift
    mant = int(np.floor(value / 2**shift + 0.5))
    top = 2**chip.neuron.vth_mant_bits - 1
    if mant < 1 or mant > top:
        raise QuantizationError(
            f"{name}: threshold {value:g} needs mantissa {mant}, outside [1, {top}] "
            f"(vth_shift {shift}); rescale the weights and threshold together"
        )
    return mant


def quantize_bias(
    bias: Any, chip: ChipConfig, *, name: str
) -> tuple[np.ndarray, np.ndarray, ParamReport]:
    """Return ``(bias_mant, bias_exp, report)`` with ``bias = mant * 2**exp``.

    Each entry gets the smallest exponent at which its mantissa fits
    ``bias_mant_bits`` (signed), so small biases keep full precision.
    """
    b = np.atleast_1d(check_finite(bias, f"{name}.bias"))
    top = 2 ** (chip.neuron.bias_mant_bits - 1) - 1
    exp_max = chip.neuron.bias_exp_max
    need = np.zeros(b.shape, dtype=np.int64)
    nonzero = b != 0
    need[nonzero] = np.ceil(np.log2(np.abs(b[nonzero]) / (top + 0.5))).astype(np.int64)
    exp = np.clip(need, 0, exp_max)
    mant = np.floor(b / 2.0**exp + 0.5)
    clipped = np.clip(mant, -top, top)
    n_sat = int(np.count_nonzero(clipped != mant))
    mant = clipped.astype(np.int64)
    report = param_report(name, "bias", b, mant * 2.0**exp, mant, None, n_sat)
    if n_sat:
        raise QuantizationError(
            f"{name}: {n_sat} bias value(s) up to {np.abs(b).max():g} exceed the "
            f"largest bias {top * 2**exp_max}; lower the bias or the v scale"
        )
    return mant, exp.astype(np.int64), report


def refract_delay_steps(
    tau_ref: float, dt: float, chip: ChipConfig, *, name: str
) -> int:
    """Return the refractory delay register for ``tau_ref`` seconds.

    The register counts the spike step itself, so ``tau_ref = 0`` gives 1.
    """
    if not (math.isfinite(tau_ref) and tau_ref >= 0):
        raise ValidationError(f"{name}: tau_ref is {tau_ref!r}; it must be >= 0")
    steps = int(np.floor(tau_ref / dt + 0.5)) + 1
    lo, hi = chip.neuron.refract_delay_min, chip.neuron.refract_delay_max
    if not lo <= steps <= hi:
        raise QuantizationError(
            f"{name}: tau_ref = {tau_ref:g} s is {steps} steps at dt = {dt:g} s, "
            f"outside the refractory range [{lo}, {hi}]; shorten tau_ref or raise dt"
        )
    return steps
