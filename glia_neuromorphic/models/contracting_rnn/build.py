"""``glia compile contracting-rnn``: the quantized spiking export as a chip program.

The assembly is the one ``glia verify contracting-rnn`` checks (trained, or
loaded from the same cache), exported and quantized as in the verification,
with one held-out digit as the input of the program. Besides the program,
the build re-certifies the contraction on the integer weights: the margin
before and after quantization goes into the compile output and the printed
summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from glia_neuromorphic.compiler import PrebuiltProgram
from glia_neuromorphic.hwconfig import load_target
from glia_neuromorphic.quantize.core import param_report
from glia_neuromorphic.quantize.report import QuantizationReport

#: Cache of trained assemblies shared with ``glia verify contracting-rnn``.
DEFAULT_CACHE = Path("out/verify/cache")


def build(
    target: str = "loihi2",
    seed: int = 0,
    trained: bool = True,
    cache_dir: str | Path | None = DEFAULT_CACHE,
) -> PrebuiltProgram:
    """Return the chip program of the quantized assembly and its certificate.

    Parameters
    ----------
    target : str
        hw_configs target whose formats the quantization uses.
    seed : int
        Seed of training (or of the random weights) and of the digit choice.
    trained : bool
        False skips training and uses the seeded random assembly (fast; the
        certificate holds for it as well, the accuracy does not).
    cache_dir : path or None
        Where trained assemblies are cached; None trains without caching.
    """
    from glia_neuromorphic.models.contracting_rnn import program, spiking
    from glia_neuromorphic.models.contracting_rnn.network import init_assembly
    from glia_neuromorphic.models.contracting_rnn.storage import train_or_load
    from glia_neuromorphic.models.contracting_rnn.task import load_task
    from glia_neuromorphic.models.contracting_rnn.verification import (
        TIME_SCALE,
        VERIFY_ASSEMBLY,
        calibrate,
        quantized_certificate,
    )

    chip = load_target(target).chip
    settings = dict(VERIFY_ASSEMBLY)
    sizes, epochs = settings.pop("sizes"), settings.pop("epochs")
    if trained:
        assembly, task, _ = train_or_load(
            seed, cache_dir, sizes=sizes, epochs=epochs, **settings
        )
    else:
        task = load_task("rows", seed)
        rng = np.random.default_rng(seed)
        assembly = init_assembly(tuple(sizes), task.n_inputs, 10, rng, **settings)

    max_x, max_drive = calibrate(assembly, task.x_train)
    net = spiking.export(assembly, chip, max_x, max_drive, time_scale=TIME_SCALE)
    fixed = spiking.quantize(net, chip, max_drive)
    digit = int(np.random.default_rng(seed).integers(len(task.y_test)))
    drives = task.x_test[digit : digit + 1] @ assembly.U.T + assembly.b
    chip_program = program.to_program(net, fixed, drives, chip, seed=seed)
    chip_program.metadata["target"] = target
    chip_program.metadata["test_digit"] = digit
    chip_program.metadata["trained"] = bool(trained)

    cert = assembly.certificate()
    cert_q, info = quantized_certificate(assembly, net, fixed)
    certificate = certificate_summary(cert.summary(), cert_q.summary(), info)
    chip_program.metadata["certificate"] = {
        key: certificate[key] for key in ("holds", "margin_float", "margin_quantized")
    }
    return PrebuiltProgram(
        program=chip_program,
        quantization=_quantization_report(net, fixed, chip_program, target, seed),
        reports={"certificate": certificate},
        notes=certificate_lines(certificate),
    )


def certificate_summary(
    float_cert: dict[str, Any], quantized: dict[str, Any], info: dict[str, Any]
) -> dict[str, Any]:
    """Return the certificate record written to certificate.json."""
    summary = {
        "contracting_float": bool(float_cert["contracting"]),
        "contracting_quantized": bool(quantized["contracting"]),
        "margin_float": float(float_cert["margin"]),
        "margin_quantized": float(quantized["margin"]),
        "euler_quantized": info["euler_quantized"],
        "float": float_cert,
        "quantized": quantized,
        "modules": info["modules"],
    }
    summary["holds"] = (
        summary["contracting_quantized"] and info["euler_quantized"]["contracting"]
    )
    return summary


def certificate_lines(certificate: dict[str, Any]) -> list[str]:
    """Return the printed lines: whether contraction survives quantization."""
    margins = (
        f"margin {certificate['margin_float']:.4g} before quantization, "
        f"{certificate['margin_quantized']:.4g} on the integer weights; Euler-step "
        f"factor q = {certificate['euler_quantized']['bound']:.5f}"
    )
    if certificate["holds"]:
        return [f"contraction certificate holds on the integer weights: {margins}"]
    return [
        f"warning: quantization breaks the contraction certificate: {margins}. "
        "Train or export with a smaller spectral radius (max_norm) or use a "
        "target with more weight bits"
    ]


def _quantization_report(net, fixed, chip_program, target: str, seed: int):
    """Return the quantization report of the weights, threshold and decay."""
    report = QuantizationReport(target=target, rounding="nearest", seed=seed)
    weights = chip_program.groups["recurrent"]
    mantissa = np.asarray(fixed.weights, dtype=np.int64)
    scale = np.max(np.abs(fixed.dequantized_weights)) / max(
        int(np.max(np.abs(mantissa))), 1
    )
    report.add(
        param_report(
            "recurrent",
            "weights",
            np.asarray(net.weights, float) / scale,
            np.asarray(fixed.dequantized_weights, float) / scale,
            mantissa,
            int(weights.weight_exp),
            int(fixed.report["weights_clipped"]),
        )
    )
    report.add(
        param_report(
            "neurons.vth",
            "vth",
            np.array([net.vth]),
            np.array([float(fixed.vth)]),
            np.array([fixed.vth]),
            None,
            0,
        )
    )
    report.notes.append(
        f"current decay: tau_s {fixed.report['tau_s']:g} steps stored as du = "
        f"{fixed.report['du']} (tau_eff {fixed.report['tau_eff']:.4g} steps)"
    )
    return report
