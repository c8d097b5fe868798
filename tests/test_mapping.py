"""Mapping onto cores and chips: limits, splitting, cost model, resource report."""

import json
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glia_neuromorphic.errors import CapacityError
from glia_neuromorphic.hwconfig import load_chip, load_target
from glia_neuromorphic.mapping import (
    ResourceReport,
    axon_words,
    map_program,
    synapse_bits,
)
from glia_neuromorphic.program import (
    ChipProgram,
    CompartmentGroup,
    SpikeSource,
    SynapseGroup,
)

LOIHI1 = load_target("loihi1")


def fan_out_program(last_row_inputs: int) -> ChipProgram:
    """100 neurons -> 41 one-compartment groups; the last gets fewer inputs.

    Each post group sits on its own core, so every presynaptic neuron needs
    one output axon per post group it reaches: 40 * 100 + last_row_inputs.
    """
    program = ChipProgram()
    program.add(CompartmentGroup("pre", n=100))
    for k in range(41):
        weights = np.ones((1, 100), dtype=np.int64)
        if k == 40:
            weights[0, last_row_inputs:] = 0
        program.add(CompartmentGroup(f"post{k}", n=1))
        program.add(
            SynapseGroup(f"fan{k}", pre="pre", post=f"post{k}", weights=weights)
        )
    return program


def dense_program(n: int = 64) -> ChipProgram:
    rng = np.random.default_rng(3)
    weights = rng.integers(1, 127, size=(n, n)) * rng.choice([-2, 2], size=(n, n))
    program = ChipProgram()
    program.add(CompartmentGroup("pre", n=n))
    program.add(CompartmentGroup("post", n=n))
    program.add(SynapseGroup("dense64", pre="pre", post="post", weights=weights))
    return program


def write_test_chip(tmp_path, synapse_memory_bits: int, cores: int = 1):
    """Write a copy of loihi1.toml with other synapse memory and core count."""
    text = load_chip("loihi1").path.read_text()
    text = re.sub(
        r"synapse_memory_bits = \{ value = \d+",
        f"synapse_memory_bits = {{ value = {synapse_memory_bits}",
        text,
    )
    text = re.sub(r"cores = \{ value = \d+", f"cores = {{ value = {cores}", text)
    text = text.replace('name = "loihi1"', 'name = "testchip"')
    path = tmp_path / "testchip.toml"
    path.write_text(text)
    return load_target(path)


def test_compartments_over_limit_without_splitting():
    program = ChipProgram()
    program.add(CompartmentGroup("ens1025", n=1025))
    with pytest.raises(CapacityError) as info:
        map_program(program, LOIHI1, split=False)
    message = str(info.value)
    assert "'ens1025'" in message
    assert "core 0" in message
    assert "needs 1025 compartments, core limit 1024" in message
    assert "splitting" in message


def test_compartments_split_onto_two_cores():
    program = ChipProgram()
    program.add(CompartmentGroup("ens1025", n=1025))
    mapping = map_program(program, LOIHI1)
    assert mapping.n_cores == 2
    assert [(c.start, c.stop) for c in mapping.cores] == [(0, 512), (512, 1025)]
    assert all(c.compartments <= 1024 for c in mapping.cores)


def test_output_axons_over_limit_without_splitting():
    with pytest.raises(CapacityError) as info:
        map_program(fan_out_program(97), LOIHI1, split=False)
    message = str(info.value)
    assert "'pre'" in message
    assert "core 0" in message
    assert "needs 4097 output axons, core limit 4096" in message


def test_output_axons_at_limit_fit():
    mapping = map_program(fan_out_program(96), LOIHI1, split=False)
    assert mapping.group_cores("pre")[0].output_axons == 4096


def test_output_axons_split_the_sender():
    mapping = map_program(fan_out_program(97), LOIHI1)
    cores = mapping.group_cores("pre")
    assert len(cores) == 2
    assert sum(c.output_axons for c in cores) == 4097
    assert all(c.output_axons <= 4096 for c in cores)


def test_synapse_cost_model_for_dense_64():
    chip = load_chip("loihi1")
    per_synapse = synapse_bits(dense_program().groups["dense64"], 64, chip)
    # 8 weight bits + max(6 assumed index bits, log2(64) = 6)
    assert per_synapse == 14
    # one axon: 10 header bits + 64 * 14 = 906 bits -> 15 words of 64 bits
    assert axon_words(np.array([64]), per_synapse, chip) == 15


@pytest.mark.parametrize("n_compartments", [40, 64, 1000])
def test_axon_words_match_nengo_loihi(n_compartments):
    from nengo_loihi.block import Synapse

    chip = load_chip("loihi1")
    # compression 0 is nengo-loihi's format with an index per synapse, the
    # format this cost model charges for every synapse
    syn = Synapse(1)
    syn.set_weights(np.full((1, n_compartments), 0.5))
    syn.format(compression=0)
    ours = axon_words(
        np.array([n_compartments]),
        synapse_bits(dense_program().groups["dense64"], n_compartments, chip),
        chip,
    )
    assert ours * chip.core.synapse_word_bits == syn.bits()


def test_synapse_memory_one_word_short(tmp_path):
    needed_words = 64 * 15
    target = write_test_chip(
        tmp_path, synapse_memory_bits=(needed_words - 1) * 64, cores=2
    )
    with pytest.raises(CapacityError) as info:
        map_program(dense_program(), target, split=False)
    message = str(info.value)
    assert "'post'" in message
    assert "core 1" in message
    assert (
        f"needs {needed_words} synapse words, core limit {needed_words - 1}" in message
    )


def test_synapse_memory_exact_fit(tmp_path):
    target = write_test_chip(tmp_path, synapse_memory_bits=64 * 15 * 64, cores=2)
    mapping = map_program(dense_program(), target, split=False)
    assert mapping.group_cores("post")[0].synapse_words == 960


def test_synapse_memory_split_when_cores_allow(tmp_path):
    target = write_test_chip(tmp_path, synapse_memory_bits=959 * 64, cores=4)
    mapping = map_program(dense_program(), target)
    post = mapping.group_cores("post")
    assert len(post) >= 2
    assert all(c.synapse_words <= 959 for c in post)


def test_too_many_cores_suggests_larger_board():
    program = ChipProgram()
    program.add(CompartmentGroup("big", n=1024 * 129))
    with pytest.raises(CapacityError) as info:
        map_program(program, LOIHI1)
    message = str(info.value)
    assert "needs 129 cores" in message
    assert "has 128" in message
    assert "kapoho_bay" in message


def test_board_places_cores_on_several_chips():
    program = ChipProgram()
    program.add(CompartmentGroup("big", n=1024 * 130))
    mapping = map_program(program, load_target("kapoho_bay"))
    assert mapping.n_cores == 130
    assert mapping.n_chips == 2
    assert mapping.cores[127].chip == 0
    assert mapping.cores[128].chip == 1


def test_spike_source_uses_no_core():
    program = ChipProgram()
    program.add(SpikeSource("stim", n=10, steps=[1], indices=[0]))
    program.add(CompartmentGroup("post", n=5))
    program.add(
        SynapseGroup("in", pre="stim", post="post", weights=np.ones((5, 10), int))
    )
    mapping = map_program(program, LOIHI1)
    assert [c.group for c in mapping.cores] == ["post"]
    assert mapping.cores[0].input_axons == 10


def test_zero_weights_are_not_stored():
    program = dense_program(8)
    program.groups["dense64"].weights[:, 3] = 0
    mapping = map_program(program, LOIHI1)
    assert mapping.group_cores("post")[0].input_axons == 7
    assert mapping.group_cores("pre")[0].output_axons == 7


def test_empty_program_maps_to_no_cores():
    mapping = map_program(ChipProgram(), LOIHI1)
    assert mapping.n_cores == 0
    report = ResourceReport.from_mapping(mapping)
    assert report.to_dict()["n_cores"] == 0


def test_resource_report_json_and_table(tmp_path):
    mapping = map_program(fan_out_program(97), LOIHI1)
    report = ResourceReport.from_mapping(mapping)
    path = report.save(tmp_path / "resources.json")
    data = json.loads(path.read_text())
    assert data["n_cores"] == 43
    assert data["limits"]["output_axons"] == 4096
    top = data["largest_consumers"][0]
    assert top["group"] == "pre"
    assert top["resource"] == "output_axons"
    assert data["totals"]["output_axons"] == 4097
    table = report.table(max_rows=5)
    assert table.row_count == 5
    assert "43 of 128 cores" in str(table.title)


# --- property: every mapping fits, checked by an independent recount ----------


@pytest.fixture(scope="module")
def small_target(tmp_path_factory):
    """A chip with tiny cores so that random programs need splitting."""
    text = load_chip("loihi1").path.read_text()
    for key, value in {
        "compartments": 16,
        "input_axons": 24,
        "output_axons": 40,
        "synapse_memory_bits": 48 * 64,
        "cores": 64,
    }.items():
        text = re.sub(
            rf"\n{key} = \{{ value = \d+", f"\n{key} = {{ value = {value}", text
        )
    text = text.replace('name = "loihi1"', 'name = "tiny"')
    path = tmp_path_factory.mktemp("tiny") / "tiny.toml"
    path.write_text(text)
    return load_target(path)


def recount(program, mapping, chip):
    """Recount each core's resources with plain loops over the weights."""
    cores_of = {}
    for core in mapping.cores:
        cores_of.setdefault(core.group, []).append(core)
    counted = []
    for core in mapping.cores:
        size = core.stop - core.start
        inputs = outputs = words = 0
        for syn in program.of_kind(SynapseGroup):
            weights = np.asarray(syn.weights)
            if syn.post == core.group:
                index_bits = max(
                    chip.core.synapse_index_bits, int(np.ceil(np.log2(max(size, 1))))
                )
                for j in range(weights.shape[1]):
                    nnz = np.count_nonzero(weights[core.start : core.stop, j])
                    if nnz:
                        inputs += 1
                    # one header per block of synapses_per_block synapses
                    while nnz > 0:
                        block = min(nnz, chip.core.synapses_per_block)
                        bits = chip.core.synapse_header_bits + block * (8 + index_bits)
                        words += -(-bits // chip.core.synapse_word_bits)
                        nnz -= block
            if syn.pre == core.group:
                for other in cores_of.get(syn.post, []):
                    block = weights[other.start : other.stop, core.start : core.stop]
                    outputs += int(np.count_nonzero(block.any(axis=0)))
        counted.append((size, inputs, outputs, words))
    return counted


@st.composite
def random_programs(draw):
    n_groups = draw(st.integers(1, 3))
    sizes = [draw(st.integers(1, 40)) for _ in range(n_groups)]
    program = ChipProgram()
    for k, n in enumerate(sizes):
        program.add(CompartmentGroup(f"g{k}", n=n))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    for k in range(draw(st.integers(0, 4))):
        pre, post = rng.integers(n_groups, size=2)
        density = draw(st.floats(0.05, 1.0))
        shape = (sizes[post], sizes[pre])
        weights = (rng.random(shape) < density) * rng.integers(1, 100, size=shape)
        program.add(
            SynapseGroup(f"s{k}", pre=f"g{pre}", post=f"g{post}", weights=weights)
        )
    return program


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(program=random_programs())
def test_every_mapping_fits_by_recount(program, small_target):
    try:
        mapping = map_program(program, small_target)
    except CapacityError:
        return  # a clear refusal is allowed; a wrong placement is not
    chip = small_target.chip
    limits = (
        chip.core.compartments,
        chip.core.input_axons,
        chip.core.output_axons,
        chip.core.synapse_memory_bits // chip.core.synapse_word_bits,
    )
    reported = [
        (c.compartments, c.input_axons, c.output_axons, c.synapse_words)
        for c in mapping.cores
    ]
    assert reported == recount(program, mapping, chip)
    for usage in reported:
        assert all(value <= limit for value, limit in zip(usage, limits, strict=True))
    for group in program.of_kind(CompartmentGroup):
        slices = [(c.start, c.stop) for c in mapping.group_cores(group.name)]
        assert slices[0][0] == 0
        assert slices[-1][1] == group.n
        assert all(a[1] == b[0] for a, b in zip(slices, slices[1:], strict=False))


def test_split_beyond_cores_names_the_cause(tmp_path):
    target = write_test_chip(tmp_path, synapse_memory_bits=100 * 64, cores=3)
    with pytest.raises(CapacityError) as info:
        map_program(dense_program(), target)
    message = str(info.value)
    assert "after splitting group 'post' for its synapse words" in message
    assert "limit 100" in message
