"""Chip programs used by the benchmarks (built from a seed, never loaded)."""

from __future__ import annotations

import numpy as np
import scipy.sparse

from glia_neuromorphic.program import ChipProgram, CompartmentGroup, SynapseGroup


def driven_layer(name: str, n: int, active_fraction: float, rng) -> CompartmentGroup:
    """LIF group in which ``active_fraction`` of the compartments fire every step.

    Active compartments get a bias above threshold (v resets to 0 and the
    bias alone crosses again next step); the rest get no bias.
    """
    active = rng.permutation(n)[: int(round(active_fraction * n))]
    bias = np.zeros(n, dtype=np.int64)
    bias[active] = 200
    return CompartmentGroup(
        name, n=n, decay_u=4095, decay_v=4095, vth=100, bias_mant=bias, bias_exp=6
    )


def feedforward(target: str, n: int, active_fraction: float, seed: int) -> ChipProgram:
    """LIF(n) -> dense all-to-all synapses -> LIF(n), probing the output spikes."""
    rng = np.random.default_rng(seed)
    program = ChipProgram(metadata={"target": target, "seed": seed, "dt": 0.001})
    program.add(driven_layer("pre", n, active_fraction, rng))
    program.add(CompartmentGroup("post", n=n, decay_u=409, decay_v=204, vth=2000))
    weights = rng.integers(-60, 61, size=(n, n)) * 2
    program.add(SynapseGroup("all_to_all", pre="pre", post="post", weights=weights))
    program.probe("post", "spikes")
    return program.validate()


def million(target: str, n: int, fan_in: int, active_fraction: float, seed: int):
    """``n`` compartments with ``fan_in`` random CSR inputs each from a driven layer."""
    rng = np.random.default_rng(seed)
    program = ChipProgram(metadata={"target": target, "seed": seed, "dt": 0.001})
    program.add(driven_layer("pre", n, active_fraction, rng))
    program.add(CompartmentGroup("post", n=n, decay_u=409, decay_v=204, vth=2000))
    nnz = n * fan_in
    weights = scipy.sparse.csr_matrix(
        (
            (rng.integers(-60, 61, size=nnz) * 2).astype(np.int32),
            rng.integers(0, n, size=nnz),
            np.arange(0, nnz + 1, fan_in),
        ),
        shape=(n, n),
    )
    program.add(SynapseGroup("sparse", pre="pre", post="post", weights=weights))
    program.probe("post", "spikes")
    return program
