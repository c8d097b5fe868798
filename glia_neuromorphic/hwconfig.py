"""Load and validate the hw_configs/*.toml target descriptions.

A *target* is a chip (``loihi1``, ``loihi2``: one chip of that kind) or a
board (all of its chips). Every limit, bit width and overflow policy the
toolchain uses is read from these files; none is written into the code.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomli as tomllib

from glia_neuromorphic.errors import ConfigError

SCHEMA_VERSION = 1
ASSUMED = "assumed"
OVERFLOW_POLICIES = ("wrap", "clip")
REFERENCES = ("lava", "nengo-loihi")

#: Directory searched for ``NAME.toml``; ``GLIA_HW_CONFIGS`` overrides it.
DEFAULT_CONFIG_DIR = Path(__file__).resolve().parent.parent / "hw_configs"


@dataclasses.dataclass(frozen=True)
class CoreLimits:
    """Per-core resources."""

    compartments: int
    input_axons: int
    output_axons: int
    synapse_memory_bits: int
    synapse_word_bits: int
    synapse_index_bits: int
    synapse_header_bits: int
    synapses_per_block: int


@dataclasses.dataclass(frozen=True)
class ChipLimits:
    """Per-chip resources."""

    cores: int


@dataclasses.dataclass(frozen=True)
class NeuronFormat:
    """Bit widths and offsets of the compartment (LIF) datapath."""

    decay_bits: int
    decay_u_offset: int
    decay_v_offset: int
    u_bits: int
    v_bits: int
    accumulator_bits: int
    act_shift: int
    vth_mant_bits: int
    vth_shift: int
    bias_mant_bits: int
    bias_exp_max: int
    refract_delay_min: int
    refract_delay_max: int


@dataclasses.dataclass(frozen=True)
class SynapseFormat:
    """Bit widths of weights, exponents, delays and spike payloads."""

    weight_mant_bits: int
    weight_exp_min: int
    weight_exp_max: int
    mixed_weight_min: int
    delay_max: int
    graded_spike_bits: int


@dataclasses.dataclass(frozen=True)
class OverflowPolicy:
    """Overflow behaviour of each register: wrap or clip."""

    accumulator: str
    u: str
    v: str


_SECTIONS: dict[str, type] = {
    "core": CoreLimits,
    "chip": ChipLimits,
    "neuron": NeuronFormat,
    "synapse": SynapseFormat,
}


@dataclasses.dataclass(frozen=True)
class ChipConfig:
    """One chip kind: its limits, formats, overflow policies and their sources."""

    name: str
    generation: int
    description: str
    reference: str
    core: CoreLimits
    chip: ChipLimits
    neuron: NeuronFormat
    synapse: SynapseFormat
    overflow: OverflowPolicy
    #: ``"section.key"`` -> source text for every number and policy.
    sources: dict[str, str]
    path: Path

    @property
    def assumed(self) -> list[str]:
        """Return the keys whose value is not public (``source = "assumed"``)."""
        return sorted(k for k, s in self.sources.items() if s.startswith(ASSUMED))

    @property
    def decay_unity(self) -> int:
        """Return the decay denominator, ``2**decay_bits``."""
        return 1 << self.neuron.decay_bits


@dataclasses.dataclass(frozen=True)
class Target:
    """A compile target: ``n_chips`` chips of kind ``chip``, on a board or alone."""

    name: str
    kind: str
    chip: ChipConfig
    n_chips: int
    description: str
    sources: dict[str, str]

    @property
    def assumed(self) -> list[str]:
        """Return every key of this target marked ``source = "assumed"``."""
        own = [k for k, s in self.sources.items() if s.startswith(ASSUMED)]
        return sorted(own) + [f"{self.chip.name}.{k}" for k in self.chip.assumed]

    @property
    def total_cores(self) -> int:
        """Return the number of cores on all chips of the target."""
        return self.n_chips * self.chip.chip.cores

    def summary(self) -> dict[str, Any]:
        """Return a JSON-ready description for reports."""
        return {
            "target": self.name,
            "kind": self.kind,
            "chip": self.chip.name,
            "n_chips": self.n_chips,
            "reference": self.chip.reference,
            "config_file": str(self.chip.path),
            "assumed": self.assumed,
        }


def config_dir() -> Path:
    """Return the directory that contains the target files."""
    return Path(os.environ.get("GLIA_HW_CONFIGS", DEFAULT_CONFIG_DIR))


def available_targets(directory: Path | None = None) -> list[str]:
    """Return the names of all target files in ``directory``."""
    directory = config_dir() if directory is None else Path(directory)
    return sorted(p.stem for p in directory.glob("*.toml"))


def _resolve(name_or_path: str | Path) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            raise ConfigError(
                f"hw_config file {str(candidate)!r} not found; pass an existing "
                f"TOML file or one of the targets {available_targets()}"
            )
        return candidate
    path = config_dir() / f"{name_or_path}.toml"
    if not path.is_file():
        raise ConfigError(
            f"unknown target {str(name_or_path)!r}; known targets: "
            f"{', '.join(available_targets()) or '(none)'} in {config_dir()}"
        )
    return path


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: malformed TOML ({exc}); fix the syntax") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from exc


def _entry(path: Path, key: str, raw: Any, field: str = "value") -> tuple[Any, str]:
    """Unpack one ``{ value = ..., source = "..." }`` entry."""
    if not isinstance(raw, dict) or field not in raw or "source" not in raw:
        raise ConfigError(
            f"{path}: key {key!r} must be a table {{ {field} = ..., source = "
            f'"..." }}, got {raw!r}'
        )
    source = raw["source"]
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(
            f"{path}: key {key!r} has an empty source; name where the number "
            f'comes from or write source = "{ASSUMED}"'
        )
    return raw[field], source


def _section(path: Path, data: dict, name: str, cls: type, sources: dict) -> Any:
    """Return section ``[name]`` as ``cls``, an integer per field."""
    return _read_section(path, data, name, cls, sources, _integer)


def _integer(path: Path, key: str, raw: Any) -> tuple[int, str]:
    value, source = _entry(path, key, raw)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{path}: key {key!r} must be an integer, got {value!r}")
    return value, source


def _policy(path: Path, key: str, raw: Any) -> tuple[str, str]:
    policy, source = _entry(path, key, raw, "policy")
    if policy not in OVERFLOW_POLICIES:
        raise ConfigError(
            f"{path}: key {key!r} has policy {policy!r}; use one of "
            f"{list(OVERFLOW_POLICIES)}"
        )
    return policy, source


def _read_section(
    path: Path,
    data: dict,
    name: str,
    cls: type,
    sources: dict,
    read: Callable[[Path, str, Any], tuple[Any, str]],
) -> Any:
    """Return section ``[name]`` as ``cls``, each field read by ``read``.

    Every field of ``cls`` must be present and no other key may be, so a
    misspelt key is an error instead of a silently ignored entry. The source
    of each value is stored in ``sources`` under ``"name.field"``.
    """
    table = data.get(name)
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: missing section [{name}]")
    fields = [f.name for f in dataclasses.fields(cls)]
    values = {}
    for field in fields:
        key = f"{name}.{field}"
        if field not in table:
            raise ConfigError(f"{path}: missing key {key!r}")
        values[field], sources[key] = read(path, key, table[field])
    unknown = set(table) - set(fields)
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) {sorted(unknown)} in [{name}]; check the "
            f"spelling against {fields}"
        )
    return cls(**values)


def _check_header(path: Path, data: dict, kind: str) -> None:
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ConfigError(
            f"{path}: schema_version is {version!r}, this toolchain reads "
            f"version {SCHEMA_VERSION}; update the file or the toolchain"
        )
    for key in ("name", "kind", "description"):
        if not isinstance(data.get(key), str):
            raise ConfigError(f"{path}: missing or non-string key {key!r}")
    if data["kind"] != kind:
        raise ConfigError(f"{path}: kind is {data['kind']!r}, expected {kind!r}")


def _check_ranges(path: Path, cfg: ChipConfig) -> None:
    positive = {
        "core.compartments": cfg.core.compartments,
        "core.input_axons": cfg.core.input_axons,
        "core.output_axons": cfg.core.output_axons,
        "core.synapse_memory_bits": cfg.core.synapse_memory_bits,
        "core.synapse_word_bits": cfg.core.synapse_word_bits,
        "core.synapses_per_block": cfg.core.synapses_per_block,
        "chip.cores": cfg.chip.cores,
        "neuron.decay_bits": cfg.neuron.decay_bits,
        "neuron.u_bits": cfg.neuron.u_bits,
        "neuron.v_bits": cfg.neuron.v_bits,
        "neuron.accumulator_bits": cfg.neuron.accumulator_bits,
        "synapse.weight_mant_bits": cfg.synapse.weight_mant_bits,
    }
    for key, value in positive.items():
        if value <= 0:
            raise ConfigError(f"{path}: key {key!r} must be positive, got {value}")
    if cfg.synapse.weight_exp_min > cfg.synapse.weight_exp_max:
        raise ConfigError(
            f"{path}: synapse.weight_exp_min ({cfg.synapse.weight_exp_min}) is "
            f"above synapse.weight_exp_max ({cfg.synapse.weight_exp_max})"
        )
    if cfg.neuron.refract_delay_min > cfg.neuron.refract_delay_max:
        raise ConfigError(
            f"{path}: neuron.refract_delay_min is above neuron.refract_delay_max"
        )


def load_chip(name_or_path: str | Path) -> ChipConfig:
    """Load and validate one chip description.

    Raises
    ------
    ConfigError
        If the file is missing, is not valid TOML, lacks a key, or holds a
        value of the wrong type; the message names the file and the key.
    """
    path = _resolve(name_or_path)
    data = _read_toml(path)
    _check_header(path, data, "chip")
    sources: dict[str, str] = {}
    sections = {
        name: _section(path, data, name, cls, sources)
        for name, cls in _SECTIONS.items()
    }

    overflow = _read_section(path, data, "overflow", OverflowPolicy, sources, _policy)

    reference = data.get("reference")
    if reference not in REFERENCES:
        raise ConfigError(
            f"{path}: reference is {reference!r}; use one of {list(REFERENCES)}"
        )
    generation = data.get("generation")
    if generation not in (1, 2):
        raise ConfigError(f"{path}: generation must be 1 or 2, got {generation!r}")

    cfg = ChipConfig(
        name=data["name"],
        generation=generation,
        description=data["description"],
        reference=reference,
        overflow=overflow,
        sources=sources,
        path=path,
        **sections,
    )
    _check_ranges(path, cfg)
    return cfg


def load_target(name_or_path: str | Path) -> Target:
    """Load a chip (one chip) or a board (all its chips) as a compile target."""
    path = _resolve(name_or_path)
    data = _read_toml(path)
    kind = data.get("kind")
    if kind == "chip":
        chip = load_chip(path)
        return Target(chip.name, "chip", chip, 1, chip.description, {})
    if kind != "board":
        raise ConfigError(f"{path}: kind must be 'chip' or 'board', got {kind!r}")
    _check_header(path, data, "board")
    chip_name = data.get("chip")
    if not isinstance(chip_name, str):
        raise ConfigError(f"{path}: missing key 'chip' (the chip kind on the board)")
    chip_path = path.parent / f"{chip_name}.toml"
    chip = load_chip(chip_path if chip_path.is_file() else chip_name)
    n_chips, source = _entry(path, "chips", data.get("chips"))
    if isinstance(n_chips, bool) or not isinstance(n_chips, int) or n_chips < 1:
        raise ConfigError(f"{path}: key 'chips' must be a positive integer")
    return Target(
        data["name"], "board", chip, n_chips, data["description"], {"chips": source}
    )


def default_backend(target: str | Path | Target) -> str:
    """Return the backend that runs fixed-point programs of ``target`` by default.

    It is the bit-exact reference of the target's chip (the ``reference`` key
    of its hw_config). In the shipped hw_configs that is ``nengo-loihi`` for
    Loihi 1 chips and boards and ``lava`` for Loihi 2.
    """
    if not isinstance(target, Target):
        target = load_target(target)
    return target.chip.reference
