"""Run a chip program on Lava's CPU simulator with its bit-accurate process models.

Each compartment group becomes a Lava ``LIF``, each synapse group a
``Dense``, ``Sparse`` or (with delays) ``DelayDense``, each spike source a
``RingBuffer``, each astrocyte group the project's ``Astrocyte`` process. The
integer parameters go in unchanged and the graph runs under
``Loihi2SimCfg(select_tag="fixed_pt")``; Monitors record the probes. Bias
schedules split the run into segments and set ``bias_mant`` in between.
A group with ``reset_mode="subtract"`` and ``vmin=0`` runs the project's
``RectifiedLifModelFixed`` (Lava's bit-accurate LIF with a voltage floor at 0
and reset by subtraction), selected for that process alone.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse

from glia_neuromorphic.backends._common import (
    empty_probe_data,
    reference_chip,
    reference_result,
)
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

logger = logging.getLogger(__name__)

#: Lava names of the probed variables, per group kind.
_LAVA_VARIABLES = {
    ("lif", "spikes"): "s_out",
    ("lif", "u"): "u",
    ("lif", "v"): "v",
    ("spike_source", "spikes"): "s_out",
    ("astrocyte", "c"): "c",
}


def _sign_mode(name: str):
    from lava.utils.weightutils import SignMode

    return {
        "mixed": SignMode.MIXED,
        "excitatory": SignMode.EXCITATORY,
        "inhibitory": SignMode.INHIBITORY,
    }[name]


def _make_lif(group: CompartmentGroup, chip: ChipConfig):
    from lava.proc.lif.process import LIF

    if np.any(group.refract_delay > 1):
        raise BackendError(
            f"compartment group {group.name!r}: refract_delay > 1, but lava-nc "
            "0.10 has no fixed-point refractory LIF; run it on the emulator"
        )
    _lava_neuron_model(group, chip)
    initial = {
        key: getattr(group, f"{key}_init").copy()
        for key in ("u", "v")
        if getattr(group, f"{key}_init") is not None
    }
    # du, dv and vth are (1,) Vars in Lava, but the bit-accurate model
    # broadcasts per-compartment arrays, so one LIF process runs the group.
    return LIF(
        shape=(group.n,),
        du=group.decay_u.copy(),
        dv=group.decay_v.copy(),
        vth=group.vth.copy(),
        bias_mant=group.bias_mant.copy(),
        bias_exp=group.bias_exp.copy(),
        name=group.name,
        **initial,
    )


def _lava_neuron_model(group: CompartmentGroup, chip: ChipConfig):
    """Return the LIF process model class for ``group``, or None for Lava's own.

    Lava's LIF clips v to the full register and resets to 0; the rectified
    model floors v at 0 and subtracts the threshold. Other combinations of
    reset mode and voltage limits have no Lava model.
    """
    limit = (1 << (chip.neuron.v_bits - 1)) - 1
    ceiling_full = group.vmax in (None, limit)
    if group.reset_mode == "zero" and group.vmin in (None, -limit) and ceiling_full:
        return None
    if group.reset_mode == "subtract" and group.vmin == 0 and ceiling_full:
        from glia_neuromorphic.models.contracting_rnn import lava_models

        return lava_models.RectifiedLifModelFixed
    raise BackendError(
        f"compartment group {group.name!r}: reset_mode {group.reset_mode!r} with "
        f"vmin={group.vmin}, vmax={group.vmax} has no Lava process model (Lava "
        "runs reset 'zero' with the full voltage range, or reset 'subtract' "
        "with vmin=0); run it on the emulator"
    )


def _make_source(group: SpikeSource, steps: int):
    from lava.proc.io.source import RingBuffer

    data = np.zeros((group.n, max(steps, 1)), dtype=bool)
    keep = (group.steps >= 1) & (group.steps <= steps)
    data[group.indices[keep], group.steps[keep] - 1] = True
    return RingBuffer(data=data)


def _make_astrocyte(group: AstrocyteGroup, chip: ChipConfig):
    from glia_neuromorphic.processes.astrocyte import Astrocyte

    return Astrocyte(
        shape=(group.n,),
        decay_c=group.decay_c,
        out_shift=group.out_shift,
        target=str(chip.path),
        decay_bits=chip.neuron.decay_bits,
        decay_offset=chip.neuron.decay_u_offset,
        act_shift=chip.neuron.act_shift,
        c_bits=group.c_bits,
        name=group.name,
    )


def _make_synapse(group: SynapseGroup, chip: ChipConfig):
    from lava.proc.dense.process import DelayDense, Dense
    from lava.proc.sparse.process import Sparse

    params = {
        "weight_exp": group.weight_exp,
        "num_weight_bits": chip.synapse.weight_mant_bits,
        "sign_mode": _sign_mode(group.sign_mode),
        "num_message_bits": group.num_message_bits,
        "name": group.name,
    }
    weights = group.weights
    if group.delays is not None:
        dense = weights.toarray() if scipy.sparse.issparse(weights) else weights
        return DelayDense(
            weights=np.asarray(dense, dtype=np.int64),
            delays=np.asarray(group.delays, dtype=np.int64),
            **params,
        )
    if scipy.sparse.issparse(weights):
        return Sparse(weights=scipy.sparse.csr_matrix(weights), **params)
    return Dense(weights=np.asarray(weights, dtype=np.int64), **params)


class LavaRun:
    """A chip program built as a Lava process graph, ready to run.

    Parameters
    ----------
    program : ChipProgram
        The program; it is validated first.
    chip : ChipConfig
        Target chip; its bit widths must match Lava's LIF (24-bit u and v).
    steps : int
        Number of steps the run will take (sizes spike buffers and Monitors).
    """

    def __init__(self, program: ChipProgram, chip: ChipConfig, steps: int) -> None:
        program.validate()
        self.program = program
        self.chip = chip
        self.steps = steps
        self.procs = {}
        # Loihi2SimCfg looks up processes (not only their classes) in its
        # exception map, so each rectified group gets its own model entry
        self.models = {}
        for group in program.groups.values():
            if isinstance(group, CompartmentGroup):
                self.procs[group.name] = _make_lif(group, chip)
                model = _lava_neuron_model(group, chip)
                if model is not None:
                    self.models[self.procs[group.name]] = model
            elif isinstance(group, SpikeSource):
                self.procs[group.name] = _make_source(group, steps)
            elif isinstance(group, AstrocyteGroup):
                self.procs[group.name] = _make_astrocyte(group, chip)
            elif not isinstance(group, SynapseGroup | BiasSchedule):
                raise BackendError(
                    f"group {group.name!r} ({group.kind}) has no Lava counterpart"
                )
        self.edges = []
        for group in program.of_kind(SynapseGroup):
            syn = _make_synapse(group, chip)
            self.procs[group.pre].s_out.connect(syn.s_in)
            syn.a_out.connect(self.procs[group.post].a_in)
            self.procs[group.name] = syn
            self.edges.append((group.pre, group.post))
        self.monitors = self._add_monitors()

    def _add_monitors(self) -> dict:
        from lava.proc.monitor.process import Monitor

        monitors = {}
        for spec in dict.fromkeys(self.program.probes):
            kind = self.program.groups[spec.target].kind
            lava_name = _LAVA_VARIABLES.get((kind, spec.variable))
            if lava_name is None:
                raise BackendError(
                    f"probe {spec.target}.{spec.variable}: Lava backend cannot "
                    f"record {spec.variable!r} of a {kind!r} group"
                )
            monitor = Monitor()
            monitor.probe(getattr(self.procs[spec.target], lava_name), self.steps)
            monitors[spec] = (monitor, lava_name)
        return monitors

    def _components(self) -> list[str]:
        """Return one group name per connected part of the process graph."""
        parent = {name: name for name in self.program.groups}

        def find(x):
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for pre, post in self.edges:
            parent[find(pre)] = find(post)
        runnable = [n for n in self.procs if n in parent]
        roots = {}
        for name in runnable:
            if not isinstance(self.program.groups[name], SynapseGroup):
                roots.setdefault(find(name), name)
        return list(roots.values())

    def run(self) -> dict[str, np.ndarray]:
        """Run all steps, applying bias schedules between segments."""
        from lava.magma.core.run_conditions import RunSteps
        from lava.magma.core.run_configs import Loihi2SimCfg

        breaks = sorted(
            {
                int(s)
                for sched in self.program.of_kind(BiasSchedule)
                for s in sched.start_steps
                if 1 < s <= self.steps
            }
        )
        heads = self._components()
        cfg = Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map=self.models)
        done = 0
        try:
            for end in [*breaks, self.steps + 1]:
                self._apply_schedules(done + 1)
                for head in heads:
                    if end - 1 > done:
                        self.procs[head].run(
                            condition=RunSteps(num_steps=end - 1 - done), run_cfg=cfg
                        )
                done = end - 1
            return self._collect()
        finally:
            for head in heads:
                self.procs[head].stop()

    def _apply_schedules(self, step: int) -> None:
        """Set each scheduled group's bias mantissas in force at ``step``."""
        for sched in self.program.of_kind(BiasSchedule):
            rows = np.flatnonzero(sched.start_steps <= step)
            if not rows.size:
                continue
            value = sched.bias_mant[rows[-1]].astype(np.int64)
            var = self.procs[sched.target].bias_mant
            if step == 1:
                var.init = value
            else:
                var.set(value)

    def _collect(self) -> dict[str, np.ndarray]:
        data = {}
        for spec, (monitor, lava_name) in self.monitors.items():
            proc = self.procs[spec.target]
            values = np.asarray(monitor.get_data()[proc.name][lava_name])
            if spec.variable == "spikes":
                data[f"{spec.target}.{spec.variable}"] = values != 0
            else:
                data[f"{spec.target}.{spec.variable}"] = values.astype(np.int64)
        return data


def run_lava(
    program: ChipProgram,
    steps: int,
    target: str | Target | ChipConfig | None = None,
    *,
    seed: int = 0,
) -> RunResult:
    """Run ``program`` for ``steps`` steps on Lava's fixed-point CPU models.

    Raises
    ------
    BackendError
        If the target's reference is not Lava or the program uses something
        Lava 0.10 cannot run bit-accurately (refractory periods).
    """
    chip = reference_chip(program, target, "lava")
    if steps > 0:
        data = LavaRun(program, chip, steps).run()
    else:
        data = empty_probe_data(program.validate())
    return reference_result(program, chip, "lava", data, steps=steps, seed=seed)
