"""Nengo front end: nengo-loihi's blocks and integers carried into the program."""

import types
import warnings

import nengo
import nengo_loihi
import numpy as np
import pytest
import scipy.sparse

from glia_neuromorphic.backends.nengo_loihi import run_nengo_loihi
from glia_neuromorphic.emulator import emulate
from glia_neuromorphic.emulator.synapses import nengo_loihi_weights
from glia_neuromorphic.errors import QuantizationError, ValidationError
from glia_neuromorphic.frontends.nengo import _Converter, from_nengo
from glia_neuromorphic.hwconfig import load_target
from glia_neuromorphic.mapping import map_program
from glia_neuromorphic.program import CompartmentGroup, SpikeSource, SynapseGroup
from glia_neuromorphic.quantize.core import weight_range

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


def _check_charges(program, blocks):
    """Assert every synapse group delivers nengo-loihi's charges on the chip."""
    chip = LOIHI1.chip
    owner = {id(s): b for b in blocks for s in b.synapses}
    expected = []
    for block in blocks:
        for axon in block.axons:
            post = owner[id(axon.target)]
            n_post = post.compartment.n_compartments
            expected.append(
                delivered_charge(axon, block.compartment.n_compartments, n_post)
            )
    ours = []
    for group in program.of_kind(SynapseGroup):
        if isinstance(program.groups[group.pre], SpikeSource):
            continue
        mantissas = scipy.sparse.csr_matrix(group.weights).toarray().astype(np.int64)
        lo, hi, step = weight_range(chip, group.sign_mode)
        assert lo <= mantissas.min() <= mantissas.max() <= hi
        assert np.all(mantissas % step == 0)
        charge, _ = nengo_loihi_weights(
            mantissas, group.weight_exp, group.sign_mode, chip
        )
        ours.append(charge)
    assert len(ours) == len(expected)
    for mine, theirs in zip(ours, expected, strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_weights_reproduce_nengo_loihi_charges(built):
    program, _, blocks = built
    _check_charges(program, blocks)


def test_weights_reproduce_charges_after_lost_bits():
    """nengo-loihi's two-part shift leaves charges with odd multiples of 64.

    Their mantissa at exponent 0 would be odd, which a mixed-sign synapse
    cannot hold (it keeps half the mantissa), so the front end keeps
    nengo-loihi's own exponent and clips the one mantissa beyond the range.
    """
    net, _ = _recurrent_integrator()
    program, _ = from_nengo(net, LOIHI1, n_steps=10, seed=1)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Lost 3 extra bits")
        with nengo_loihi.Simulator(net, target="sim", seed=1) as sim:
            blocks = list(sim.model.blocks)
    decoders = program.groups["decoders"]
    assert decoders.weight_exp == blocks[1].synapses[0].synapse_cfg.weight_exp == -4
    _check_charges(program, blocks)


def test_charge_without_chip_mantissa_rejected():
    converter = types.SimpleNamespace(target=LOIHI1)
    with pytest.raises(QuantizationError, match=r"'syn'.*no mixed mantissa.*\[-7, 7\]"):
        _Converter._mantissas(converter, "syn", np.array([64, 1]), 0, "mixed")


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


def test_decoded_recurrent_connection_matches_nengo_loihi():
    net, probe = _recurrent_integrator()
    with nengo_loihi.Simulator(net, target="sim", progress_bar=False, seed=1) as sim:
        sim.run_steps(300)
    expected = sim.data[probe] > 0
    net, _ = _recurrent_integrator()
    program, _ = from_nengo(net, LOIHI1, n_steps=300, seed=1)
    spikes = emulate(program, 300)["Ensemble_integrator.spikes"]
    assert expected.sum() > 1000
    assert np.array_equal(spikes, expected)


# Each adds connections after a stimulated population "a". The test probes
# every ensemble of the network.
def _feed_forward(a):
    b = nengo.Ensemble(50, 1, label="b")
    nengo.Connection(a, b, synapse=0.02)


def _with_transform(a):
    b = nengo.Ensemble(50, 1, label="b")
    nengo.Connection(a, b, transform=-1.7, synapse=0.02)


def _with_function(a):
    b = nengo.Ensemble(50, 1, label="b")
    nengo.Connection(a, b, function=np.square, synapse=0.005)


def _without_synapse(a):
    b = nengo.Ensemble(50, 1, label="b")
    nengo.Connection(a, b, synapse=None)


def _two_dimensional_product(a):
    b = nengo.Ensemble(70, 2, label="b")
    nengo.Connection(a, b, transform=[[0.8], [-0.4]], synapse=0.01)
    c = nengo.Ensemble(40, 1, label="c")
    nengo.Connection(b, c, function=lambda x: x[0] * x[1], synapse=0.01)


def _neuron_weights(a):
    b = nengo.Ensemble(50, 1, label="b")
    nengo.Connection(a, b, solver=nengo.solvers.LstsqL2(weights=True), synapse=0.01)


def _driven_oscillator(a):
    b = nengo.Ensemble(120, 2, label="b")
    nengo.Connection(a, b, transform=[[1], [0]], synapse=0.01)
    nengo.Connection(b, b, transform=[[1, -0.3], [0.3, 1]], synapse=0.1)


def _driven_integrator(a):
    b = nengo.Ensemble(100, 1, label="b")
    nengo.Connection(a, b, transform=0.5, synapse=0.1)
    nengo.Connection(b, b, synapse=0.1)


def _stimulated(build):
    with nengo.Network(seed=3) as net:
        stim = nengo.Node(lambda t: np.sin(8 * t), label="stim")
        a = nengo.Ensemble(80, 1, label="a")
        nengo.Connection(stim, a, synapse=0.01)
        build(a)
        for ens in net.all_ensembles:
            nengo.Probe(ens.neurons)
    return net


@pytest.mark.parametrize(
    "build",
    [
        _feed_forward,
        _with_transform,
        _with_function,
        _without_synapse,
        _two_dimensional_product,
        _neuron_weights,
        _driven_oscillator,
        _driven_integrator,
    ],
    ids=lambda build: build.__name__.strip("_"),
)
def test_connection_spikes_match_nengo_loihi(build):
    """Every ensemble spikes as in nengo-loihi's own emulator, step for step."""
    steps = 200
    net = _stimulated(build)
    with nengo_loihi.Simulator(net, target="sim", progress_bar=False, seed=2) as sim:
        sim.run_steps(steps)
    program, _ = from_nengo(_stimulated(build), LOIHI1, n_steps=steps, seed=2)
    emulated = emulate(program, steps)
    backend = run_nengo_loihi(program, steps)
    for probe in net.probes:
        key = f"Ensemble_{probe.obj.ensemble.label}.spikes"
        expected = sim.data[probe] > 0
        assert expected.sum() > 100, key
        np.testing.assert_array_equal(emulated[key], expected, err_msg=key)
        np.testing.assert_array_equal(backend[key], expected, err_msg=key)
