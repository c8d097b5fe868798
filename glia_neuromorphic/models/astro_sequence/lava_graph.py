"""Build the sequence memory as Lava processes and run it with Loihi2SimCfg."""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from glia_neuromorphic.errors import ValidationError
from glia_neuromorphic.models.astro_sequence.network import SpikingDesign
from glia_neuromorphic.runs import RunResult

PRECISIONS = ("float", "fixed")


@dataclasses.dataclass
class LavaGraph:
    """The processes of one graph; ``neurons`` is LIF(2N), ``astrocytes`` N."""

    neurons: object
    astrocytes: object
    rec: object
    astro_in: object
    astro_out: object
    precision: str

    @property
    def processes(self) -> list:
        """Return all processes (the compile front end walks from any of them)."""
        return [self.neurons, self.rec, self.astro_in, self.astrocytes, self.astro_out]


def build_graph(d: SpikingDesign, precision: str) -> LavaGraph:
    """Instantiate LIF, Dense and Astrocyte processes with float or fixed parameters.

    ``precision="float"`` uses the unrounded values (run it with the
    ``floating_pt`` tag); ``"fixed"`` uses the integers of the target (run it
    with ``fixed_pt``, which selects Lava's bit-accurate LIF and Dense).
    """
    from lava.proc.dense.process import Dense
    from lava.proc.lif.process import LIF

    from glia_neuromorphic.processes.astrocyte import Astrocyte

    if precision not in PRECISIONS:
        raise ValidationError(
            f"unknown precision {precision!r}; use one of {list(PRECISIONS)}"
        )
    chip = d.chip
    n2 = 2 * d.n_units
    act_shift = chip.neuron.act_shift
    unity = chip.decay_unity
    astro_kwargs = dict(
        shape=(d.n_units,), target=str(chip.path), out_shift=d.out_shift
    )
    if precision == "float":
        neurons = LIF(
            shape=(n2,),
            du=d.params.dt / d.params.tau_n,
            dv=d.decay_v.delta / unity,
            vth=d.vth,
            bias_mant=d.cue_bias.copy(),
            name="neurons",
        )
        astrocytes = Astrocyte(
            decay=d.params.dt / d.params.tau_a, name="astrocytes", **astro_kwargs
        )
        rec = Dense(weights=d.rec.lava_float_weights(act_shift, True), name="rec")
        astro_in = Dense(weights=d.astro_in.float_weights, name="astro_in")
        astro_out = Dense(
            weights=d.astro_out.lava_float_weights(act_shift, True),
            num_message_bits=d.astro_out.num_message_bits,
            name="astro_out",
        )
    else:
        neurons = LIF(
            shape=(n2,),
            du=d.decay_u.stored,
            dv=d.decay_v.stored,
            vth=d.vth_mant,
            bias_mant=d.cue_bias_mant.copy(),
            bias_exp=d.cue_bias_exp.copy(),
            name="neurons",
        )
        astrocytes = Astrocyte(
            decay_c=d.decay_astro.stored, name="astrocytes", **astro_kwargs
        )
        rec = Dense(weights=d.rec.mantissa, weight_exp=d.rec.exp, name="rec")
        astro_in = Dense(
            weights=d.astro_in.mantissa, weight_exp=d.astro_in.exp, name="astro_in"
        )
        astro_out = Dense(
            weights=d.astro_out.mantissa,
            weight_exp=d.astro_out.exp,
            num_message_bits=d.astro_out.num_message_bits,
            name="astro_out",
        )
    neurons.s_out.connect(rec.s_in)
    rec.a_out.connect(neurons.a_in)
    neurons.s_out.connect(astro_in.s_in)
    astro_in.a_out.connect(astrocytes.a_in)
    astrocytes.s_out.connect(astro_out.s_in)
    astro_out.a_out.connect(neurons.a_in)
    return LavaGraph(neurons, astrocytes, rec, astro_in, astro_out, precision)


def run_lava(
    d: SpikingDesign,
    precision: str,
    steps: int,
    seed: int = 0,
    probe_trace: bool = False,
    progress=None,
) -> RunResult:
    """Run the graph for ``steps`` steps: the cue first, then free recall.

    Returns a RunResult with ``neurons.spikes`` ``(steps, 2N)`` and, when
    ``probe_trace``, ``astrocytes.c``. ``progress`` is an optional callable
    ``progress(done_steps, total_steps)``.
    """
    import tempfile

    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.monitor.process import Monitor

    from glia_neuromorphic.processes.recorder import Recorder

    if steps <= d.params.cue_steps:
        raise ValidationError(
            f"steps is {steps}; it must exceed the {d.params.cue_steps} cue steps"
        )
    graph = build_graph(d, precision)
    scratch = tempfile.TemporaryDirectory(prefix="glia-lava-")
    recorder = Recorder(
        shape=(2 * d.n_units,), steps=steps, path=f"{scratch.name}/spikes.npy"
    )
    graph.neurons.s_out.connect(recorder.a_in)
    trace_mon = None
    if probe_trace:
        trace_mon = Monitor()
        trace_mon.probe(graph.astrocytes.c, steps)
    tag = "floating_pt" if precision == "float" else "fixed_pt"
    cfg = Loihi2SimCfg(select_tag=tag)
    start = time.perf_counter()
    chunks = _chunks(d.params.cue_steps, steps)
    try:
        done = 0
        for k, chunk in enumerate(chunks):
            graph.neurons.run(condition=RunSteps(num_steps=chunk), run_cfg=cfg)
            done += chunk
            if k == 0:
                zeros = np.zeros(2 * d.n_units)
                graph.neurons.bias_mant.set(zeros)
            if progress is not None:
                progress(done, steps)
        spikes = recorder.data(steps)
        data = {"neurons.spikes": spikes.astype(np.int8)}
        if trace_mon is not None:
            data["astrocytes.c"] = _monitor_data(trace_mon, graph.astrocytes.name, "c")
    finally:
        graph.neurons.stop()
        scratch.cleanup()
    elapsed = time.perf_counter() - start
    return RunResult(
        data=data,
        dt=d.params.dt,
        backend="lava",
        target=d.chip.name if precision == "fixed" else None,
        seed=seed,
        metadata={"precision": precision, "wall_time_s": elapsed, "tag": tag},
    )


def _chunks(cue_steps: int, steps: int, size: int = 500) -> list[int]:
    """Split a run into the cue and then chunks of at most ``size`` steps."""
    rest = steps - cue_steps
    return [cue_steps] + [min(size, rest - k) for k in range(0, rest, size)]


def _monitor_data(monitor, proc_name: str, var: str) -> np.ndarray:
    data = monitor.get_data()
    return np.asarray(data[proc_name][var])
