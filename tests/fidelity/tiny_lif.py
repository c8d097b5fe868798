"""A tiny LIF network for the fidelity tests: chip program, float and Lava runs.

The float parameters are kept in the chip's own units (``du`` and ``dv`` as
decay fractions, weights, threshold and bias as the charge they add to u or v
after every shift), so the float network and the fixed-point program differ
only by rounding. The fixed-point level runs on Lava's bit-accurate LIF and
Dense models (``Loihi2SimCfg(select_tag="fixed_pt")``); the float level is a
numpy loop with Lava's update order and its one-step synaptic latency.
"""

from __future__ import annotations

import numpy as np

from glia_neuromorphic.errors import BackendError
from glia_neuromorphic.fidelity import FidelityCase, Signature, Tolerance
from glia_neuromorphic.hwconfig import load_target
from glia_neuromorphic.program import (
    ChipProgram,
    CompartmentGroup,
    SpikeSource,
    SynapseGroup,
)
from glia_neuromorphic.runs import SPIKE_LATENCY, RunResult

DT = 0.001


def make_program(
    target: str = "loihi2",
    steps: int = 60,
    weights: np.ndarray | None = None,
    chain: bool = False,
) -> ChipProgram:
    """Return a 2-input, 4-neuron LIF program quantized from float parameters.

    ``weights`` are float weights (4, 2) in units of the integer mantissa;
    they are rounded to the target's mantissa grid. With ``chain`` the four
    neurons also form a chain 0 -> 1 -> 2 -> 3 with strong weights.
    """
    chip = load_target(target).chip
    decay_unity = chip.decay_unity
    offset_u, offset_v = chip.neuron.decay_u_offset, chip.neuron.decay_v_offset
    act_shift, vth_shift = chip.neuron.act_shift, chip.neuron.vth_shift

    w_float = (
        np.array([[100.3, 0.0], [60.4, 20.2], [0.0, 90.6], [40.4, 40.4]])
        if weights is None
        else np.asarray(weights, dtype=float)
    )
    weight_exp = 6
    du_float, dv_float, vth_float = 0.2, 0.1, 15000.4

    prog = ChipProgram(metadata={"target": target, "dt": DT, "model": "tiny-lif"})
    rng = np.random.default_rng(5)
    source_steps = np.sort(rng.choice(np.arange(1, steps - 5), size=24, replace=False))
    prog.add(
        SpikeSource(
            "stim", n=2, steps=source_steps, indices=np.arange(source_steps.size) % 2
        )
    )
    prog.add(
        CompartmentGroup(
            "lif",
            n=4,
            decay_u=round(du_float * decay_unity) - offset_u,
            decay_v=round(dv_float * decay_unity) - offset_v,
            vth=round(vth_float),
            float_params={
                # charges as they reach u and v: weights << weight_exp << act_shift
                "du": du_float,
                "dv": dv_float,
                "vth": vth_float * 2**vth_shift,
                "bias": 0.0,
            },
        )
    )
    scale = 2 ** (weight_exp + act_shift)
    prog.add(
        SynapseGroup(
            "in",
            pre="stim",
            post="lif",
            weights=np.round(w_float).astype(np.int64),
            weight_exp=weight_exp,
            float_weights=w_float * scale,
        )
    )
    if chain:
        w_chain = np.diag(np.full(3, 120.2), k=-1)
        prog.add(
            SynapseGroup(
                "chain",
                pre="lif",
                post="lif",
                weights=np.round(w_chain).astype(np.int64),
                weight_exp=weight_exp,
                float_weights=w_chain * scale,
            )
        )
    for variable in ("spikes", "u", "v"):
        prog.probe("lif", variable)
    return prog.validate()


def source_raster(source: SpikeSource, steps: int) -> np.ndarray:
    """Return the (steps, n) 0/1 raster of a spike source (row k = step k + 1)."""
    raster = np.zeros((steps, source.n))
    keep = source.steps <= steps
    raster[source.steps[keep] - 1, source.indices[keep]] = 1
    return raster


def run_float(program: ChipProgram, steps: int, seed: int = 0) -> RunResult:
    """Run the float network (the program's float parameters) in numpy."""
    lif = program.groups["lif"]
    params = lif.float_params
    inputs = source_raster(program.groups["stim"], steps)
    w_in = program.groups["in"].float_weights
    chain = program.groups.get("chain")

    u, v = np.zeros(lif.n), np.zeros(lif.n)
    spikes_prev = np.zeros(lif.n)
    out = {"lif.spikes": [], "lif.u": [], "lif.v": []}
    for k in range(steps):
        # a spike of step t reaches u at step t + 1 (the synapse's buffer)
        a_in = w_in @ (inputs[k - 1] if k else np.zeros(inputs.shape[1]))
        if chain is not None:
            a_in = a_in + chain.float_weights @ spikes_prev
        u = u * (1 - params["du"]) + a_in
        v = v * (1 - params["dv"]) + u + params["bias"]
        spiking = v > params["vth"]
        v[spiking] = 0
        spikes_prev = spiking.astype(float)
        out["lif.spikes"].append(spikes_prev)
        out["lif.u"].append(u.copy())
        out["lif.v"].append(v.copy())
    return RunResult(
        data={k: np.array(v) for k, v in out.items()},
        dt=DT,
        backend="reference",
        seed=seed,
        input_latency=SPIKE_LATENCY["reference"],
    )


def run_lava(
    program: ChipProgram, steps: int, seed: int = 0, tag: str = "fixed_pt"
) -> RunResult:
    """Run the program on Lava's LIF and Dense models and return the probes.

    ``tag="fixed_pt"`` runs the integer parameters on the bit-accurate models;
    ``tag="floating_pt"`` runs the float parameters on Lava's float models.
    """
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.lif.process import LIF
    from lava.proc.monitor.process import Monitor

    fixed = tag == "fixed_pt"
    lif_group = program.groups["lif"]
    stim = program.groups["stim"]
    source = Source(data=source_raster(stim, steps).T)
    if fixed:
        lif = LIF(
            shape=(lif_group.n,),
            du=int(lif_group.decay_u[0]),
            dv=int(lif_group.decay_v[0]),
            vth=int(lif_group.vth[0]),
            bias_mant=lif_group.bias_mant,
            bias_exp=lif_group.bias_exp,
        )
    else:
        params = lif_group.float_params
        lif = LIF(
            shape=(lif_group.n,),
            du=params["du"],
            dv=params["dv"],
            vth=params["vth"],
            bias_mant=params["bias"],
        )
    pre_ports = {"stim": source.s_out, "lif": lif.s_out}
    for syn in program.of_kind(SynapseGroup):
        weights = syn.weights if fixed else syn.float_weights
        kwargs = {"weight_exp": syn.weight_exp} if fixed else {}
        dense = Dense(weights=np.asarray(weights), num_message_bits=0, **kwargs)
        pre_ports[syn.pre].connect(dense.s_in)
        dense.a_out.connect(lif.a_in)
    sink = Sink(shape=(lif_group.n,), buffer=steps)
    lif.s_out.connect(sink.a_in)
    monitors = {}
    for variable in ("u", "v"):
        monitors[variable] = Monitor()
        monitors[variable].probe(getattr(lif, variable), steps)

    lif.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag=tag))
    try:
        data = {"lif.spikes": (sink.data.get().T != 0).astype(np.int8)}
        for variable, monitor in monitors.items():
            values = monitor.get_data()[lif.name][variable]
            data[f"lif.{variable}"] = values.astype(np.int64 if fixed else float)
    finally:
        lif.stop()
    return RunResult(
        data=data,
        dt=DT,
        backend="lava",
        target=program.metadata["target"] if fixed else None,
        seed=seed,
        input_latency=SPIKE_LATENCY["lava"],
        metadata={"tag": tag},
    )


def signature() -> Signature:
    """Return the tiny model's tolerances."""
    return Signature(
        "tiny-lif",
        tolerances=[
            Tolerance("spike_count_agreement", ">=", 0.9, probe="lif.spikes"),
            Tolerance("rate_rmse", "<=", 20.0, probe="lif.spikes"),
            Tolerance(
                "van_rossum",
                "<=",
                1.0,
                probe="lif.spikes",
                params={"tau": 0.005},
                gate=False,
            ),
            Tolerance("active_fraction", ">=", -0.01, levels=("fixed", "float")),
        ],
        task_scores={"active_fraction": _active_fraction},
        description="2 spike inputs into 4 LIF neurons",
    )


def _active_fraction(run: RunResult) -> float:
    return float(np.mean(run["lif.spikes"].any(axis=0)))


def build(weights: np.ndarray | None = None, steps: int = 60) -> FidelityCase:
    """Return the tiny model as a FidelityCase (float in numpy, fixed in Lava)."""
    program = make_program(weights=weights, steps=steps)

    def fixed(*, steps, seed, target, backend):
        if target != program.metadata["target"] or backend != "lava":
            raise BackendError(
                f"tiny-lif runs on backend 'lava' for target "
                f"{program.metadata['target']!r}, not {backend!r} on {target!r}"
            )
        return run_lava(program, steps, seed)

    def reference(*, steps, seed, target, backend):
        return run_float(program, steps, seed)

    return FidelityCase(
        signature=signature(),
        runners={"float": reference, "fixed": fixed},
        steps=steps,
        program=program,
        value_probe="lif.v",
        quantization={
            "in.weights": _rel_error(program.groups["in"]),
        },
    )


def _rel_error(syn: SynapseGroup, target: str = "loihi2") -> np.ndarray:
    scale = 2 ** (syn.weight_exp + load_target(target).chip.neuron.act_shift)
    nonzero = syn.float_weights != 0
    return np.abs(syn.weights * scale - syn.float_weights)[nonzero] / np.abs(
        syn.float_weights[nonzero]
    )


def verify(**options) -> object:
    """Verify the tiny model; the ``glia verify`` entry point of a model module."""
    from glia_neuromorphic.fidelity import verify_case

    return verify_case(build(), **options)
