"""Nengo front end: nengo-loihi's blocks and integers carried into the program."""

import nengo
import nengo_loihi
import numpy as np
import pytest
import scipy.sparse

from glia_neuromorphic.emulator import emulate
from glia_neuromorphic.errors import ValidationError
from glia_neuromorphic.frontends.nengo import from_nengo
from glia_neuromorphic.hwconfig import load_target
from glia_neuromorphic.mapping import map_program
from glia_neuromorphic.program import CompartmentGroup, SpikeSource, SynapseGroup

LOIHI1 = load_target("loihi1")
LIF = nengo.LIF(initial_state={"voltage": nengo.dists.Choice([0])})


def two_ensembles(seed=0):
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(lambda t: np.sin(10 * t), label="stim")
        a = nengo.Ensemble(60, 1, neuron_type=LIF, label="a")
        b = nengo.Ensemble(40, 1, neuron_type=LIF, label="b")
        nengo.Connection(stim, a)
        nengo.Connection(a, b, synapse=0.01)
        nengo.Probe(b.neurons)
    return net


@pytest.fixture(scope="module")
def built():
    net = two_ensembles()
    program, report = from_nengo(net, LOIHI1, n_steps=50)
    with nengo_loihi.Simulator(net, target="sim", seed=0) as sim:
        blocks = list(sim.model.blocks)
    return program, report, blocks


def test_one_group_per_block(built):
    program, _, blocks = built
    groups = list(program.of_kind(CompartmentGroup))
    assert len(groups) == len(blocks)
    assert [g.n for g in groups] == [b.compartment.n_compartments for b in blocks]


def test_compartment_integers_match_nengo_loihi(built):
    program, _, blocks = built
    chip = LOIHI1.chip
    for group, block in zip(program.of_kind(CompartmentGroup), blocks, strict=True):
        comp = block.compartment
        np.testing.assert_array_equal(group.decay_u, comp.decay_u)
        np.testing.assert_array_equal(group.decay_v, comp.decay_v)
        np.testing.assert_array_equal(group.vth << chip.neuron.vth_shift, comp.vth)
        np.testing.assert_array_equal(group.bias_mant << group.bias_exp, comp.bias)
        np.testing.assert_array_equal(group.refract_delay, comp.refract_delay)
        assert group.vmin == comp.vmin


def delivered_charge(axon, n_src, n_post):
    """Return the (post, pre) charge matrix as nengo-loihi's emulator delivers it."""
    synapse = axon.target
    charge = np.zeros((n_post, n_src), dtype=np.int64)
    for j in range(n_src):
        for spike in axon.map_spikes([j]):
            if spike is None:
                continue
            base = synapse.axon_compartment_base(spike.axon_idx)
            weights, indices = synapse.axon_weights_indices(
                spike.axon_idx, atom=spike.atom
            )
            charge[base + indices, j] += weights.astype(np.int64)
    return charge


def test_weights_reproduce_nengo_loihi_charges(built):
    program, _, blocks = built
    act_shift = LOIHI1.chip.neuron.act_shift
    owner = {id(s): b for b in blocks for s in b.synapses}
    expected = []
    for block in blocks:
        for axon in block.axons:
            post = owner[id(axon.target)]
            n_post = post.compartment.n_compartments
            expected.append(
                delivered_charge(axon, block.compartment.n_compartments, n_post)
            )
    ours = [
        scipy.sparse.csr_matrix(g.weights).toarray().astype(np.int64)
        << (act_shift + g.weight_exp)
        for g in program.of_kind(SynapseGroup)
        if not isinstance(program.groups[g.pre], SpikeSource)
    ]
    assert len(ours) == len(expected)
    for mine, theirs in zip(ours, expected, strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_node_input_recorded_as_spike_source(built):
    program, _, _ = built
    (source,) = program.of_kind(SpikeSource)
    assert source.steps.size > 0
    assert source.steps.min() >= 1
    assert source.steps.max() <= 50
    assert program.metadata["input_steps"] == 50


def test_probe_kept(built):
    program, _, _ = built
    assert [p.variable for p in program.probes] == ["spikes"]


def test_report_lists_every_group(built):
    _, report, blocks = built
    n_synapses = sum(len(b.synapses) for b in blocks)
    kinds = [p.kind for p in report.params]
    assert kinds.count("weights") == n_synapses
    assert kinds.count("vth") == len(blocks)
    assert all(p.max_rel_error < 0.5 for p in report.params if p.kind == "vth")


def test_program_maps_and_saves(built, tmp_path):
    program, _, blocks = built
    mapping = map_program(program, LOIHI1)
    assert mapping.n_cores == len(blocks)
    program.save(tmp_path / "p")


def test_loihi2_target_rejected():
    with pytest.raises(ValidationError, match="loihi2.*Loihi 1.*loihi1"):
        from_nengo(two_ensembles(), load_target("loihi2"))


def test_stochastic_rounding_rejected():
    with pytest.raises(ValidationError, match="rounds to nearest"):
        from_nengo(two_ensembles(), LOIHI1, rounding="stochastic")


def test_zero_encoder_row_named():
    with nengo.Network(seed=1) as net:
        nengo.Ensemble(
            4,
            2,
            encoders=[[1, 0], [0, 0], [0, 1], [1, 1]],
            normalize_encoders=True,
            label="enc",
        )
    with pytest.raises(ValidationError, match=r"'enc'.*encoders\[1\] is a zero"):
        from_nengo(net, LOIHI1)


def test_empty_network_is_empty_program():
    with nengo.Network() as net:
        pass
    program, report = from_nengo(net, LOIHI1)
    assert program.groups == {}
    assert program.probes == []
    assert "no ensembles" in report.notes[0]
    assert map_program(program, LOIHI1).n_cores == 0
    # the float reference runs the same empty network
    with nengo.Simulator(net, progress_bar=False) as sim:
        sim.run_steps(10)
    assert sim.n_steps == 10


def test_learning_rule_rejected():
    with nengo.Network(seed=0) as net:
        a = nengo.Ensemble(20, 1, neuron_type=LIF, label="a")
        b = nengo.Ensemble(20, 1, neuron_type=LIF, label="b")
        conn = nengo.Connection(a, b, learning_rule_type=nengo.PES())
        nengo.Connection(b, conn.learning_rule)
    with pytest.raises(ValidationError, match="PES"):
        from_nengo(net, LOIHI1)


def _recurrent_integrator():
    with nengo.Network(seed=1) as net:
        ens = nengo.Ensemble(100, 1, label="integrator")
        nengo.Connection(ens, ens, synapse=0.1)
        probe = nengo.Probe(ens.neurons)
    return net, probe


@pytest.mark.xfail(
    strict=True,
    reason="a decoded recurrent connection (through nengo-loihi's decode "
    "neurons) is carried into the program differently: the emulator and the "
    "nengo-loihi backend agree on the program, but its spikes leave "
    "nengo-loihi's own simulation of the network at step 16",
)
def test_decoded_recurrent_connection_matches_nengo_loihi():
    net, probe = _recurrent_integrator()
    with nengo_loihi.Simulator(net, target="sim", progress_bar=False, seed=1) as sim:
        sim.run_steps(100)
    expected = sim.data[probe] > 0
    net, _ = _recurrent_integrator()
    program, _ = from_nengo(net, LOIHI1, n_steps=100, seed=1)
    spikes = emulate(program, 100)["Ensemble_integrator.spikes"]
    assert np.array_equal(spikes, expected)
