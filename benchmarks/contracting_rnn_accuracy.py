"""Measure float, float-spiking and fixed-point accuracy of contracting RNNs on digits.

Usage::

    python benchmarks/contracting_rnn_accuracy.py [--task rows|pixels|permuted]
        [--nonlinearity relu|tanh|hardtanh] [--seed 0] [--epochs 60] [--digits 450]
        [--level lava-float --level lava-fixed --level emulator]

Trains one module alone and a 4 x 16 feedback assembly on the task, then runs
the assembly on Lava (float and fixed point) and, for ReLU assemblies, on the
bit-exact emulator over the held-out digits, or a seeded subset of
``--digits`` of them. ``--level`` picks the spiking runs (default: all).
tanh and hardtanh assemblies go through ``spiking.export_tanh`` (saturating
on/off pairs, which realize hardtanh); their report also gives the float
accuracy of the tanh assembly with hardtanh swapped in. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np
from rich.console import Console

from glia_neuromorphic.fidelity.progress import DelayedProgress
from glia_neuromorphic.hwconfig import load_chip
from glia_neuromorphic.models.contracting_rnn import (
    accuracy,
    simulate,
    spiking,
    train_or_load,
)
from glia_neuromorphic.models.contracting_rnn.program import run_emulator
from glia_neuromorphic.models.contracting_rnn.task import TASKS
from glia_neuromorphic.models.contracting_rnn.verification import calibrate

#: Rate-model settings per task. Pixel tasks hold each pixel 2 steps, so a
#: digit is 128 steps (12.8 time constants) as against 160 for rows.
SETTINGS = {
    "rows": {"tau": 10.0, "steps_per_item": 20, "readout_steps": 20},
    "pixels": {"tau": 10.0, "steps_per_item": 2, "readout_steps": 20},
    "permuted": {"tau": 10.0, "steps_per_item": 2, "readout_steps": 20},
}
#: Coupling bound that keeps the Euler-step factor below 1 at tau_s = 40.
MAX_COUPLING = 2.0
#: Digits per Lava graph (one network copy per digit).
LAVA_BATCH = 100


def _refined(assembly, time_scale):
    return dataclasses.replace(
        assembly,
        tau=assembly.tau * time_scale,
        steps_per_item=assembly.steps_per_item * time_scale,
        readout_steps=assembly.readout_steps * time_scale,
    )


def _export(assembly, task, time_scale, chip):
    """Return the float and fixed-point spiking networks for the assembly."""
    max_x, max_drive = calibrate(assembly, task.x_train)
    if assembly.nonlinearity == "relu":
        net = spiking.export(assembly, chip, max_x, max_drive, time_scale=time_scale)
    else:
        x = simulate(assembly, task.x_train[:200], keep=True)["x"]
        max_x = float(np.percentile(np.abs(x), 99))
        net = spiking.export_tanh(
            assembly, chip, max_x, max_drive, time_scale=time_scale
        )
    return net, spiking.quantize(net, chip, max_drive)


LEVELS = ("lava-float", "lava-fixed", "emulator")


def _emulator_features(net, fixed, drives, chip):
    """Return the readout features of the fixed-point network on the emulator."""
    features = [
        run_emulator(net, drives[i : i + LAVA_BATCH], chip, fixed)["features"]
        for i in range(0, len(drives), LAVA_BATCH)
    ]
    return np.concatenate(features)


def spiking_accuracy(assembly, task, time_scale, pick, chip, console, levels=LEVELS):
    """Return rate, float-spiking and fixed-point accuracy on the picked digits."""
    x, y = task.x_test[pick], task.y_test[pick]
    net, fixed = _export(assembly, task, time_scale, chip)
    drives = x @ assembly.U.T + assembly.b
    result = {
        "digits": int(len(y)),
        "rate": accuracy(assembly, x, y),
        "rate_fine": accuracy(_refined(assembly, time_scale), x, y),
        "neurons_per_unit": net.n_neurons // net.n_units,
        "quantization": {
            k: v for k, v in fixed.report.items() if not isinstance(v, np.ndarray)
        },
    }
    if assembly.nonlinearity == "tanh":
        swapped = dataclasses.replace(assembly, nonlinearity="hardtanh")
        result["rate_fine_hardtanh"] = accuracy(_refined(swapped, time_scale), x, y)
    batches = range(0, len(y), LAVA_BATCH)
    lava_runs = [
        (name, params)
        for level, name, params in (
            ("lava-float", "float_spiking", None),
            ("lava-fixed", "fixed_spiking", fixed),
        )
        if level in levels
    ]
    if "emulator" in levels and assembly.nonlinearity == "relu":
        start = time.perf_counter()
        features = _emulator_features(net, fixed, drives, chip)
        logits = features @ assembly.C.T + assembly.c0
        result["fixed_spiking_emulator"] = float(
            np.mean(np.argmax(logits, axis=1) == y)
        )
        result["emulator_seconds"] = time.perf_counter() - start
    with DelayedProgress(console, len(lava_runs) * len(batches), "Lava runs") as bar:
        for name, params in lava_runs:
            features = []
            for i in batches:
                run = spiking.run_lava(net, drives[i : i + LAVA_BATCH], chip, params)
                features.append(run["features"])
                bar.advance()
            logits = np.concatenate(features) @ assembly.C.T + assembly.c0
            result[name] = float(np.mean(np.argmax(logits, axis=1) == y))
    return result


def main() -> None:
    """Train, evaluate and print the accuracies as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=TASKS, default="rows")
    parser.add_argument(
        "--nonlinearity", choices=("relu", "tanh", "hardtanh"), default="relu"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--time-scale", type=int, default=4)
    parser.add_argument(
        "--digits",
        type=int,
        default=450,
        help="held-out digits run on Lava; fewer than 450 picks a seeded subset",
    )
    parser.add_argument(
        "--level",
        action="append",
        choices=LEVELS,
        help="spiking run to measure; repeat for several (default: all)",
    )
    parser.add_argument("--cache", default="out/benchmarks")
    args = parser.parse_args()
    chip = load_chip("loihi2")
    console = Console(stderr=True)
    settings = dict(SETTINGS[args.task], max_coupling=MAX_COUPLING)
    if args.nonlinearity != "relu":
        settings["nonlinearity"] = args.nonlinearity
    report = {
        "task": args.task,
        "seed": args.seed,
        "epochs": args.epochs,
        "settings": settings,
    }
    start = time.perf_counter()
    for name, sizes in (("module", (16,)), ("assembly", (16, 16, 16, 16))):
        assembly, task, _ = train_or_load(
            args.seed,
            args.cache,
            task_name=args.task,
            sizes=sizes,
            epochs=args.epochs,
            **settings,
        )
        report[name] = {
            "float_test": accuracy(assembly, task.x_test, task.y_test),
            "float_train": accuracy(assembly, task.x_train, task.y_train),
            "certificate_rate": assembly.certificate().rate,
            "euler_factor_at_time_scale": assembly.euler_certificate(
                args.time_scale
            ).bound,
        }
        if args.nonlinearity == "tanh":
            swapped = dataclasses.replace(assembly, nonlinearity="hardtanh")
            report[name]["float_test_hardtanh_swapped"] = accuracy(
                swapped, task.x_test, task.y_test
            )
        console.log(f"{name}: {report[name]}")

    n_test = len(task.y_test)
    pick = np.arange(n_test)
    if args.digits < n_test:
        rng = np.random.default_rng(args.seed)
        pick = np.sort(rng.choice(n_test, size=args.digits, replace=False))
    report["assembly"]["spiking"] = spiking_accuracy(
        assembly, task, args.time_scale, pick, chip, console, args.level or LEVELS
    )
    report["seconds"] = time.perf_counter() - start
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
