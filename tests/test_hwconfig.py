"""Target files: loading, validation and error messages."""

import shutil

import pytest

from glia_neuromorphic.errors import ConfigError
from glia_neuromorphic.hwconfig import (
    available_targets,
    config_dir,
    load_chip,
    load_target,
)


def test_chips_load_with_documented_limits():
    loihi1 = load_chip("loihi1")
    assert loihi1.core.compartments == 1024
    assert loihi1.chip.cores == 128
    assert loihi1.core.output_axons == 4096
    assert loihi1.core.synapse_memory_bits == 1_048_576
    assert loihi1.neuron.decay_bits == 12
    assert loihi1.synapse.weight_mant_bits == 8
    assert loihi1.neuron.u_bits == 24
    assert loihi1.reference == "nengo-loihi"
    loihi2 = load_chip("loihi2")
    assert loihi2.reference == "lava"
    assert loihi2.overflow.u == "wrap"
    assert loihi2.overflow.v == "clip"


def test_assumed_values_are_listed():
    loihi2 = load_chip("loihi2")
    assert "core.input_axons" in loihi2.assumed
    assert "neuron.decay_bits" not in loihi2.assumed


@pytest.mark.parametrize(
    "board, chip, n_chips",
    [
        ("kapoho_bay", "loihi1", 2),
        ("nahuku32", "loihi1", 32),
        ("oheo_gulch", "loihi2", 1),
        ("kapoho_point", "loihi2", 8),
    ],
)
def test_boards_resolve_their_chip(board, chip, n_chips):
    target = load_target(board)
    assert target.kind == "board"
    assert target.chip.name == chip
    assert target.n_chips == n_chips
    assert target.total_cores == 128 * n_chips


def test_chip_target_is_one_chip():
    target = load_target("loihi1")
    assert target.n_chips == 1
    assert set(available_targets()) >= {"loihi1", "loihi2", "kapoho_bay"}


def test_unknown_target_names_known_ones():
    with pytest.raises(ConfigError, match="unknown target 'loihi9'.*loihi1"):
        load_target("loihi9")


def _copy(tmp_path, text_edit):
    src = config_dir() / "loihi1.toml"
    dst = tmp_path / "broken.toml"
    shutil.copy(src, dst)
    dst.write_text(text_edit(dst.read_text()))
    return dst


def test_missing_key_is_named(tmp_path):
    path = _copy(
        tmp_path,
        lambda t: "\n".join(
            line for line in t.splitlines() if not line.startswith("u_bits")
        ),
    )
    with pytest.raises(ConfigError, match="missing key 'neuron.u_bits'"):
        load_chip(path)


def test_malformed_toml_is_reported(tmp_path):
    path = _copy(tmp_path, lambda t: t.replace("[core]", "[core"))
    with pytest.raises(ConfigError, match="malformed TOML"):
        load_chip(path)


def test_wrong_type_is_reported(tmp_path):
    path = _copy(
        tmp_path,
        lambda t: t.replace(
            "compartments = { value = 1024", 'compartments = { value = "many"'
        ),
    )
    with pytest.raises(ConfigError, match="'core.compartments' must be an integer"):
        load_chip(path)


def test_unknown_overflow_policy(tmp_path):
    path = _copy(tmp_path, lambda t: t.replace('policy = "clip"', 'policy = "bounce"'))
    with pytest.raises(ConfigError, match="policy 'bounce'"):
        load_chip(path)


@pytest.mark.parametrize("section", ["neuron", "overflow"])
def test_unknown_key_in_section_is_rejected(tmp_path, section):
    extra = (
        'u_bitz = { value = 24, source = "typo" }'
        if section == "neuron"
        else 'u_wrap = { policy = "wrap", source = "typo" }'
    )
    path = _copy(tmp_path, lambda t: t.replace(f"[{section}]", f"[{section}]\n{extra}"))
    with pytest.raises(
        ConfigError, match=rf"unknown key\(s\) \['u_\w+'\] in \[{section}\]"
    ):
        load_chip(path)


def test_missing_source_is_rejected(tmp_path):
    path = _copy(
        tmp_path,
        lambda t: t.replace(
            'cores = { value = 128, source = "Davies et al., IEEE Micro 38(1) 2018" }',
            "cores = { value = 128 }",
        ),
    )
    with pytest.raises(ConfigError, match="'chip.cores' must be a table"):
        load_chip(path)


def test_schema_version_mismatch(tmp_path):
    path = _copy(
        tmp_path, lambda t: t.replace("schema_version = 1", "schema_version = 9")
    )
    with pytest.raises(ConfigError, match="schema_version is 9"):
        load_chip(path)
