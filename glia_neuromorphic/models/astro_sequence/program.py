"""Convert the Lava spiking design of the sequence memory into a chip program.

The program has the same groups and integers as the fixed-point Lava graph:
LIF compartments (on/off pairs), the recurrent, astrocyte-input and graded
astrocyte-output synapse groups, the astrocyte group and a bias schedule
that applies the cue for ``cue_steps`` steps and then zero. Backends that run
chip programs (the bit-exact emulator) can run it in place of Lava.
"""

from __future__ import annotations

import numpy as np

from glia_neuromorphic.models.astro_sequence.network import SpikingDesign
from glia_neuromorphic.program import (
    AstrocyteGroup,
    BiasSchedule,
    ChipProgram,
    CompartmentGroup,
    SynapseGroup,
)


def to_program(d: SpikingDesign, seed: int = 0) -> ChipProgram:
    """Return the chip program of design ``d`` (the fixed-point Lava graph)."""
    n2 = 2 * d.n_units
    program = ChipProgram(
        metadata={
            "model": "astro-sequence",
            "target": d.chip.name,
            "dt": d.params.dt,
            "seed": seed,
            "cue_steps": d.params.cue_steps,
            "params": {
                "beta": d.params.beta,
                "tau_n": d.params.tau_n,
                "tau_a": d.params.tau_a,
                "gain": d.params.gain,
            },
        }
    )
    program.add(
        CompartmentGroup(
            name="neurons",
            n=n2,
            decay_u=d.decay_u.stored,
            decay_v=d.decay_v.stored,
            vth=d.vth_mant,
            bias_mant=d.cue_bias_mant,
            bias_exp=d.cue_bias_exp,
            refract_delay=1,
            float_params={"tau_n": d.params.tau_n, "vth": d.vth},
        )
    )
    program.add(
        AstrocyteGroup(
            name="astrocytes",
            n=d.n_units,
            decay_c=d.decay_astro.stored,
            out_shift=d.out_shift,
            c_bits=d.chip.neuron.u_bits,
            float_params={"tau_a": d.params.tau_a},
        )
    )
    for layer, pre, post in (
        (d.rec, "neurons", "neurons"),
        (d.astro_in, "neurons", "astrocytes"),
        (d.astro_out, "astrocytes", "neurons"),
    ):
        program.add(
            SynapseGroup(
                name=layer.name,
                pre=pre,
                post=post,
                weights=layer.mantissa,
                weight_exp=layer.exp,
                num_message_bits=layer.num_message_bits,
                float_weights=layer.float_weights,
            )
        )
    program.add(
        BiasSchedule(
            name="cue",
            target="neurons",
            start_steps=[d.params.cue_steps + 1],
            bias_mant=np.zeros((1, n2), dtype=np.int64),
            float_bias=np.zeros((1, n2)),
        )
    )
    program.probe("neurons", "spikes")
    return program.validate()
