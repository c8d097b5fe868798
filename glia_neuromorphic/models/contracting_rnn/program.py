"""Chip program of the spiking contracting assembly and its run on the emulator.

The program contains the same integers as the fixed-point Lava graph of
``spiking.run_lava``: one compartment group with a network copy per sequence
(``batch * n_neurons`` compartments), one block-diagonal synapse group, and a
bias schedule that switches the drive of every copy at the start of each
sequence item. ``relu`` neurons reset by subtracting the threshold and have
``vmin = 0``, as ``RectifiedLifModelFixed`` does; ``lif`` neurons keep Lava's
reset to zero over the full voltage range.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from glia_neuromorphic.emulator.engine import Emulator
from glia_neuromorphic.hwconfig import ChipConfig
from glia_neuromorphic.models.contracting_rnn.spiking import (
    FixedPointNetwork,
    SpikingNetwork,
)
from glia_neuromorphic.program import (
    BiasSchedule,
    ChipProgram,
    CompartmentGroup,
    SynapseGroup,
)

#: Name of the compartment group in the program.
NEURONS = "neurons"


def initial_current(
    net: SpikingNetwork, s0: np.ndarray | None, batch: int, chip: ChipConfig
) -> np.ndarray | None:
    """Return the integer initial currents of rate-model states ``s0`` (batch, n).

    The scaling and rounding are those of ``spiking.run_lava`` in fixed point.
    """
    if s0 is None:
        return None
    u0 = net.current(np.asarray(s0, float)) * 2.0**chip.neuron.act_shift
    return np.rint(u0).astype(np.int64).reshape(batch * net.n_neurons)


def to_program(
    net: SpikingNetwork,
    fixed: FixedPointNetwork,
    drives: np.ndarray,
    chip: ChipConfig,
    s0: np.ndarray | None = None,
    seed: int = 0,
) -> ChipProgram:
    """Return the chip program of ``net`` run on ``drives``, one copy per sequence.

    Parameters
    ----------
    net, fixed : SpikingNetwork, FixedPointNetwork
        Float export and its quantization (``spiking.export``,
        ``spiking.quantize``).
    drives : ndarray, shape (batch, items, n_units)
        Unit drives ``U u + b`` per sequence item; they become the biases.
    chip : ChipConfig
        Target chip; sets the bias and current scaling.
    s0 : ndarray, shape (batch, n_units), optional
        Initial rate-model state, stored as the initial current ``u_init``.
    seed : int
        Recorded in the program's metadata.
    """
    batch, items, _ = drives.shape
    size = batch * net.n_neurons
    bias = fixed.bias(net, drives, chip)
    if net.neuron == "relu":
        voltage = {"reset_mode": "subtract", "vmin": 0}
    else:
        voltage = {"reset_mode": "zero"}
    program = ChipProgram(
        metadata={
            "model": "contracting-rnn",
            "target": chip.name,
            "seed": int(seed),
            "batch": int(batch),
            "items": int(items),
            "steps_per_item": int(net.steps_per_item),
            "readout_steps": int(net.readout_steps),
            "neuron": net.neuron,
        }
    )
    program.add(
        CompartmentGroup(
            name=NEURONS,
            n=size,
            decay_u=fixed.du,
            decay_v=0,
            vth=fixed.vth,
            bias_mant=bias[:, 0].reshape(-1),
            bias_exp=fixed.bias_exp,
            refract_delay=1,
            u_init=initial_current(net, s0, batch, chip),
            float_params={"tau_s": net.tau_s, "vth": net.vth},
            **voltage,
        )
    )
    block = scipy.sparse.kron(
        scipy.sparse.eye(batch, dtype=np.int64),
        scipy.sparse.csr_matrix(fixed.weights.astype(np.int64)),
    )
    program.add(
        SynapseGroup(
            name="recurrent",
            pre=NEURONS,
            post=NEURONS,
            weights=block.tocsr(),
            weight_exp=fixed.weight_exp,
            sign_mode="mixed",
            float_weights=net.weights,
        )
    )
    if items > 1:
        program.add(
            BiasSchedule(
                name="items",
                target=NEURONS,
                start_steps=1 + net.steps_per_item * np.arange(1, items),
                bias_mant=bias[:, 1:].transpose(1, 0, 2).reshape(items - 1, size),
            )
        )
    return program.validate()


def run_emulator(
    net: SpikingNetwork,
    drives: np.ndarray,
    chip: ChipConfig,
    fixed: FixedPointNetwork,
    s0: np.ndarray | None = None,
    probe_current: bool = False,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Run the fixed-point network on the bit-exact emulator, like ``run_lava``.

    Parameters and returned entries are those of ``spiking.run_lava`` with
    ``fixed`` required (the emulator runs integers only): ``counts`` and
    ``features`` of the readout window, and with ``probe_current`` the
    current ``s`` in rate-model units, shape (steps, batch, n_units).

    Raises
    ------
    BackendError
        If the chip's reference cannot run the neuron model (Loihi 1 has no
        reset by subtraction).
    """
    batch, items, _ = drives.shape
    program = to_program(net, fixed, drives, chip, s0=s0, seed=seed)
    emulator = Emulator(program, chip, seed=seed)
    neurons = emulator.states[NEURONS]
    total = items * net.steps_per_item
    readout_start = total - net.readout_steps
    counts = np.zeros((batch, net.n_neurons), dtype=np.int64)
    current = np.zeros((total, batch, net.n_units)) if probe_current else None

    for k in range(total):
        emulator.step()
        if k >= readout_start:
            counts += neurons.output.reshape(batch, net.n_neurons)
        if current is not None:
            u = neurons.u.reshape(batch, net.n_neurons)[:, : net.n_units]
            current[k] = u / 2.0**chip.neuron.act_shift / net.kappa

    out = {"counts": counts[:, : net.n_units]}
    if current is not None:
        out["s"] = current
    out["features"] = out["counts"] / (net.rate_scale * net.readout_steps)
    return out
