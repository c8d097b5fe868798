"""Contraction certificates for recurrent modules and assemblies of modules."""

from glia_neuromorphic.contraction.certificates import (
    Certificate,
    diagonal_certificate,
    identity_certificate,
    log_norm,
    module_certificate,
    perron_metric,
    perron_root,
    scaled_norm_certificate,
)
from glia_neuromorphic.contraction.combination import (
    assembly_certificate,
    block_slices,
    euler_certificate,
    feedback_coupling,
    feedback_residual,
    off_block_mask,
)
from glia_neuromorphic.contraction.convergence import (
    DecayFit,
    fit_decay_rate,
    metric_distance,
)
from glia_neuromorphic.contraction.lmi import lmi_certificate
from glia_neuromorphic.contraction.parameterization import (
    project_scaled_norm,
    sparse_weights,
    svd_weights,
)
from glia_neuromorphic.contraction.quantized import (
    QuantizedCheck,
    QuantizedWeights,
    quantize_weights,
    recheck_quantized,
)

__all__ = [
    "Certificate",
    "DecayFit",
    "QuantizedCheck",
    "QuantizedWeights",
    "assembly_certificate",
    "block_slices",
    "diagonal_certificate",
    "feedback_coupling",
    "euler_certificate",
    "feedback_residual",
    "fit_decay_rate",
    "identity_certificate",
    "lmi_certificate",
    "log_norm",
    "metric_distance",
    "module_certificate",
    "off_block_mask",
    "perron_metric",
    "perron_root",
    "project_scaled_norm",
    "quantize_weights",
    "recheck_quantized",
    "scaled_norm_certificate",
    "sparse_weights",
    "svd_weights",
]
