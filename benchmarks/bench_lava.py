"""Emulator vs Lava Loihi2SimCfg fixed point: LIF(n) -> Dense -> LIF(n)."""

from __future__ import annotations

import argparse

from programs import feedforward
from timing import emit, emulator_steps_per_second, steps_per_second

from glia_neuromorphic.backends.lava import run_lava
from glia_neuromorphic.emulator import emulate
from glia_neuromorphic.fidelity.metrics import compare_bit_exact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=4000, help="neurons per layer")
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.1, 0.5])
    parser.add_argument("--lava-steps", type=int, default=30)
    parser.add_argument("--emulator-steps", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for fraction in args.fractions:
        program = feedforward("loihi2", args.n, fraction, args.seed)
        lava_rate, lava_run = steps_per_second(
            lambda steps, p=program: run_lava(p, steps), 5, 5 + args.lava_steps
        )
        emu_rate = emulator_steps_per_second(program, args.emulator_steps)
        same = compare_bit_exact(emulate(program, lava_run.n_steps), lava_run)
        emit(
            {
                "benchmark": f"LIF({args.n}) -> Dense -> LIF({args.n}), "
                f"{fraction:.0%} of inputs spiking",
                "reference": "lava",
                "emulator_steps_per_s": emu_rate,
                "reference_steps_per_s": lava_rate,
                "speedup": emu_rate / lava_rate,
                "bit_exact": same is None,
                "seed": args.seed,
            }
        )


if __name__ == "__main__":
    main()
