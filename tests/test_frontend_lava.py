"""Lava front end: graph walk, float and fixed-point graphs, bad input."""

import logging

import numpy as np
import pytest
import scipy.sparse
from lava.proc.dense.process import DelayDense, Dense
from lava.proc.io.sink import RingBuffer as SinkBuffer
from lava.proc.io.source import RingBuffer as SourceBuffer
from lava.proc.lif.process import LIF, LIFReset
from lava.proc.sparse.process import Sparse
from lava.utils.weightutils import SignMode

from glia_neuromorphic.errors import QuantizationError, ValidationError
from glia_neuromorphic.frontends.lava import from_lava
from glia_neuromorphic.hwconfig import load_target
from glia_neuromorphic.program import CompartmentGroup, SpikeSource, SynapseGroup

LOIHI1 = load_target("loihi1")
LOIHI2 = load_target("loihi2")


def connect(pre, weights, post, cls=Dense, **kwargs):
    conn = cls(weights=weights, **kwargs)
    pre.s_out.connect(conn.s_in)
    conn.a_out.connect(post.a_in)
    return conn


def fixed_pair(weights, **kwargs):
    n_post, n_pre = np.shape(weights)
    pre = LIF(shape=(n_pre,), du=100, dv=200, vth=1000, name="pre")
    post = LIF(shape=(n_post,), du=100, dv=200, vth=1000, name="post")
    connect(pre, np.asarray(weights), post, name="layer", **kwargs)
    return pre, post


def float_pair(weights, **kwargs):
    n_post, n_pre = np.shape(weights)
    pre = LIF(shape=(n_pre,), du=0.1, dv=0.05, vth=1.0, name="pre")
    post = LIF(shape=(n_post,), du=0.1, dv=0.05, vth=1.0, name="post")
    connect(pre, np.asarray(weights, dtype=float), post, name="layer", **kwargs)
    return pre, post


def test_graph_walk_finds_every_process():
    source = SourceBuffer(data=np.zeros((3, 5)))
    a = LIF(shape=(4,), du=0.5, dv=0.5, vth=1.0, name="a")
    b = LIF(shape=(2,), du=0.5, dv=0.5, vth=1.0, name="b")
    sink = SinkBuffer(shape=(2,), buffer=5)
    source.s_out.connect((d := Dense(weights=np.ones((4, 3)) * 0.5)).s_in)
    d.a_out.connect(a.a_in)
    connect(a, np.ones((2, 4)) * 0.3, b)
    b.s_out.connect(sink.a_in)
    program, _ = from_lava(b, LOIHI2)
    kinds = sorted((g.kind, g.name) for g in program.groups.values())
    assert [k for k, _ in kinds].count("lif") == 2
    assert [k for k, _ in kinds].count("synapse") == 2
    assert [k for k, _ in kinds].count("spike_source") == 1
    assert [(p.target, p.variable) for p in program.probes] == [("b", "spikes")]


def test_float_lif_scaled_consistently():
    pre, post = float_pair([[0.5, -0.25]])
    program, report = from_lava([pre], LOIHI2)
    group = program.groups["post"]
    syn = program.groups["layer"]
    scale = group.float_params["scale"]
    # the largest weight lands on the largest mixed mantissa
    assert scale == pytest.approx(254 / 0.5)
    # mixed-sign mantissas are even: -127 rounds half up to -126
    assert syn.weights.tolist() == [[254, -126]]
    assert syn.weight_exp == 0
    assert group.vth[0] == round(1.0 * scale)
    # du = 0.1 -> delta round(409.6) = 410 -> stored 410 - offset 1
    assert group.decay_u[0] == 409
    assert group.decay_v[0] == round(0.05 * 4096)
    assert report.find("layer").n_zeroed == 0


def test_fixed_point_graph_taken_as_is():
    pre, post = fixed_pair([[10, -20], [30, 40]])
    program, report = from_lava([pre], LOIHI2)
    assert program.metadata["fixed_point"] is True
    np.testing.assert_array_equal(
        program.groups["layer"].weights, [[10, -20], [30, 40]]
    )
    assert program.groups["post"].vth[0] == 1000
    assert program.groups["post"].decay_u[0] == 100
    assert report.find("layer").max_rel_error == 0.0


def test_edge_weights_clipped_not_layer_zeroed(caplog):
    pre, post = fixed_pair([[255, -256], [10, 3]])
    with caplog.at_level(logging.WARNING):
        program, report = from_lava([pre], LOIHI2)
    weights = program.groups["layer"].weights
    assert np.any(weights != 0)
    # Lava's fixed-point Dense path: clip 255 -> 254, truncate 3 -> 2
    np.testing.assert_array_equal(weights, [[254, -256], [10, 2]])
    lsb = 2  # mixed-sign mantissas step by 2 at exponent 0
    given = np.array([[255, -256], [10, 3]])
    assert np.all(np.abs(weights - given) <= lsb)
    layer = report.find("layer")
    assert layer.n_saturated == 1
    assert layer.n_zeroed == 0
    assert "'layer'" in caplog.text
    assert "1 weight(s) clipped" in caplog.text


def test_edge_weights_on_loihi1_range():
    pre, post = fixed_pair([[255, -256], [10, 3]])
    program, report = from_lava([pre], LOIHI1)
    np.testing.assert_array_equal(
        program.groups["layer"].weights, [[254, -254], [10, 2]]
    )
    assert report.find("layer").n_saturated == 2


def test_outlier_weight_keeps_layer():
    weights = np.full((4, 4), 0.01)
    weights[0, 0] = 0.01e6
    pre, post = float_pair(weights)
    program, report = from_lava([pre], LOIHI2)
    mantissa = program.groups["layer"].weights
    assert np.abs(mantissa).sum() > 0
    assert mantissa[0, 0] == 254
    assert program.groups["layer"].weight_exp == LOIHI2.chip.synapse.weight_exp_max
    # the 15 small weights are far below one LSB: reported as lost synapses
    assert report.find("layer").n_zeroed == 15


def test_signs_of_mixed_matrix_kept():
    weights = np.array([[0.3, -0.3], [-0.3, 0.3]])
    pre, post = float_pair(weights)
    program, _ = from_lava([pre], LOIHI2)
    np.testing.assert_array_equal(
        np.sign(program.groups["layer"].weights), np.sign(weights)
    )


def test_inhibitory_weight_stays_negative():
    pre, post = float_pair([[-0.5]])
    program, _ = from_lava([pre], LOIHI2)
    syn = program.groups["layer"]
    assert syn.weights[0, 0] < 0
    assert syn.sign_mode == "inhibitory"


def test_negative_weight_in_excitatory_format_raises():
    pre, post = float_pair([[0.5, -0.5]], sign_mode=SignMode.EXCITATORY)
    with pytest.raises(QuantizationError, match="'layer'.*negative.*excitatory"):
        from_lava([pre], LOIHI2)


def test_nan_weight_names_first_index():
    weights = np.ones((3, 3))
    weights[0, 1] = np.nan
    weights[1, 2] = np.inf
    pre, post = float_pair(weights)
    with pytest.raises(ValidationError, match=r"weights\[0, 1\] is nan"):
        from_lava([pre], LOIHI2)


def test_zero_size_lif_raises():
    lif = LIF(shape=(0,), name="empty_lif")
    with pytest.raises(ValidationError, match="'empty_lif'.*must be >= 1"):
        from_lava([lif], LOIHI2)


def test_zero_row_dense_raises():
    pre = LIF(shape=(5,), du=0.5, dv=0.5, vth=1.0)
    dense = Dense(weights=np.zeros((0, 5)), name="flat")
    pre.s_out.connect(dense.s_in)
    with pytest.raises(ValidationError, match=r"'flat'.*\(0, 5\).*>= 1"):
        from_lava([pre], LOIHI2)


def test_empty_graph_gives_empty_program():
    program, report = from_lava([], LOIHI2)
    assert program.groups == {}
    assert report.params == []


def test_unsupported_process_named():
    lif = LIFReset(shape=(2,), du=1, dv=1, vth=10, reset_interval=4, name="resetter")
    with pytest.raises(ValidationError) as info:
        from_lava([lif], LOIHI2)
    message = str(info.value)
    assert "'resetter'" in message
    assert "LIFReset" in message
    assert "supported: " in message
    assert "DelayDense" in message


def test_sparse_and_delay_dense_read():
    pre = LIF(shape=(3,), du=0.5, dv=0.5, vth=1.0, name="pre")
    post = LIF(shape=(2,), du=0.5, dv=0.5, vth=1.0, name="post")
    sparse = scipy.sparse.csr_matrix(np.array([[0.5, 0, 0], [0, 0, -0.25]]))
    connect(pre, sparse, post, cls=Sparse, name="sparse")
    connect(
        pre,
        np.full((2, 3), 0.1),
        post,
        cls=DelayDense,
        delays=np.array([[1, 2, 3], [0, 1, 2]]),
        name="delayed",
    )
    program, _ = from_lava([pre], LOIHI2)
    assert scipy.sparse.issparse(program.groups["sparse"].weights)
    assert program.groups["sparse"].weights.nnz == 2
    np.testing.assert_array_equal(
        program.groups["delayed"].delays, [[1, 2, 3], [0, 1, 2]]
    )


def test_graded_spikes_rejected_on_loihi1():
    pre, post = float_pair([[0.5]], num_message_bits=8)
    with pytest.raises(ValidationError, match="graded spikes.*loihi1"):
        from_lava([pre], LOIHI1)


def test_source_ring_buffer_becomes_spike_source():
    data = np.zeros((2, 4))
    data[0, 1] = 1  # step 2 of each 4-step period
    data[1, 3] = 1  # step 4
    source = SourceBuffer(data=data)
    post = LIF(shape=(2,), du=0.5, dv=0.5, vth=1.0)
    connect(source, np.eye(2) * 0.5, post)
    program, _ = from_lava([source], LOIHI2, n_steps=8)
    (stim,) = [g for g in program.groups.values() if isinstance(g, SpikeSource)]
    assert stim.steps.tolist() == [2, 4, 6, 8]
    assert stim.indices.tolist() == [0, 1, 0, 1]


def test_probes_argument_adds_voltage():
    pre, post = float_pair([[0.5]])
    program, _ = from_lava([pre], LOIHI2, probes=[(post, "v"), (pre, "s_out")])
    assert [(p.target, p.variable) for p in program.probes] == [
        ("post", "v"),
        ("pre", "spikes"),
    ]


def test_stochastic_rounding_seeded():
    weights = np.random.default_rng(0).normal(0, 1, (20, 20))
    results = []
    for seed in (1, 1, 2):
        pre, post = float_pair(weights)
        program, report = from_lava([pre], LOIHI2, rounding="stochastic", seed=seed)
        assert report.rounding == "stochastic"
        assert report.seed == seed
        assert program.metadata["seed"] == seed
        results.append(np.asarray(program.groups["layer"].weights))
    np.testing.assert_array_equal(results[0], results[1])
    assert np.any(results[0] != results[2])


def test_fixed_point_out_of_range_raises():
    pre = LIF(shape=(1,), du=5000, dv=0, vth=10, name="wide")
    with pytest.raises(QuantizationError, match=r"wide.du.*\[0, 4095\]"):
        from_lava([pre], LOIHI2)


def test_program_groups_are_chip_program_kinds():
    pre, post = float_pair([[0.5]])
    program, _ = from_lava([pre], LOIHI2)
    assert isinstance(program.groups["pre"], CompartmentGroup)
    assert isinstance(program.groups["layer"], SynapseGroup)


def astro_graph(fixed: bool):
    from glia_neuromorphic.processes.astrocyte import Astrocyte

    lif = LIF(shape=(4,), du=100, dv=200, vth=1000, name="neurons")
    if not fixed:
        lif = LIF(shape=(4,), du=0.1, dv=0.05, vth=1.0, name="neurons")
    astro = Astrocyte(
        shape=(2,),
        decay=0.0 if fixed else 0.002,
        decay_c=7,
        out_shift=11,
        name="astro",
    )
    connect(lif, np.array([[1, 1, 0, 0], [0, 0, 1, 1]]) * (1 if fixed else 1.0), astro)
    graded = np.full((4, 2), 3 if fixed else 0.05)
    connect(astro, graded, lif, num_message_bits=24, name="astro_out")
    return lif, astro


def test_astrocyte_fixed_point_kept():
    lif, astro = astro_graph(fixed=True)
    program, _ = from_lava([lif], LOIHI2, probes=[(astro, "c")])
    group = program.groups["astro"]
    assert group.kind == "astrocyte"
    assert (group.n, group.decay_c, group.out_shift, group.c_bits) == (2, 7, 11, 24)
    assert program.groups["astro_out"].num_message_bits == 24
    assert ("astro", "c") in [(p.target, p.variable) for p in program.probes]


def test_astrocyte_float_decay_quantized():
    lif, astro = astro_graph(fixed=False)
    program, report = from_lava([lif], LOIHI2)
    # decay 0.002 per step: round(4096 * 0.002) = 8, minus the current offset 1
    assert program.groups["astro"].decay_c == 7
    assert any(d.name == "astro.decay" for d in report.decays)


def test_astrocyte_on_loihi1_rejected():
    lif, _ = astro_graph(fixed=True)
    with pytest.raises(ValidationError, match="graded spikes"):
        from_lava([lif], LOIHI1)


def test_zero_decay_fractions_documented():
    # du = 0 (tau = inf): the current register cannot stop decaying (its decay
    # has an offset of 1), so it gets the slowest decay and a report note;
    # dv = 0 is exact on the voltage register
    pre = LIF(shape=(1,), du=0.0, dv=0.0, vth=1.5, name="integrator")
    program, report = from_lava([pre], LOIHI2)
    group = program.groups["integrator"]
    assert group.decay_u[0] == 0
    assert group.decay_v[0] == 0
    assert any("integrator.du" in note and "slowest" in note for note in report.notes)


def test_sink_on_zero_size_lif_rejected():
    lif = LIF(shape=(0,), name="silent")
    sink = SinkBuffer(shape=(0,), buffer=5)
    lif.s_out.connect(sink.a_in)
    with pytest.raises(ValidationError, match="'silent'.*must be >= 1"):
        from_lava([sink], LOIHI2)


def test_sparse_nan_named_by_row_and_column():
    weights = scipy.sparse.csr_matrix(np.array([[0.0, 0.5, 0.0], [0.2, 0.0, np.nan]]))
    pre = LIF(shape=(3,), du=0.5, dv=0.5, vth=1.0)
    post = LIF(shape=(2,), du=0.5, dv=0.5, vth=1.0)
    connect(pre, weights, post, cls=Sparse, name="sparse_nan")
    with pytest.raises(ValidationError, match=r"weights\[1, 2\] is nan"):
        from_lava([pre], LOIHI2)


def test_direct_lif_link_rejected():
    a = LIF(shape=(2,), du=0.5, dv=0.5, vth=1.0, name="a")
    b = LIF(shape=(2,), du=0.5, dv=0.5, vth=1.0, name="b")
    a.s_out.connect(b.a_in)
    with pytest.raises(ValidationError, match=r"a\.s_out connects directly to b\.a_in"):
        from_lava([a], LOIHI2)


def test_spiker_becomes_periodic_source():
    from lava.proc.spiker.process import Spiker

    spiker = Spiker(shape=(2,), period=3)
    post = LIF(shape=(2,), du=0.5, dv=0.5, vth=1.0)
    connect(spiker, np.eye(2) * 0.5, post)
    program, _ = from_lava([spiker], LOIHI2, n_steps=10)
    (source,) = program.of_kind(SpikeSource)
    # Lava's Spiker with period 3 fires at steps 4, 7, 10
    assert source.steps.tolist() == [4, 4, 7, 7, 10, 10]
    assert source.indices.tolist() == [0, 1, 0, 1, 0, 1]


def test_weight_outlier_named_instead_of_threshold():
    weights = np.ones((4, 4))
    weights[2, 3] = 1e6
    _, post = float_pair(weights)
    with pytest.raises(QuantizationError) as exc:
        from_lava([post], LOIHI2)
    message = str(exc.value)
    assert message.startswith(
        "LIF 'post': its input weight layer.weights[2, 3] = 1e+06 is 1e+06 times "
        "its threshold 1; fitting that weight into"
    )
    assert "Clip or remove the outlier weight" in message


def test_negative_threshold_is_validation_error():
    pre = LIF(shape=(2,), du=0.1, dv=0.05, vth=1.0, name="pre")
    post = LIF(shape=(2,), du=0.1, dv=0.05, vth=-1.0, name="post")
    connect(pre, np.ones((2, 2)), post, name="layer")
    with pytest.raises(ValidationError, match="LIF 'post': vth is -1; the chip needs"):
        from_lava([post], LOIHI2)
