"""Degenerate networks (empty, zero-sized, silent) and non-finite inputs.

Cases already covered elsewhere are not repeated here: a zero encoder row
(tests/test_frontend_nengo.py), NaN/inf weights named by index
(tests/test_quantize_core.py, tests/test_frontend_lava.py), zero-sized
groups and (0, 5) weight matrices (test_bad_inputs_api.py).
"""

import nengo
import numpy as np
import pytest
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.lif.process import LIF
from lava.proc.monitor.process import Monitor

from glia_neuromorphic.compiler import compile_model
from glia_neuromorphic.emulator.engine import Emulator
from glia_neuromorphic.errors import ValidationError
from glia_neuromorphic.frontends.nengo import from_nengo
from glia_neuromorphic.hwconfig import load_target
from glia_neuromorphic.program import ChipProgram, CompartmentGroup, SynapseGroup
from glia_neuromorphic.quantize import decay_from_tau

STEPS = 30


def test_empty_network_runs_ten_steps():
    result = compile_model([], "loihi2")
    assert result.program.groups == {}
    run = Emulator(result.program, "loihi2").run(10)
    assert run.metadata["steps"] == 10
    assert run.data == {}


def test_probe_on_synapse_group_rejected():
    program = ChipProgram()
    program.add(CompartmentGroup("a", n=2))
    program.add(SynapseGroup("ab", pre="a", post="a", weights=np.ones((2, 2))))
    program.probe("ab", "v")
    with pytest.raises(ValidationError, match="probe 'ab.v'"):
        program.validate()


def test_probe_of_unknown_variable_rejected():
    program = ChipProgram()
    program.add(CompartmentGroup("a", n=2))
    program.probe("a", "voltage")
    with pytest.raises(ValidationError, match="probe 'a.voltage'.*use one of"):
        program.validate()


def test_silent_population_spikes_zero_in_float_and_emulator():
    """Ten neurons with a bias far below threshold and no input never fire."""
    lif = LIF(shape=(10,), du=0.1, dv=0.1, vth=1.0, bias_mant=-0.5, name="silent")
    program = compile_model([lif], "loihi2").program
    program.probe("silent", "spikes")
    emulated = Emulator(program, "loihi2").run(STEPS)
    assert emulated["silent.spikes"].shape == (STEPS, 10)
    assert int(emulated["silent.spikes"].sum()) == 0

    monitor = Monitor()
    monitor.probe(lif.s_out, STEPS)
    try:
        lif.run(
            condition=RunSteps(num_steps=STEPS),
            run_cfg=Loihi2SimCfg(select_tag="floating_pt"),
        )
        spikes = np.asarray(monitor.get_data()["silent"]["s_out"])
    finally:
        lif.stop()
    assert spikes.shape == (STEPS, 10)
    assert int(spikes.sum()) == 0


def test_tau_inf_rejected_by_quantizer():
    # the project rejects tau = inf; "no decay" is spelled tau=None
    chip = load_target("loihi2").chip
    with pytest.raises(ValidationError, match="tau is inf"):
        decay_from_tau(np.inf, 0.001, chip, name="syn")


def lif_ensemble(n=10):
    voltage = {"voltage": nengo.dists.Choice([0])}
    return nengo.Ensemble(n, 1, neuron_type=nengo.LIF(initial_state=voltage))


def test_nengo_synapse_tau_inf_rejected():
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(0.5, label="stim")
        ens = lif_ensemble()
        nengo.Connection(stim, ens, synapse=nengo.Lowpass(np.inf))
    with pytest.raises(ValidationError, match="synapse tau is inf"):
        from_nengo(net, load_target("loihi1"), n_steps=20)


def test_nengo_input_nan_at_step_7_raises_there():
    def signal(t):
        return np.nan if round(t / 0.001) == 7 else 1.0

    with nengo.Network(seed=0) as net:
        stim = nengo.Node(signal, label="stim")
        ens = lif_ensemble()
        nengo.Connection(stim, ens, synapse=None)
    with pytest.raises(ValidationError, match="failed at step 7 "):
        from_nengo(net, load_target("loihi1"), n_steps=20)


def test_lava_input_nan_rejected_with_index():
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import RingBuffer

    data = np.ones((2, 20))
    data[1, 7] = np.nan
    source = RingBuffer(data=data)
    dense = Dense(weights=np.ones((3, 2)), name="d")
    lif = LIF(shape=(3,), du=0.1, dv=0.1, vth=1.0, name="l")
    source.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    with pytest.raises(ValidationError, match=r"data\[1, 7\] is nan"):
        compile_model([source, lif], "loihi2")


def test_decoders_of_silent_population_rejected():
    with nengo.Network(seed=1) as net:
        silent = nengo.Ensemble(
            10,
            1,
            label="silent",
            gain=np.ones(10),
            bias=np.full(10, -10.0),
            neuron_type=nengo.LIF(initial_state={"voltage": nengo.dists.Choice([0])}),
        )
        out = nengo.Node(size_in=1)
        nengo.Connection(silent, out)
    with pytest.raises(ValidationError, match="'silent': none of its 10 neurons"):
        from_nengo(net, load_target("loihi1"))
