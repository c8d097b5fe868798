"""Neuron-astrocyte associative sequence memory with astrocyte-driven transitions.

Symmetric weights ``J_s`` store the memories; an astrocytic calcium trace of
each neuron's activity drives the asymmetric weights ``gain * J_a`` that push
the state from each memory to the next. Transitions need ``gain > 1`` and the
dwell time scales with the astrocyte time constant.
"""

from __future__ import annotations

from glia_neuromorphic.models.astro_sequence.params import AstroParams
from glia_neuromorphic.models.astro_sequence.verify import verify

__all__ = ["AstroParams", "build", "sweep", "verify"]


def build(target: str = "loihi2", precision: str = "fixed", seed: int = 0):
    """Return the digits sequence memory as a graph ``glia compile`` can read.

    For a chip with graded spikes (Loihi 2) this is the Lava graph: LIF
    neurons (on/off pairs), Dense synapses and the Astrocyte process, with
    float or fixed-point parameters as ``precision`` selects. Loihi 1 has no
    graded spikes, so for it this is the Nengo network, whose astrocytes are
    spiking populations behind a slow synapse; nengo-loihi quantizes it.
    """
    from glia_neuromorphic.hwconfig import load_target
    from glia_neuromorphic.models.astro_sequence.patterns import (
        corrupt,
        digit_patterns,
        sequence_weights,
    )
    from glia_neuromorphic.models.astro_sequence.verify import CUE_FLIP_FRACTION

    params = AstroParams()
    patterns = digit_patterns(64)
    j_s, j_a = sequence_weights(patterns)
    cue = corrupt(patterns[0], CUE_FLIP_FRACTION, seed=seed)
    chip = load_target(target).chip
    if chip.synapse.graded_spike_bits == 0:
        from glia_neuromorphic.models.astro_sequence.nengo_net import build_network

        return build_network(params, j_s, j_a, cue, chip, seed=seed).network

    from glia_neuromorphic.models.astro_sequence.lava_graph import build_graph
    from glia_neuromorphic.models.astro_sequence.network import design

    d = design(params, j_s, j_a, cue, chip)
    return build_graph(d, precision).processes


def sweep(
    study: str,
    backends=("rate",),
    n_units: int = 1000,
    seeds: int = 3,
    memories: str = "random",
    workers: int | None = None,
    scheduler: str = "processes",
    out="out/sweeps",
    astro_copies: int = 1,
    fractions=None,
    patterns=None,
) -> dict:
    """Run the timing, atrophy or scale study and write its reports to ``out``.

    ``astro_copies`` sets the astrocyte pairs per unit of the Nengo backends;
    ``fractions`` replaces the default atrophy grid and ``patterns`` the
    scale study's chain lengths.
    """
    from pathlib import Path

    from glia_neuromorphic.models.astro_sequence.studies import run_study

    return run_study(
        study,
        backends,
        n_units,
        seeds,
        Path(out),
        workers,
        scheduler,
        memories,
        astro_copies=astro_copies,
        fractions=fractions,
        patterns=patterns,
    )
