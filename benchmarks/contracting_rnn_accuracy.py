"""Measure float, float-spiking and fixed-point accuracy of contracting RNNs on digits.

Usage: ``python benchmarks/contracting_rnn_accuracy.py [--seed 0] [--epochs 60]``.
Trains one module alone and a 4 x 16 feedback assembly on the row task, then
runs the assembly on Lava (float and fixed point) over the whole test split.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np

from glia_neuromorphic.hwconfig import load_chip
from glia_neuromorphic.models.contracting_rnn import accuracy, spiking, train_or_load
from glia_neuromorphic.models.contracting_rnn.verification import calibrate

SETTINGS = {
    "tau": 10.0,
    "steps_per_item": 20,
    "readout_steps": 20,
    "max_coupling": 2.0,
}


def spiking_accuracy(assembly, task, time_scale, digits, chip):
    """Return float-rate, float-spiking and fixed-point accuracy on test digits."""
    x, y = task.x_test[:digits], task.y_test[:digits]
    max_x, max_drive = calibrate(assembly, task.x_train)
    net = spiking.export(assembly, chip, max_x, max_drive, time_scale=time_scale)
    fixed = spiking.quantize(net, chip, max_drive)
    fine = dataclasses.replace(
        assembly,
        tau=assembly.tau * time_scale,
        steps_per_item=assembly.steps_per_item * time_scale,
        readout_steps=assembly.readout_steps * time_scale,
    )
    drives = x @ assembly.U.T + assembly.b
    result = {"digits": int(len(y)), "rate_fine": accuracy(fine, x, y)}
    for name, params in (("float_spiking", None), ("fixed_spiking", fixed)):
        features = np.concatenate(
            [
                spiking.run_lava(net, drives[i : i + 100], chip, params)["features"]
                for i in range(0, len(y), 100)
            ]
        )
        logits = features @ assembly.C.T + assembly.c0
        result[name] = float(np.mean(np.argmax(logits, axis=1) == y))
    return result


def main() -> None:
    """Train, evaluate and print the accuracies as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--time-scale", type=int, default=4)
    parser.add_argument("--digits", type=int, default=450)
    parser.add_argument("--cache", default="out/benchmarks")
    args = parser.parse_args()
    chip = load_chip("loihi2")
    report = {"seed": args.seed, "epochs": args.epochs}
    start = time.perf_counter()
    for name, sizes in (("module", (16,)), ("assembly", (16, 16, 16, 16))):
        assembly, task, _ = train_or_load(
            args.seed, args.cache, sizes=sizes, epochs=args.epochs, **SETTINGS
        )
        report[name] = {
            "float_test": accuracy(assembly, task.x_test, task.y_test),
            "float_train": accuracy(assembly, task.x_train, task.y_train),
            "certificate_rate": assembly.certificate().rate,
            "euler_factor_at_time_scale": assembly.euler_certificate(
                args.time_scale
            ).bound,
        }
    report["assembly"]["spiking"] = spiking_accuracy(
        assembly, task, args.time_scale, args.digits, chip
    )
    report["seconds"] = time.perf_counter() - start
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
