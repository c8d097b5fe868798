"""Emulator vs nengo-loihi's emulator: two ensembles, all-to-all weights."""

from __future__ import annotations

import argparse

from programs import feedforward
from timing import emit, emulator_steps_per_second, steps_per_second

from glia_neuromorphic.backends.nengo_loihi import run_nengo_loihi
from glia_neuromorphic.emulator import emulate
from glia_neuromorphic.fidelity.metrics import compare_bit_exact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000, help="neurons per ensemble")
    parser.add_argument("--fraction", type=float, default=0.1)
    parser.add_argument("--reference-steps", type=int, default=300)
    parser.add_argument("--emulator-steps", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    program = feedforward("loihi1", args.n, args.fraction, args.seed)
    ref_rate, ref_run = steps_per_second(
        lambda steps: run_nengo_loihi(program, steps), 10, 10 + args.reference_steps
    )
    emu_rate = emulator_steps_per_second(program, args.emulator_steps)
    same = compare_bit_exact(emulate(program, ref_run.n_steps), ref_run)
    emit(
        {
            "benchmark": f"2 x {args.n} neurons, all-to-all, "
            f"{args.fraction:.0%} of inputs spiking",
            "reference": "nengo-loihi",
            "emulator_steps_per_s": emu_rate,
            "reference_steps_per_s": ref_rate,
            "speedup": emu_rate / ref_rate,
            "bit_exact": same is None,
            "seed": args.seed,
        }
    )


if __name__ == "__main__":
    main()
