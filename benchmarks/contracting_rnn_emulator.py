"""Time the contracting assembly's fixed point on the emulator against Lava.

Usage: ``python benchmarks/contracting_rnn_emulator.py [--seed 0] [--digits 50]
[--out out/bench/contracting]``. Trains (or loads from ``OUT/cache``) the
assembly that ``glia verify contracting-rnn`` uses and exports and quantizes
it the same way. Runs the held-out digits on Lava's bit-accurate models, then
twice on the emulator: the first run includes numba's compilation unless its
cache is warm. Checks that the spike counts are identical and prints one JSON
object with the wall times in seconds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from glia_neuromorphic.hwconfig import load_chip
from glia_neuromorphic.models.contracting_rnn import spiking, train_or_load
from glia_neuromorphic.models.contracting_rnn.program import run_emulator
from glia_neuromorphic.models.contracting_rnn.verification import (
    TIME_SCALE,
    VERIFY_ASSEMBLY,
    calibrate,
)


def _timed(run, *args):
    start = time.perf_counter()
    result = run(*args)
    return result, time.perf_counter() - start


def main() -> None:
    """Run both backends and print the timings as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--digits", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("out/bench/contracting"))
    args = parser.parse_args()

    chip = load_chip("loihi2")
    settings = dict(VERIFY_ASSEMBLY)
    sizes, epochs = settings.pop("sizes"), settings.pop("epochs")
    assembly, task, _ = train_or_load(
        args.seed, args.out / "cache", sizes=sizes, epochs=epochs, **settings
    )
    max_x, max_drive = calibrate(assembly, task.x_train)
    net = spiking.export(assembly, chip, max_x, max_drive, time_scale=TIME_SCALE)
    fixed = spiking.quantize(net, chip, max_drive)
    drives = task.x_test[: args.digits] @ assembly.U.T + assembly.b

    lava, lava_s = _timed(spiking.run_lava, net, drives, chip, fixed)
    first, first_s = _timed(run_emulator, net, drives, chip, fixed)
    second, second_s = _timed(run_emulator, net, drives, chip, fixed)
    identical = bool(
        np.array_equal(lava["counts"], first["counts"])
        and np.array_equal(first["counts"], second["counts"])
    )
    steps = drives.shape[1] * net.steps_per_item
    print(
        json.dumps(
            {
                "seed": args.seed,
                "digits": int(len(drives)),
                "compartments": int(len(drives) * net.n_neurons),
                "steps": int(steps),
                "lava_fixed_s": round(lava_s, 2),
                "emulator_first_s": round(first_s, 2),
                "emulator_s": round(second_s, 2),
                "speedup": round(lava_s / second_s, 1),
                "spike_counts_identical": identical,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
