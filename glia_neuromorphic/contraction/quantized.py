"""Re-check a contraction certificate on quantized (mantissa x 2^exponent) weights."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from glia_neuromorphic.contraction.certificates import (
    Certificate,
    check_square,
    module_certificate,
    perron_root,
)
from glia_neuromorphic.errors import QuantizationError, ValidationError
from glia_neuromorphic.quantize.core import check_finite

#: Most weight bits :func:`recheck_quantized` tries when it suggests more bits.
MAX_SUGGESTED_BITS = 16


@dataclasses.dataclass(frozen=True)
class QuantizedWeights:
    """Weights as signed integer mantissas with one shared exponent.

    Attributes
    ----------
    mantissa : ndarray of int64
        Signed mantissas in ``[-2^(bits-1), 2^(bits-1) - 1]``.
    exponent : int
        Shared exponent; the weight value is ``mantissa * 2**exponent``.
    bits : int
        Mantissa width including the sign bit.
    clipped : int
        Number of entries clipped to the mantissa range (exponent at its limit).
    """

    mantissa: np.ndarray
    exponent: int
    bits: int
    clipped: int = 0

    @property
    def values(self) -> np.ndarray:
        """Return the dequantized weights ``mantissa * 2**exponent``."""
        return self.mantissa.astype(float) * 2.0**self.exponent

    @property
    def lsb(self) -> float:
        """Return the weight step ``2**exponent``."""
        return 2.0**self.exponent


def quantize_weights(
    W: Any, bits: int, exp_min: int = -64, exp_max: int = 64
) -> QuantizedWeights:
    """Round ``W`` to ``bits``-bit signed mantissas with the smallest fitting exponent.

    Parameters
    ----------
    W : array_like
        Float weights (any shape).
    bits : int
        Mantissa width including the sign bit (``synapse.weight_mant_bits``).
    exp_min, exp_max : int
        Exponent range of the target (``synapse.weight_exp_min/max``).

    Raises
    ------
    ValidationError
        If ``W`` contains NaN or Inf (the message names the first such
        entry) or ``bits < 2``.
    """
    if bits < 2:
        raise ValidationError(f"weight mantissa needs at least 2 bits, got {bits}")
    W = check_finite(W, "weights")
    top = 2 ** (bits - 1) - 1
    peak = float(np.max(np.abs(W))) if W.size else 0.0
    if peak == 0.0:
        return QuantizedWeights(np.zeros(W.shape, dtype=np.int64), 0, bits)
    exponent = math.ceil(math.log2(peak / top))
    exponent = int(np.clip(exponent, exp_min, exp_max))
    mantissa = np.rint(W / 2.0**exponent)
    clipped = int(np.sum((mantissa > top) | (mantissa < -top - 1)))
    mantissa = np.clip(mantissa, -top - 1, top).astype(np.int64)
    if np.all(mantissa == 0):
        raise QuantizationError(
            f"all {W.size} weights round to zero at exponent {exponent} (largest "
            f"|w| {peak:.3g}); lower synapse.weight_exp_min or rescale the weights"
        )
    return QuantizedWeights(mantissa, exponent, bits, clipped)


@dataclasses.dataclass(frozen=True)
class QuantizedCheck:
    """Certificate before and after quantization, with advice when it breaks.

    Attributes
    ----------
    before, after : Certificate
        Certificates of the float and of the dequantized weights.
    max_abs_error : float
        Largest ``|W_q - W|``.
    broken : bool
        True when the float weights are certified and the quantized are not.
    advice : str
        Empty, or how to restore contraction (smaller bound or more bits).
    """

    before: Certificate
    after: Certificate
    max_abs_error: float
    broken: bool
    advice: str

    def summary(self) -> dict[str, Any]:
        """Return a JSON-ready description."""
        return {
            "margin_before": float(self.before.margin),
            "margin_after": float(self.after.margin),
            "rate_before": float(self.before.rate),
            "rate_after": float(self.after.rate),
            "max_abs_error": self.max_abs_error,
            "broken": self.broken,
            "advice": self.advice,
        }


def _worst_case_bound(
    W: np.ndarray, half_lsb: float, gain: float, method: str
) -> float:
    """Return the certificate bound for the worst rounding of every non-zero weight."""
    support = (W != 0).astype(float)
    if method == "identity":
        # ||W_q|| <= ||W|| + ||E||_2 and ||E||_2 <= ||E||_F
        error = half_lsb * math.sqrt(float(np.sum(support)))
        return gain * (float(np.linalg.norm(W, 2)) + error)
    return perron_root(gain * (np.abs(W) + half_lsb * support))


def _advice(W: np.ndarray, bits: int, gain: float, method: str) -> str:
    """Suggest a smaller bound or a wider mantissa that survives rounding."""
    peak = float(np.max(np.abs(W)))
    half_lsb = 0.5 * peak / (2 ** (bits - 1) - 1)
    worst = _worst_case_bound(W, half_lsb, gain, method)
    bound = module_certificate(W, gain, 1.0, method).bound
    # scaling W scales the LSB too, so the worst-case bound scales linearly
    safe_bound = 0.98 * bound / worst
    name = "g*||W||_2" if method == "identity" else "rho(g|W|)"
    wider = next(
        (
            b
            for b in range(bits + 1, MAX_SUGGESTED_BITS + 1)
            if _worst_case_bound(W, 0.5 * peak / (2 ** (b - 1) - 1), gain, method) < 1
        ),
        None,
    )
    more_bits = (
        f"or use at least {wider} weight bits"
        if wider is not None
        else f"(even {MAX_SUGGESTED_BITS} weight bits do not guarantee it)"
    )
    return (
        f"quantization to {bits} bits breaks contraction: rescale W so that "
        f"{name} <= {safe_bound:.3f} (now {bound:.3f}) {more_bits}"
    )


def recheck_quantized(
    W: Any,
    quantized: QuantizedWeights | Any,
    gain: float = 1.0,
    tau: float = 1.0,
    method: str = "diagonal",
    certify: Callable[[np.ndarray], Certificate] | None = None,
) -> QuantizedCheck:
    """Compare the certificate of float weights with that of their quantized copy.

    Parameters
    ----------
    W : array_like, shape (n, n)
        Float weights.
    quantized : QuantizedWeights, (mantissa, exponent) or array_like
        The integer form, as a QuantizedWeights or a pair of an integer
        mantissa array and a shared exponent (the width is then the smallest
        signed width that holds the mantissas), or dequantized weights.
    method : str
        Module test (see :func:`module_certificate`); ignored if ``certify``
        is given.
    certify : callable, optional
        Custom test taking a weight matrix and returning a Certificate.
    """
    W = check_square("W", W)
    if isinstance(quantized, tuple) and len(quantized) == 2:
        mantissa = np.asarray(quantized[0])
        if not np.issubdtype(mantissa.dtype, np.integer):
            raise ValidationError(
                f"mantissa must be an integer array, got dtype {mantissa.dtype}"
            )
        top = int(np.max(np.abs(mantissa))) if mantissa.size else 0
        quantized = QuantizedWeights(
            mantissa.astype(np.int64), int(quantized[1]), max(2, top.bit_length() + 1)
        )
    if isinstance(quantized, QuantizedWeights):
        bits = quantized.bits
        W_q = quantized.values
    else:
        bits = None
        W_q = check_square("quantized W", quantized)
    if W_q.shape != W.shape:
        raise ValidationError(
            f"quantized weights have shape {W_q.shape}, float weights {W.shape}"
        )
    test = certify or (lambda weights: module_certificate(weights, gain, tau, method))
    before, after = test(W), test(W_q)
    broken = before.contracting and not after.contracting
    advice = ""
    if broken:
        if bits is None:
            bits = _infer_bits(W, W_q)
        # the advice bounds rounding for the identity or the diagonal test;
        # other tests get the diagonal-metric advice
        kind = "identity" if method == "identity" else "diagonal"
        advice = _advice(W, bits, gain, kind)
    return QuantizedCheck(before, after, float(np.max(np.abs(W_q - W))), broken, advice)


def _infer_bits(W: np.ndarray, W_q: np.ndarray) -> int:
    """Estimate the mantissa width from the smallest non-zero step of ``W_q``."""
    steps = np.abs(W_q[W_q != 0])
    if steps.size == 0:
        return 1
    lsb = float(np.min(steps))
    return int(math.ceil(math.log2(float(np.max(np.abs(W))) / lsb + 1))) + 1
