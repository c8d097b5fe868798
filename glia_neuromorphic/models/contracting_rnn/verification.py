"""``glia verify contracting-rnn``: certificate, convergence and accuracy checks.

The float reference (rate model and Lava's float spiking models) is the same
on every backend. ``--backend`` picks what runs the fixed-point network:
Lava's bit-accurate models (``lava``) or the bit-exact emulator on the
network's chip program (``emulator``).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from glia_neuromorphic.contraction import (
    Certificate,
    assembly_certificate,
    block_slices,
    feedback_residual,
    fit_decay_rate,
    metric_distance,
    off_block_mask,
    recheck_quantized,
)
from glia_neuromorphic.errors import BackendError, ValidationError
from glia_neuromorphic.hwconfig import load_target
from glia_neuromorphic.models.contracting_rnn import program, spiking
from glia_neuromorphic.models.contracting_rnn import report as report_files
from glia_neuromorphic.models.contracting_rnn.network import Assembly, simulate
from glia_neuromorphic.models.contracting_rnn.storage import train_or_load
from glia_neuromorphic.models.contracting_rnn.task import load_task

logger = logging.getLogger(__name__)

#: Settings of the assembly ``verify`` trains (small so a cold run stays fast).
VERIFY_ASSEMBLY = {
    "sizes": (16, 16, 16, 16),
    "epochs": 30,
    "module_kind": "svd",
    "max_norm": 0.9,
    "tau": 10.0,
    "steps_per_item": 20,
    "readout_steps": 20,
    # keeps the Euler-step factor q near 0.9988 at TIME_SCALE = 4 (tau_s = 40)
    "max_coupling": 2.0,
}
#: Held-out digits run on Lava; each Lava run contains one network copy per digit.
VERIFY_DIGITS = 50
#: Largest accuracy gap, fixed point vs float spiking, in percentage points.
MAX_GAP_POINTS = 2.0
#: Factor on the largest training drive that the bias format must hold.
DRIVE_HEADROOM = 1.5
#: Training sequences simulated to find the range of the unit inputs x.
CALIBRATION_SEQUENCES = 200
#: Spiking steps per rate-model step.
TIME_SCALE = 4
#: Standard deviation of the initial state offset of the two convergence runs,
#: in rate-model units. Spike jitter keeps their distance near 3 in these units,
#: so the runs start about 40 times further apart than that floor.
CONVERGENCE_OFFSET = 10.0
#: Backends that can run the fixed-point network, with their plot labels.
BACKENDS = {"lava": "fixed-point Lava", "emulator": "fixed-point emulator"}


@dataclasses.dataclass
class VerifyResult:
    """Outcome of ``verify``: ``passed`` and the numbers behind it."""

    passed: bool
    checks: dict[str, bool]
    report: dict[str, Any]
    path: Path


def quantized_certificate(
    assembly: Assembly, net: spiking.SpikingNetwork, fixed: spiking.FixedPointNetwork
) -> tuple[Certificate, dict[str, Any]]:
    """Re-certify the assembly with the weights the fixed-point run uses.

    The dequantized on-neuron weights are ``a vth (W + L)`` and, for coupled
    assemblies, the off-to-on weights ``-a vth L``; dividing by ``a vth``
    recovers ``W_q`` and ``L_q``.
    """
    n = assembly.n_units
    scale = net.vth / net.tau_s
    on_block = fixed.dequantized_weights[:n, :n] / scale
    if net.n_neurons > n:
        L_q = -fixed.dequantized_weights[:n, n:] / scale
    else:
        L_q = np.zeros((n, n))
    inside = ~off_block_mask(assembly.sizes)
    W_q = on_block * inside
    L_q = L_q * ~inside
    modules = assembly.module_certificates(W_q)
    metric = np.diag(assembly.metric)
    checks = [
        recheck_quantized(
            assembly.W[block, block],
            W_q[block, block],
            certify=lambda w, b=block: _module_cert(assembly, w, b),
        )
        for block in block_slices(assembly.sizes)
    ]
    cert = assembly_certificate(modules, L_q, assembly.sizes, "feedback")
    euler = assembly.euler_certificate(net.time_scale, W_q, L_q)
    info = {
        "euler_quantized": euler.summary(),
        "feedback_residual_float": feedback_residual(assembly.L, metric),
        "feedback_residual_quantized": feedback_residual(L_q, metric),
        "modules": [check.summary() for check in checks],
    }
    return cert, info


def _module_cert(assembly: Assembly, W_block: np.ndarray, block: slice) -> Certificate:
    W = np.zeros_like(assembly.W)
    W[block, block] = W_block
    index = [b.start for b in block_slices(assembly.sizes)].index(block.start)
    return assembly.module_certificates(W)[index]


def convergence(
    assembly: Assembly,
    net: spiking.SpikingNetwork,
    fixed: spiking.FixedPointNetwork,
    chip,
    sequence: np.ndarray,
    rng: np.random.Generator,
    run_fixed: Callable[..., dict[str, np.ndarray]] = spiking.run_lava,
) -> dict[str, Any]:
    """Run two copies from different states on one input, in float and fixed point.

    ``run_fixed`` runs the fixed-point network (``spiking.run_lava`` or
    ``program.run_emulator``). Returns the distance traces (metric ``M``,
    rate-model units) of the rate model and of the fixed-point spiking run,
    and their fitted decay rates per spiking step.
    """
    offset = CONVERGENCE_OFFSET * rng.standard_normal(assembly.n_units)
    s0 = np.stack([offset, -offset])
    pair = np.repeat(sequence[None], 2, axis=0)
    metric = assembly.metric

    fine = _refined(assembly, net.time_scale)
    rate_run = simulate(fine, pair, s0=s0, keep=True)["s"]
    rate_distance = metric_distance(rate_run[:, 0], rate_run[:, 1], metric)

    drives = pair @ assembly.U.T + assembly.b
    spike_run = run_fixed(net, drives, chip, fixed, s0=s0, probe_current=True)
    spike_distance = metric_distance(spike_run["s"][:, 0], spike_run["s"][:, 1], metric)
    return {
        "rate": rate_distance,
        "fixed": spike_distance,
        "rate_fit": fit_decay_rate(rate_distance),
        "fixed_fit": fit_decay_rate(spike_distance),
    }


def _refined(assembly: Assembly, time_scale: int) -> Assembly:
    """Return the rate model at the spiking time step (tau and steps scaled)."""
    return dataclasses.replace(
        assembly,
        tau=assembly.tau * time_scale,
        steps_per_item=assembly.steps_per_item * time_scale,
        readout_steps=assembly.readout_steps * time_scale,
    )


def calibrate(assembly: Assembly, sequences: np.ndarray) -> tuple[float, float]:
    """Return the 99th percentile of positive ``x`` and the drive range to plan for.

    The drive range is :data:`DRIVE_HEADROOM` times the largest ``|U u + b|``
    over ``sequences``, so held-out digits with a larger drive still fit the
    bias format.
    """
    x = simulate(assembly, sequences[:CALIBRATION_SEQUENCES], keep=True)["x"]
    drive = np.abs(sequences @ assembly.U.T + assembly.b).max()
    return float(np.percentile(x[x > 0], 99)), DRIVE_HEADROOM * float(drive)


def _accuracy(assembly: Assembly, features: np.ndarray, labels: np.ndarray) -> float:
    logits = features @ assembly.C.T + assembly.c0
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def _timed(seconds: dict[str, float], key: str, run: Callable, *args, **kwargs):
    """Call ``run`` and store its wall time in ``seconds[key]``."""
    start = time.perf_counter()
    result = run(*args, **kwargs)
    seconds[key] = time.perf_counter() - start
    return result


def run_checks(
    target: str,
    seed: int,
    out: Path,
    time_scale: int,
    digits: int,
    backend: str = "lava",
) -> dict[str, Any]:
    """Train or load, export, run float and fixed point, and return all numbers.

    The float spiking run is Lava's, and ``backend`` runs the fixed point (see
    :data:`BACKENDS`). ``wall_seconds`` records each spiking run's time.
    """
    tgt = load_target(target)
    chip = tgt.chip
    settings = dict(VERIFY_ASSEMBLY)
    sizes, epochs = settings.pop("sizes"), settings.pop("epochs")
    assembly, task, info = train_or_load(
        seed, out / "cache", sizes=sizes, epochs=epochs, **settings
    )
    rng = np.random.default_rng(seed)
    pick = rng.choice(
        len(task.y_test), size=min(digits, len(task.y_test)), replace=False
    )
    x, y = task.x_test[pick], task.y_test[pick]

    max_x, max_drive = calibrate(assembly, task.x_train)
    net = spiking.export(assembly, chip, max_x, max_drive, time_scale=time_scale)
    drives = x @ assembly.U.T + assembly.b
    fixed = spiking.quantize(net, chip, max_drive)

    cert = assembly.certificate()
    euler = assembly.euler_certificate(time_scale)
    cert_q, quant_info = quantized_certificate(assembly, net, fixed)
    float_rate = _accuracy(
        assembly, simulate(_refined(assembly, time_scale), x)["features"], y
    )
    seconds: dict[str, float] = {}
    float_run = _timed(seconds, "float_spiking", spiking.run_lava, net, drives, chip)
    run_fixed = program.run_emulator if backend == "emulator" else spiking.run_lava
    fixed_run = _timed(seconds, "fixed_point", run_fixed, net, drives, chip, fixed)
    conv = _timed(
        seconds,
        "convergence",
        convergence,
        assembly,
        net,
        fixed,
        chip,
        x[0],
        rng,
        run_fixed,
    )
    return {
        "model": "contracting-rnn",
        "target": tgt.summary(),
        "backend": backend,
        "seed": seed,
        "assembly": assembly.config(),
        "train": info,
        "test_digits": int(len(y)),
        "certificate": cert.summary(),
        "certificate_quantized": cert_q.summary(),
        "euler_certificate": euler.summary(),
        "quantization": {**fixed.report, **quant_info},
        "spiking": {
            "time_scale": time_scale,
            "tau_s": net.tau_s,
            "vth": net.vth,
            "rate_scale": net.rate_scale,
            "neuron": net.neuron,
            "steps_per_digit": int(drives.shape[1] * net.steps_per_item),
            "neurons_per_copy": net.n_neurons,
        },
        "accuracy": {
            "float_rate_model": float_rate,
            "float_spiking": _accuracy(assembly, float_run["features"], y),
            "fixed_spiking": _accuracy(assembly, fixed_run["features"], y),
        },
        "wall_seconds": seconds,
        "convergence": conv,
        "certified_rate_per_step": cert.rate / time_scale,
        "certified_rate_quantized_per_step": cert_q.rate / time_scale,
    }


def steps_unit(task_name: str = "rows") -> tuple[int, int]:
    """Return ``(unit, items)``: spiking steps per digit come in multiples of unit.

    A digit is ``items`` sequence items of ``steps_per_item`` rate-model steps,
    and each rate-model step becomes ``time_scale`` spiking steps.
    """
    items = load_task(task_name).n_items
    return items * VERIFY_ASSEMBLY["steps_per_item"], items


def time_scale_of_steps(steps: int) -> int:
    """Return the time scale that runs ``steps`` spiking steps per digit.

    Raises
    ------
    ValidationError
        If ``steps`` is not a positive multiple of :func:`steps_unit`.
    """
    unit, items = steps_unit()
    if steps < unit or steps % unit:
        below = max(unit, steps // unit * unit)
        above = below + unit if steps > below else below
        nearest = f"{below}" if below == above else f"{below} or {above}"
        raise ValidationError(
            f"--steps is {steps}; for contracting-rnn it counts the spiking steps "
            f"per digit, a multiple of {unit} ({items} sequence items of "
            f"{VERIFY_ASSEMBLY['steps_per_item']} rate-model steps); use {nearest}"
        )
    return steps // unit


def check_backend(target: str, backend: str) -> None:
    """Raise BackendError unless ``backend`` can run the fixed point for ``target``.

    The exported ``relu`` neurons reset by subtracting the threshold. The
    emulator follows nengo-loihi 1.1.0 for Loihi 1 targets, and that
    reference always resets v to 0, so Loihi 1 on the emulator is rejected.
    """
    if backend not in BACKENDS:
        raise BackendError(
            f"contracting-rnn runs on backends {list(BACKENDS)}, got {backend!r} "
            f"(target {target!r})"
        )
    chip = load_target(target).chip
    if backend == "emulator" and chip.reference != "lava":
        raise BackendError(
            f"contracting-rnn on target {target!r} with backend 'emulator': its "
            "rectified-linear neurons reset by subtracting the threshold, but "
            f"{target!r} follows {chip.reference!r}, whose compartments always "
            "reset v to 0 after a spike. With reset to zero a neuron's rate is "
            "no longer linear in its input, which the certificate assumes. Use "
            "--target loihi2"
        )


def judge(numbers: dict[str, Any]) -> dict[str, bool]:
    """Return each named check and whether it passed."""
    acc = numbers["accuracy"]
    gap = abs(acc["fixed_spiking"] - acc["float_spiking"]) * 100
    conv = numbers["convergence"]
    return {
        "certificate float": numbers["certificate"]["contracting"],
        "certificate quantized": numbers["certificate_quantized"]["contracting"],
        "Euler-step certificate at tau_s (float)": numbers["euler_certificate"][
            "contracting"
        ],
        "Euler-step certificate at tau_s (quantized)": numbers["quantization"][
            "euler_quantized"
        ]["contracting"],
        "rate model converges at certified rate": conv["rate_fit"].rate
        >= numbers["certified_rate_per_step"],
        "fixed point converges at certified rate": conv["fixed_fit"].rate
        >= numbers["certified_rate_quantized_per_step"],
        f"fixed vs float spiking gap <= {MAX_GAP_POINTS} points": gap <= MAX_GAP_POINTS,
    }


def render(numbers: dict[str, Any], checks: dict[str, bool], console: Console) -> None:
    """Print the verification table."""
    table = Table(title=f"contracting-rnn: float vs fixed point ({numbers['backend']})")
    table.add_column("quantity")
    table.add_column("float", justify="right")
    table.add_column("fixed point", justify="right")

    cert, cert_q = numbers["certificate"], numbers["certificate_quantized"]
    table.add_row(
        "certificate margin", f"{cert['margin']:.4f}", f"{cert_q['margin']:.4f}"
    )
    table.add_row(
        "certified rate / step",
        f"{numbers['certified_rate_per_step']:.5f}",
        f"{numbers['certified_rate_quantized_per_step']:.5f}",
    )

    euler, euler_q = (
        numbers["euler_certificate"],
        numbers["quantization"]["euler_quantized"],
    )
    table.add_row(
        "Euler-step factor q (< 1)", f"{euler['bound']:.5f}", f"{euler_q['bound']:.5f}"
    )

    quant = numbers["quantization"]
    table.add_row(
        "feedback residual |ML + L^T M|",
        f"{quant['feedback_residual_float']:.2e}",
        f"{quant['feedback_residual_quantized']:.2e}",
    )

    conv = numbers["convergence"]
    table.add_row(
        "measured decay rate / step",
        f"{conv['rate_fit'].rate:.5f} (rate model)",
        f"{conv['fixed_fit'].rate:.5f}",
    )

    acc = numbers["accuracy"]
    table.add_row(
        f"accuracy, {numbers['test_digits']} digits",
        f"{acc['float_spiking']:.1%} spiking ({acc['float_rate_model']:.1%} rate)",
        f"{acc['fixed_spiking']:.1%}",
    )
    spiking_info = numbers["spiking"]
    table.add_row(
        "spiking steps per digit (--steps)",
        f"{spiking_info['steps_per_digit']}",
        f"{spiking_info['steps_per_digit']}",
    )
    seconds = numbers["wall_seconds"]
    table.add_row(
        "wall time of the spiking run (s)",
        f"{seconds['float_spiking']:.1f} (Lava)",
        f"{seconds['fixed_point']:.1f} ({numbers['backend']})",
    )

    console.print(table)
    for name, ok in checks.items():
        console.print(f"{'[green]PASS' if ok else '[red]FAIL'}[/] {name}")


def verify(
    target: str = "loihi2",
    backend: str = "lava",
    steps: int | None = None,
    seed: int = 0,
    out: Path | str = Path("out/verify"),
    console: Console | None = None,
) -> VerifyResult:
    """Check the contracting assembly in float and fixed point.

    Parameters
    ----------
    target : str
        hw_configs target whose formats the quantization uses.
    backend : {"lava", "emulator"}
        What runs the fixed-point network: Lava's bit-accurate models under
        Loihi2SimCfg, or the bit-exact emulator (Lava targets only). The float
        spiking reference is Lava's float model in both cases.
    steps : int, optional
        Spiking steps per digit, a multiple of :func:`steps_unit`; sets the
        time scale (default ``TIME_SCALE * steps_unit()``, 640).
    seed : int
        Seed of training, digit choice and initial states.
    out : path
        Directory for report.json, report.html, convergence.png and the
        assembly cache.

    Raises
    ------
    BackendError
        For an unknown backend, or the emulator on a target whose reference
        cannot reset by subtraction (Loihi 1).
    ValidationError
        If ``steps`` is not a positive multiple of :func:`steps_unit`.
    """
    check_backend(target, backend)
    console = console or Console()
    out = Path(out)
    time_scale = TIME_SCALE if steps is None else time_scale_of_steps(steps)
    start = time.perf_counter()
    numbers = run_checks(target, seed, out, time_scale, VERIFY_DIGITS, backend)
    checks = judge(numbers)
    numbers["checks"] = checks
    numbers["passed"] = all(checks.values())
    numbers["seconds"] = time.perf_counter() - start
    render(numbers, checks, console)
    report = report_files.write_reports(numbers, out, BACKENDS[backend])
    console.print(
        f"report: {out / report_files.HTML_NAME} (data in "
        f"{report_files.JSON_NAME}, plot in {report_files.PLOT_NAME})"
    )
    return VerifyResult(numbers["passed"], checks, report, out / report_files.JSON_NAME)
