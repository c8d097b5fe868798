"""Emulator on a sparse program of one million compartments per layer."""

from __future__ import annotations

import argparse
import resource
import time

from programs import million
from timing import emit

from glia_neuromorphic.emulator import Emulator


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--n", type=int, default=1_000_000, help="compartments per layer"
    )
    parser.add_argument(
        "--fan-in", type=int, default=10, help="synapses per compartment"
    )
    parser.add_argument("--fraction", type=float, default=0.05)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    baseline = _peak_rss_mb()
    start = time.perf_counter()
    program = million("loihi2", args.n, args.fan_in, args.fraction, args.seed)
    emulator = Emulator(program, seed=args.seed)
    emulator.run(1)
    build = time.perf_counter() - start
    start = time.perf_counter()
    result = emulator.run(args.steps)
    seconds = time.perf_counter() - start

    emit(
        {
            "benchmark": f"2 x {args.n:,} compartments, {args.fan_in} CSR synapses "
            f"each, {args.fraction:.0%} spiking",
            "compartments": 2 * args.n,
            "synapses": args.n * args.fan_in,
            "emulator_steps_per_s": args.steps / seconds,
            "build_s": build,
            "peak_rss_mb": _peak_rss_mb(),
            "rss_before_build_mb": baseline,
            "output_spikes": int(result["post.spikes"].sum()),
            "seed": args.seed,
        }
    )


if __name__ == "__main__":
    main()
