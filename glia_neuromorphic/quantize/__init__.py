"""Float parameters to Loihi fixed point, with an error report per parameter group."""

from glia_neuromorphic.quantize.core import (
    ROUNDING_MODES,
    SIGN_MODES,
    TAU_TOLERANCE,
    ParamReport,
    QuantizedDecay,
    QuantizedWeights,
    check_finite,
    decay_from_tau,
    infer_sign_mode,
    quantize_bias,
    quantize_threshold,
    quantize_weights,
    refract_delay_steps,
    weight_range,
)
from glia_neuromorphic.quantize.report import (
    OverflowRisk,
    QuantizationReport,
    check_overflow,
    fan_in_bounds,
)

__all__ = [
    "ROUNDING_MODES",
    "SIGN_MODES",
    "TAU_TOLERANCE",
    "OverflowRisk",
    "ParamReport",
    "QuantizationReport",
    "QuantizedDecay",
    "QuantizedWeights",
    "check_finite",
    "check_overflow",
    "decay_from_tau",
    "fan_in_bounds",
    "infer_sign_mode",
    "quantize_bias",
    "quantize_threshold",
    "quantize_weights",
    "refract_delay_steps",
    "weight_range",
]
