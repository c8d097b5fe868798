"""Run a chip program on nengo-loihi's emulator, built from its integer parameters.

Each compartment group becomes a ``LoihiBlock`` whose compartments store the
program's integers in nengo-loihi's units: threshold ``vth << vth_shift``,
bias ``bias_mant`` shifted by ``bias_exp``, and the group's ``vmin``/``vmax``
(the full register range where unset). Each synapse group becomes a
``Synapse`` plus the ``Axon`` of its pre group, and its weights go through
nengo-loihi's own ``discretize_weights``. Each spike source becomes a
``SpikeInput``. ``EmulatorInterface`` runs the model.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse

from glia_neuromorphic.backends._common import (
    empty_probe_data,
    reference_chip,
    reference_result,
)
from glia_neuromorphic.emulator.arithmetic import shift
from glia_neuromorphic.errors import BackendError
from glia_neuromorphic.hwconfig import ChipConfig, Target
from glia_neuromorphic.program import (
    AstrocyteGroup,
    BiasSchedule,
    ChipProgram,
    CompartmentGroup,
    SpikeSource,
    SynapseGroup,
)
from glia_neuromorphic.runs import RunResult

#: nengo-loihi compartment attribute recorded for each probe variable.
_KEYS = {"spikes": "spiked", "u": "current", "v": "voltage"}


def _make_block(group: CompartmentGroup, chip: ChipConfig):
    from nengo_loihi.block import LoihiBlock

    block = LoihiBlock(group.n, label=group.name)
    comp = block.compartment
    comp.decay_u = group.decay_u.astype(np.int32)
    comp.decay_v = group.decay_v.astype(np.int32)
    comp.scale_u = False
    comp.scale_v = False
    comp.vth = (group.vth.astype(np.int64) << chip.neuron.vth_shift).astype(np.int32)
    comp.bias = _bias(group.bias_mant, group.bias_exp)
    comp.refract_delay = group.refract_delay.astype(np.int32)
    v_limit = (1 << (chip.neuron.v_bits - 1)) - 1
    comp.vmin = -v_limit if group.vmin is None else group.vmin
    comp.vmax = v_limit if group.vmax is None else group.vmax
    if group.reset_mode != "zero":
        raise BackendError(
            f"compartment group {group.name!r}: reset_mode {group.reset_mode!r}, "
            "but nengo-loihi 1.1.0 always resets v to 0 after a spike; use "
            "reset_mode='zero' or run a Loihi 2 target"
        )
    for field in ("u_init", "v_init"):
        initial = getattr(group, field)
        if initial is not None and np.any(initial):
            raise BackendError(
                f"compartment group {group.name!r}: {field} is non-zero, but the "
                "nengo-loihi backend starts every compartment at 0; run it on "
                "the emulator"
            )
    return block


def _bias(bias_mant: np.ndarray, bias_exp: np.ndarray) -> np.ndarray:
    return shift(bias_mant.astype(np.int64), bias_exp.astype(np.int64)).astype(np.int32)


def _make_synapse(group: SynapseGroup, chip: ChipConfig):
    from nengo_loihi.block import Synapse
    from nengo_loihi.builder.discretize import array_to_int, discretize_weights

    if group.delays is not None and np.any(np.asarray(group.delays) != 0):
        raise BackendError(
            f"synapse group {group.name!r}: nengo-loihi's emulator has no "
            "synaptic delays; run it on the emulator or on Lava"
        )
    n_post, n_pre = group.shape
    synapse = Synapse(n_pre, label=group.name)
    weights = group.weights
    if scipy.sparse.issparse(weights) and weights.nnz == 0:
        # nengo-loihi cannot size the index field of a synapse with no entries
        weights = weights.toarray()
    if scipy.sparse.issparse(weights):
        pre_major = scipy.sparse.csr_matrix(weights.T, dtype=np.float32)
    else:
        pre_major = np.asarray(weights, dtype=np.float32).T
    synapse.set_weights(pre_major)
    # Mixed-sign synapses use nengo-loihi's default format (fanout_type 1,
    # one mantissa bit for the sign); single-sign ones keep all 8 bits.
    synapse.format(
        weight_exp=group.weight_exp,
        fanout_type=1 if group.sign_mode == "mixed" else 0,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Lost .* extra bits")
        for w in synapse.weights:
            array_to_int(w, discretize_weights(synapse.synapse_cfg, w))
    return synapse


class NengoLoihiRun:
    """A chip program built as a nengo-loihi model, ready to run.

    Parameters
    ----------
    program : ChipProgram
        The program; it is validated first.
    chip : ChipConfig
        Target chip (its reference must be nengo-loihi).
    strict : bool
        Use nengo-loihi's strict mode: overflow raises ``SimulationError``.
    """

    def __init__(self, program: ChipProgram, chip: ChipConfig, strict: bool = False):
        from nengo_loihi.builder import Model

        program.validate()
        self.program = program
        self.chip = chip
        self.strict = strict
        self.model = Model(dt=float(program.metadata.get("dt", 0.001)))
        self.blocks = {}
        self.inputs = {}
        for group in program.groups.values():
            self._add_group(group)
        for group in program.of_kind(SynapseGroup):
            self._add_synapse(group)
        self.probes = self._add_probes()

    def _add_group(self, group) -> None:
        from nengo_loihi.inputs import SpikeInput

        if isinstance(group, CompartmentGroup):
            block = _make_block(group, self.chip)
            self.model.add_block(block)
            self.blocks[group.name] = block
        elif isinstance(group, SpikeSource):
            source = SpikeInput(group.n, label=group.name)
            for step in np.unique(group.steps):
                if step >= 1:
                    idxs = group.indices[group.steps == step]
                    source.add_spikes(int(step), np.unique(idxs), permanent=True)
            self.model.add_input(source)
            self.inputs[group.name] = source
        elif isinstance(group, AstrocyteGroup):
            raise BackendError(
                f"astrocyte group {group.name!r}: nengo-loihi has no astrocyte "
                "compartment; run it on the emulator or on Lava"
            )
        elif not isinstance(group, SynapseGroup | BiasSchedule):
            raise BackendError(
                f"group {group.name!r} ({group.kind}) has no nengo-loihi counterpart"
            )

    def _add_synapse(self, group: SynapseGroup) -> None:
        from nengo_loihi.block import Axon

        synapse = _make_synapse(group, self.chip)
        self.blocks[group.post].add_synapse(synapse)
        axon = Axon(group.shape[1], label=group.name)
        axon.target = synapse
        if group.pre in self.inputs:
            self.inputs[group.pre].add_axon(axon)
        else:
            self.blocks[group.pre].add_axon(axon)

    def _add_probes(self) -> dict:
        from nengo_loihi.probe import LoihiProbe

        probes = {}
        for spec in dict.fromkeys(self.program.probes):
            if spec.target in self.inputs:
                probes[spec] = None  # filled from the schedule after the run
                continue
            probe = LoihiProbe(
                target=self.blocks[spec.target], key=_KEYS[spec.variable]
            )
            self.model.add_probe(probe)
            probes[spec] = probe
        return probes

    def run(self, steps: int) -> tuple[dict[str, np.ndarray], int]:
        """Run ``steps`` steps; return the probe data and the overflow warnings."""
        from nengo_loihi.emulator import EmulatorInterface

        if not self.blocks:
            # nengo-loihi's emulator needs at least one block
            return self._collect(None, steps), 0

        class _Interface(EmulatorInterface):
            strict = self.strict

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            emulator = _Interface(self.model, seed=0)
            done = 0
            for start in self._breaks(steps):
                emulator.run_steps(start - 1 - done)
                done = start - 1
                self._apply_schedules(emulator, start)
            emulator.run_steps(steps - done)
            data = self._collect(emulator, steps)
            emulator.close()
        overflows = sum("Overflow" in str(w.message) for w in caught)
        return data, overflows

    def _breaks(self, steps: int) -> list[int]:
        starts = {
            int(s)
            for sched in self.program.of_kind(BiasSchedule)
            for s in sched.start_steps
            if s <= steps
        }
        return sorted(max(s, 1) for s in starts)

    def _apply_schedules(self, emulator, step: int) -> None:
        for sched in self.program.of_kind(BiasSchedule):
            rows = np.flatnonzero(sched.start_steps <= step)
            if not rows.size:
                continue
            group = self.program.groups[sched.target]
            block = self.blocks[sched.target]
            sl = emulator.block_info.slices[block]
            emulator.compartment.bias[sl] = _bias(
                sched.bias_mant[rows[-1]], group.bias_exp
            )

    def _collect(self, emulator, steps: int) -> dict[str, np.ndarray]:
        data = {}
        for spec, probe in self.probes.items():
            key = f"{spec.target}.{spec.variable}"
            if probe is None:
                data[key] = _source_spikes(self.program.groups[spec.target], steps)
                continue
            values = np.asarray(emulator.collect_probe_output(probe))
            data[key] = values != 0 if spec.variable == "spikes" else values
        return data


def _source_spikes(group: SpikeSource, steps: int) -> np.ndarray:
    out = np.zeros((steps, group.n), dtype=bool)
    keep = (group.steps >= 1) & (group.steps <= steps)
    out[group.steps[keep] - 1, group.indices[keep]] = True
    return out


def run_nengo_loihi(
    program: ChipProgram,
    steps: int,
    target: str | Target | ChipConfig | None = None,
    *,
    seed: int = 0,
    strict: bool = False,
) -> RunResult:
    """Run ``program`` for ``steps`` steps on nengo-loihi 1.1.0's emulator.

    Raises
    ------
    BackendError
        If the target does not follow nengo-loihi or the program uses what
        nengo-loihi cannot express (delays, graded spikes, astrocytes).
    """
    chip = reference_chip(program, target, "nengo-loihi")
    for group in program.of_kind(SynapseGroup):
        if group.num_message_bits > 0:
            raise BackendError(
                f"synapse group {group.name!r}: nengo-loihi sends binary spikes "
                "only (num_message_bits must be 0)"
            )
    run = NengoLoihiRun(program, chip, strict=strict)
    if steps > 0:
        data, overflows = run.run(steps)
    else:
        data, overflows = empty_probe_data(program), 0
    return reference_result(
        program,
        chip,
        "nengo-loihi",
        data,
        steps=steps,
        seed=seed,
        counters={"overflow_warnings": overflows},
    )
