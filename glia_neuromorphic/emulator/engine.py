"""The emulator loop: one synchronous, whole-array integer update per step."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import numpy as np

from glia_neuromorphic.emulator.arithmetic import RegisterLog
from glia_neuromorphic.emulator.groups import (
    AstrocyteState,
    LifState,
    SourceState,
    make_arithmetic,
)
from glia_neuromorphic.emulator.synapses import EmulatedSynapses, FusedSynapses
from glia_neuromorphic.errors import BackendError, ValidationError
from glia_neuromorphic.hwconfig import ChipConfig, Target, load_target
from glia_neuromorphic.program import (
    AstrocyteGroup,
    BiasSchedule,
    ChipProgram,
    CompartmentGroup,
    SpikeSource,
    SynapseGroup,
)
from glia_neuromorphic.runs import SPIKE_LATENCY, RunResult

logger = logging.getLogger(__name__)

#: Probe variables each group kind records.
PROBE_VARIABLES = {
    "lif": ("spikes", "u", "v"),
    "astrocyte": ("c",),
    "spike_source": ("spikes",),
}


def resolve_chip(program: ChipProgram, target: str | Target | ChipConfig | None):
    """Return the chip config for ``target`` or, if None, the program's target.

    Raises
    ------
    ValidationError
        If neither names a target, or if ``target`` is a chip of another kind
        than the one the program was compiled for (a board of the same chip
        is accepted).
    """
    compiled = program.metadata.get("target")
    if target is None:
        if compiled is None:
            raise ValidationError(
                "program has no 'target' in its metadata; pass target='loihi1' or "
                "target='loihi2'"
            )
        return load_target(compiled).chip
    if isinstance(target, ChipConfig):
        chip, label = target, target.name
    elif isinstance(target, Target):
        chip, label = target.chip, target.name
    else:
        chip, label = load_target(target).chip, str(target)
    if compiled is not None:
        expected = load_target(compiled).chip.name
        if chip.name != expected:
            raise ValidationError(
                f"program was compiled for {expected} (target {compiled!r}), but "
                f"target {label!r} is a {chip.name} chip; omit the target (--target) "
                f"to run on the program's own target, or recompile the model for "
                f"{label}"
            )
    return chip


class Emulator:
    """Bit-exact emulator of one chip program on one target.

    The target's ``reference`` field picks the arithmetic: ``lava`` follows
    lava-nc 0.10's bit-accurate LIF, Dense, Sparse and DelayDense models;
    ``nengo-loihi`` follows nengo-loihi 1.1.0's emulator. Every group updates
    once per step from the input its synapses computed in the previous step,
    so a spike at step t reaches its targets at step t + 1 + delay.

    Parameters
    ----------
    program : ChipProgram
        The program to run; it is validated first.
    target : str, Target, ChipConfig or None
        hw_configs target; None uses ``program.metadata["target"]``. It must
        have the chip the program was compiled for (a board of that chip is
        accepted).
    strict : bool
        Raise :class:`~glia_neuromorphic.errors.RegisterOverflowError` on the
        first wrap or clip instead of counting it.
    seed : int
        Recorded in the result; the emulator itself draws no random numbers.
    """

    def __init__(
        self,
        program: ChipProgram,
        target: str | Target | ChipConfig | None = None,
        *,
        strict: bool = False,
        seed: int = 0,
    ) -> None:
        program.validate()
        self.program = program
        self.chip = resolve_chip(program, target)
        self.seed = int(seed)
        self.log = RegisterLog(strict=strict)
        self.arithmetic = make_arithmetic(self.chip, self.log)
        self.states = self._build_states(program)
        self.synapses = [
            EmulatedSynapses(g, self.chip) for g in program.of_kind(SynapseGroup)
        ]
        self.schedules = list(program.of_kind(BiasSchedule))
        self._check_probes(program)
        self._build_input_rings()
        self._fuse_synapses()
        self.t = 0
        self._program_hash: str | None = None

    def _build_states(self, program: ChipProgram) -> dict:
        states = {}
        for group in program.groups.values():
            if isinstance(group, CompartmentGroup):
                states[group.name] = LifState(group, self.chip, self.arithmetic)
            elif isinstance(group, AstrocyteGroup):
                states[group.name] = AstrocyteState(group, self.chip, self.arithmetic)
            elif isinstance(group, SpikeSource):
                states[group.name] = SourceState(group)
            elif not isinstance(group, SynapseGroup | BiasSchedule):
                raise BackendError(
                    f"group {group.name!r} has kind {group.kind!r}, which the "
                    "emulator does not run; remove it or extend the emulator"
                )
        for name, state in states.items():
            if isinstance(state, SourceState):
                continue
            for register, policy in state.registers.items():
                self.log.declare(name, register, policy)
        return states

    def _check_probes(self, program: ChipProgram) -> None:
        for spec in program.probes:
            kind = program.groups[spec.target].kind
            allowed = PROBE_VARIABLES.get(kind, ())
            if spec.variable not in allowed:
                raise ValidationError(
                    f"probe {spec.target}.{spec.variable}: group kind {kind!r} "
                    f"records {list(allowed) or 'nothing'}"
                )
        self.probes = list(dict.fromkeys(program.probes))

    def _build_input_rings(self) -> None:
        depth: dict[str, int] = {}
        for syn in self.synapses:
            if isinstance(self.states[syn.post], SourceState):
                raise ValidationError(
                    f"synapse group {syn.name!r}: post group {syn.post!r} is a "
                    "spike source, which takes no input"
                )
            depth[syn.post] = max(depth.get(syn.post, 0), syn.max_delay + 2)
        self.rings = {
            name: np.zeros((d, self.states[name].n), dtype=np.int64)
            for name, d in depth.items()
        }

    def step(self) -> None:
        """Advance every group by one step."""
        self.t += 1
        self.log.step = self.t
        for schedule in self.schedules:
            self._apply_schedule(schedule)
        for name, state in self.states.items():
            ring = self.rings.get(name)
            if ring is None:
                state.update(None, self.t)
                continue
            slot = self.t % ring.shape[0]
            state.update(ring[slot], self.t)
            ring[slot] = 0
        for syn in self.unfused:
            ring = self.rings[syn.post]
            for delay, total in syn.contributions(self.states[syn.pre].output):
                ring[(self.t + 1 + delay) % ring.shape[0]] += total
        if self.fused is not None:
            outputs = [self.states[name].output for name in self.fused.pre_names]
            for delay, post, total in self.fused.contributions(outputs):
                ring = self.rings[post]
                ring[(self.t + 1 + delay) % ring.shape[0]] += total

    def _fuse_synapses(self) -> None:
        """Merge binary nengo-loihi synapse groups into one gather per step."""
        self.fused: FusedSynapses | None = None
        self.unfused = list(self.synapses)
        if self.chip.reference != "nengo-loihi":
            return
        binary = [s for s in self.synapses if not s.graded]
        if len(binary) < 2:
            return
        sizes = {name: state.n for name, state in self.states.items()}
        self.fused = FusedSynapses(binary, sizes)
        self.unfused = [s for s in self.synapses if s.graded]

    def _apply_schedule(self, schedule: BiasSchedule) -> None:
        """Switch to the row that starts at this step (at step 1: any earlier one)."""
        rows = np.flatnonzero(schedule.start_steps <= self.t)
        if rows.size and (self.t == 1 or schedule.start_steps[rows[-1]] == self.t):
            self.states[schedule.target].set_bias_mant(schedule.bias_mant[rows[-1]])

    def _check_probe_memory(self, steps: int) -> None:
        """Raise if the probe arrays of ``steps`` steps cannot be held in memory."""
        if steps > np.iinfo(np.int64).max:
            raise ValidationError(
                f"steps is {steps}; it must be at most {np.iinfo(np.int64).max} "
                "(the int64 range); run fewer steps"
            )
        per_step = sum(
            self.states[p.target].n * (1 if p.variable == "spikes" else 4)
            for p in self.probes
        )
        need = steps * per_step
        have = _physical_memory()
        if have is not None and need > have:
            raise ValidationError(
                f"steps is {steps}; its probes would need {need:.3g} bytes "
                f"({per_step} bytes per step), more than the {have:.3g} bytes of "
                "memory of this machine; run fewer steps or probe fewer groups"
            )

    def run(
        self, steps: int, progress: Callable[[int], None] | None = None
    ) -> RunResult:
        """Run ``steps`` steps and return the probed data and counters.

        Parameters
        ----------
        steps : int
            Number of steps (>= 0).
        progress : callable, optional
            Called with the number of finished steps about every 1 % of the run.
        """
        if isinstance(steps, bool) or int(steps) != steps or steps < 0:
            raise ValidationError(f"steps must be an integer >= 0, got {steps!r}")
        steps = int(steps)
        self._check_probe_memory(steps)
        data = {
            f"{p.target}.{p.variable}": np.zeros(
                (steps, self.states[p.target].n),
                dtype=bool if p.variable == "spikes" else np.int32,
            )
            for p in self.probes
        }
        every = max(1, steps // 100)
        for k in range(steps):
            self.step()
            for p in self.probes:
                data[f"{p.target}.{p.variable}"][k] = self.states[p.target].read(
                    p.variable
                )
            if progress is not None and ((k + 1) % every == 0 or k + 1 == steps):
                progress(k + 1)
        return self._result(data)

    @property
    def program_hash(self) -> str:
        """Return the program's content hash (computed once per emulator)."""
        if self._program_hash is None:
            self._program_hash = self.program.content_hash()
        return self._program_hash

    def counters(self) -> dict[str, dict]:
        """Return the register and weight-format counters of the run so far."""
        counters = self.log.as_dict()
        rounding = "truncate" if self.chip.reference == "lava" else "round"
        for syn in self.synapses:
            counters[f"{syn.name}.weight_clip"] = {
                "policy": "clip",
                "count": syn.report.clipped,
            }
            counters[f"{syn.name}.weight_round"] = {
                "policy": rounding,
                "count": syn.report.rounded,
            }
        return counters

    def _result(self, data: dict[str, np.ndarray]) -> RunResult:
        counters = self.counters()
        for key, entry in counters.items():
            if entry["count"] and "first_step" in entry:
                logger.warning(
                    "emulator: %s overflowed (%s) %d times (first at step %s)",
                    key,
                    entry["policy"],
                    entry["count"],
                    entry["first_step"],
                )
        return RunResult(
            data=data,
            dt=float(self.program.metadata.get("dt", 0.001)),
            backend="emulator",
            target=self.chip.name,
            seed=self.seed,
            input_latency=SPIKE_LATENCY["emulator"],
            counters=counters,
            metadata={
                "mode": self.chip.reference,
                "steps": self.t,
                "program_hash": self.program_hash,
            },
        )


def emulate(
    program: ChipProgram,
    steps: int,
    target: str | Target | ChipConfig | None = None,
    *,
    strict: bool = False,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> RunResult:
    """Run ``program`` for ``steps`` steps on the emulator; see :class:`Emulator`."""
    emulator = Emulator(program, target, strict=strict, seed=seed)
    return emulator.run(steps, progress=progress)


def _physical_memory() -> int | None:
    """Return the machine's physical memory in bytes, or None where unknown."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
