"""Compiled programs checked against Lava: runs, input timing, fan-in warnings."""

import numpy as np
import pytest
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.dense.process import Dense
from lava.proc.io.source import RingBuffer as SourceBuffer
from lava.proc.lif.process import LIF
from lava.proc.monitor.process import Monitor

from glia_neuromorphic.compiler import compile_model
from glia_neuromorphic.errors import OverflowRiskWarning
from glia_neuromorphic.program import CompartmentGroup, SynapseGroup

STEPS = 100


def inhibited_neuron():
    """A spike source firing every step inhibits a LIF resting at 0.95 vth."""
    source = SourceBuffer(data=np.ones((1, STEPS)))
    dense = Dense(weights=np.array([[-0.5]]), name="inhibit")
    # v settles at bias / dv = 0.095 / 0.1 = 0.95 of vth without input
    lif = LIF(shape=(1,), du=1.0, dv=0.1, vth=1.0, bias_mant=0.095, name="target")
    source.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    return source, dense, lif


def run_lava(lif, tag):
    """Run the graph of ``lif`` and return its spikes and u (steps, n)."""
    spikes, current = Monitor(), Monitor()
    spikes.probe(lif.s_out, STEPS)
    current.probe(lif.u, STEPS)
    try:
        lif.run(
            condition=RunSteps(num_steps=STEPS), run_cfg=Loihi2SimCfg(select_tag=tag)
        )
        s = np.asarray(spikes.get_data()[lif.name]["s_out"])
        u = np.asarray(current.get_data()[lif.name]["u"])
    finally:
        lif.stop()
    return s, u


def fixed_graph_from_program(program):
    """Instantiate Lava's fixed-point processes from the compiled integers."""
    group = next(g for g in program.of_kind(CompartmentGroup))
    syn = next(s for s in program.of_kind(SynapseGroup))
    source = SourceBuffer(data=np.ones((1, STEPS)))
    dense = Dense(weights=np.asarray(syn.weights), weight_exp=syn.weight_exp)
    lif = LIF(
        shape=(group.n,),
        du=int(group.decay_u[0]),
        dv=int(group.decay_v[0]),
        vth=int(group.vth[0]),
        bias_mant=group.bias_mant.copy(),
        bias_exp=group.bias_exp.copy(),
        name="target_fixed",
    )
    source.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    return lif


def test_inhibitory_weight_silences_float_and_fixed():
    source, dense, lif = inhibited_neuron()
    result = compile_model([lif], "loihi2")
    syn = result.program.groups["inhibit"]
    assert np.asarray(syn.weights)[0, 0] < 0
    assert syn.sign_mode == "inhibitory"

    float_spikes, _ = run_lava(lif, "floating_pt")
    fixed_spikes, fixed_u = run_lava(
        fixed_graph_from_program(result.program), "fixed_pt"
    )
    assert float_spikes.sum() == 0
    assert fixed_spikes.sum() == 0
    # Dense delivers one step late: u is 0 at step 1 and negative from step 2
    assert fixed_u[0, 0] == 0
    assert np.all(fixed_u[1:, 0] < 0)


def recorded_spikes(source, n, steps):
    """Run ``source`` into a sink RingBuffer in Lava; return (steps, indices)."""
    from lava.proc.io.sink import RingBuffer as SinkBuffer

    sink = SinkBuffer(shape=(n,), buffer=steps)
    source.s_out.connect(sink.a_in)
    try:
        source.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg())
        data = sink.data.get()
    finally:
        source.stop()
    index, step = np.nonzero(data)
    order = np.lexsort((index, step))
    return (step[order] + 1).tolist(), index[order].tolist()


def compiled_spikes(make_source, n, steps):
    from glia_neuromorphic.frontends.lava import from_lava
    from glia_neuromorphic.hwconfig import load_target
    from glia_neuromorphic.program import SpikeSource

    source = make_source()
    post = LIF(shape=(n,), du=0.5, dv=0.5, vth=1.0)
    dense = Dense(weights=np.eye(n) * 0.5)
    source.s_out.connect(dense.s_in)
    dense.a_out.connect(post.a_in)
    program, _ = from_lava([source], load_target("loihi2"), n_steps=steps)
    (group,) = program.of_kind(SpikeSource)
    return group.steps.tolist(), group.indices.tolist()


def test_spike_source_timing_matches_lava():
    from lava.proc.spiker.process import Spiker

    data = np.zeros((2, 4))
    data[0, 1] = data[1, 3] = 1
    makers = [
        lambda: SourceBuffer(data=data),
        lambda: Spiker(shape=(2,), period=3),
    ]
    for make in makers:
        assert compiled_spikes(make, 2, 11) == recorded_spikes(make(), 2, 11)


def fan_in_graph(n_inputs, mantissa):
    """``n_inputs`` fixed-point LIF neurons onto one target LIF."""
    inputs = LIF(shape=(n_inputs,), du=0, dv=0, vth=10, name="inputs")
    target = LIF(shape=(1,), du=0, dv=0, vth=2**17 - 1, name="target")
    dense = Dense(weights=np.full((1, n_inputs), mantissa), name="fan_in")
    inputs.s_out.connect(dense.s_in)
    dense.a_out.connect(target.a_in)
    return [inputs]


def test_compile_warns_on_fan_in_overflow():
    with pytest.warns(OverflowRiskWarning, match=r"target\[0\].*24-bit u register"):
        result = compile_model(fan_in_graph(1024, 255), "loihi2")
    (risk,) = result.quantization.overflow
    assert risk.worst_case == 1024 * 255 * 64


def test_all_negative_lava_matrix_is_inhibitory():
    # Lava's fixed-point Dense treats an all-negative matrix as inhibitory,
    # so -256 is clipped to -255; the front end does the same and says so
    with pytest.warns(OverflowRiskWarning):
        result = compile_model(fan_in_graph(1024, -256), "loihi2")
    syn = result.program.groups["fan_in"]
    assert syn.sign_mode == "inhibitory"
    assert np.all(np.asarray(syn.weights) == -255)
    assert result.quantization.find("fan_in").n_saturated == 1024
    (risk,) = result.quantization.overflow
    assert risk.worst_case == -1024 * 255 * 64
