"""Partition compartment groups onto cores and cores onto the chips of a target.

Cost model (all limits come from the target's hw_config):

- compartments: one per LIF compartment or astrocyte on the core.
- input axons: one per (synapse group, presynaptic unit) with at least one
  non-zero synapse into the core.
- output axons: one per (synapse group, presynaptic compartment, receiving
  core) with at least one non-zero synapse, counted on the sending core.
  A neuron projecting back onto its own core still needs an axon.
- synapse memory: the non-zero synapses of each input axon, in blocks of at
  most ``synapses_per_block``; each block costs ``synapse_header_bits`` plus
  ``weight bits + delay bits + index bits`` per synapse, rounded up to whole
  ``synapse_word_bits`` words. Weight bits are
  ``synapse.weight_mant_bits``; delay bits are 0 without delays and
  ``ceil(log2(delay_max + 1))`` with them; index bits are the larger of
  ``core.synapse_index_bits`` and ``ceil(log2(compartments on the core))``.
  Zero weights are not stored.

Spike sources run off the cores (on the host or an embedded CPU). They use
input axons and synapse memory on the cores they reach, but no core of
their own. Each core holds one slice of one group, as nengo-loihi places
one block per core.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any

import numpy as np
import scipy.sparse

from glia_neuromorphic.errors import CapacityError, ConfigError
from glia_neuromorphic.hwconfig import ChipConfig, Target, available_targets
from glia_neuromorphic.program import (
    AstrocyteGroup,
    ChipProgram,
    CompartmentGroup,
    SynapseGroup,
)

logger = logging.getLogger(__name__)

#: Group kinds that occupy compartments on a core.
CORE_GROUP_KINDS = (CompartmentGroup, AstrocyteGroup)
#: Per-core resources, in the order reports list them.
RESOURCES = ("compartments", "input_axons", "output_axons", "synapse_words")
#: Upper bound on split-and-recount passes; each pass at least grows one group's
#: number of slices, so this is reached only by pathological networks.
MAX_PASSES = 64

_LIMIT_KEYS = {
    "compartments": "core.compartments",
    "input_axons": "core.input_axons",
    "output_axons": "core.output_axons",
    "synapse_words": "core.synapse_memory_bits",
}


@dataclasses.dataclass
class CoreUsage:
    """One core: the slice ``[start, stop)`` of ``group`` and what it uses."""

    index: int
    chip: int
    group: str
    start: int
    stop: int
    compartments: int
    input_axons: int
    output_axons: int
    synapse_words: int

    def value(self, resource: str) -> int:
        """Return the amount of ``resource`` this core uses."""
        return int(getattr(self, resource))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Mapping:
    """The placement of a program on a target."""

    target: Target
    split: bool
    cores: list[CoreUsage]

    @property
    def n_cores(self) -> int:
        """Return the number of cores used."""
        return len(self.cores)

    @property
    def n_chips(self) -> int:
        """Return the number of chips used."""
        return len({c.chip for c in self.cores})

    def group_cores(self, name: str) -> list[CoreUsage]:
        """Return the cores holding slices of group ``name``."""
        return [c for c in self.cores if c.group == name]

    def to_metadata(self) -> dict[str, Any]:
        """Return the placement as JSON for the program's metadata."""
        placement: dict[str, list[list[int]]] = {}
        for c in self.cores:
            placement.setdefault(c.group, []).append([c.index, c.chip, c.start, c.stop])
        return {
            "target": self.target.name,
            "split": self.split,
            "n_cores": self.n_cores,
            "n_chips": self.n_chips,
            "placement": placement,
        }


def core_limits(chip: ChipConfig) -> dict[str, int]:
    """Return the per-core limit of each resource in :data:`RESOURCES`."""
    return {
        "compartments": chip.core.compartments,
        "input_axons": chip.core.input_axons,
        "output_axons": chip.core.output_axons,
        "synapse_words": chip.core.synapse_memory_bits // chip.core.synapse_word_bits,
    }


def synapse_bits(syn: SynapseGroup, n_compartments: int, chip: ChipConfig) -> int:
    """Return the bits one synapse of ``syn`` takes on a core of ``n_compartments``."""
    delay_bits = 0
    if syn.delays is not None and np.max(syn.delays, initial=0) > 0:
        delay_bits = math.ceil(math.log2(chip.synapse.delay_max + 1))
    index_bits = max(
        chip.core.synapse_index_bits, math.ceil(math.log2(max(n_compartments, 1)))
    )
    return chip.synapse.weight_mant_bits + delay_bits + index_bits


def axon_words(counts: np.ndarray, bits_per_synapse: int, chip: ChipConfig) -> int:
    """Return the synapse-memory words of input axons with ``counts`` synapses each.

    Each axon's synapses are stored in blocks of at most ``synapses_per_block``
    synapses; every block has its own header and is rounded up to whole words.
    """
    core = chip.core
    counts = counts.astype(np.int64)
    full, rest = np.divmod(counts, core.synapses_per_block)
    full_bits = core.synapse_header_bits + core.synapses_per_block * bits_per_synapse
    rest_bits = core.synapse_header_bits + rest * bits_per_synapse
    words_full = -(-full_bits // core.synapse_word_bits)
    words_rest = np.where(rest > 0, -(-rest_bits // core.synapse_word_bits), 0)
    return int((full * words_full + words_rest).sum())


def _even_bounds(n: int, k: int) -> np.ndarray:
    """Return ``k + 1`` slice bounds that split ``n`` units into near-equal parts."""
    return (np.arange(k + 1, dtype=np.int64) * n) // k


def _pattern(syn: SynapseGroup) -> scipy.sparse.csr_matrix:
    """Return the non-zero pattern of the weights as a boolean CSR matrix."""
    pattern = scipy.sparse.csr_matrix(syn.weights != 0)
    pattern.eliminate_zeros()
    return pattern


def _count_usage(
    sizes: dict[str, int],
    synapses: list[tuple[SynapseGroup, scipy.sparse.csr_matrix]],
    bounds: dict[str, np.ndarray],
    chip: ChipConfig,
) -> dict[str, dict[str, np.ndarray]]:
    """Return, per group, each resource used by each of its slices."""
    usage = {
        name: {
            "compartments": np.diff(b),
            "input_axons": np.zeros(len(b) - 1, dtype=np.int64),
            "output_axons": np.zeros(len(b) - 1, dtype=np.int64),
            "synapse_words": np.zeros(len(b) - 1, dtype=np.int64),
        }
        for name, b in bounds.items()
    }
    for syn, pattern in synapses:
        post_bounds = bounds[syn.post]
        pre_bounds = bounds.get(syn.pre)
        n_pre = pattern.shape[1]
        for c in range(len(post_bounds) - 1):
            start, stop = post_bounds[c], post_bounds[c + 1]
            rows = pattern[start:stop]
            counts = np.bincount(rows.indices, minlength=n_pre)
            hit = counts > 0
            per_synapse = synapse_bits(syn, int(stop - start), chip)
            usage[syn.post]["input_axons"][c] += int(hit.sum())
            usage[syn.post]["synapse_words"][c] += axon_words(
                counts[hit], per_synapse, chip
            )
            if pre_bounds is not None:
                cumulative = np.concatenate([[0], np.cumsum(hit)])
                usage[syn.pre]["output_axons"] += (
                    cumulative[pre_bounds[1:]] - cumulative[pre_bounds[:-1]]
                )
    return usage


@dataclasses.dataclass
class _Violation:
    group: str
    chunk: int
    core: int
    resource: str
    value: int
    limit: int


def _violations(
    usage: dict[str, dict[str, np.ndarray]], limits: dict[str, int]
) -> list[_Violation]:
    found = []
    core = 0
    for name, resources in usage.items():
        n_chunks = len(resources["compartments"])
        for resource in RESOURCES:
            values = resources[resource]
            for chunk in np.flatnonzero(values > limits[resource]):
                found.append(
                    _Violation(
                        name,
                        int(chunk),
                        core + int(chunk),
                        resource,
                        int(values[chunk]),
                        limits[resource],
                    )
                )
        core += n_chunks
    return found


_HINTS = {
    "compartments": "enable group splitting (the default) or use fewer neurons",
    "input_axons": (
        "reduce the number of presynaptic units that reach this group, or "
        "route them through fewer relay neurons"
    ),
    "output_axons": (
        "split the group (the default) so fewer of its neurons share a core, "
        "or reduce its fan-out"
    ),
    "synapse_words": (
        "split the group (the default), use a sparser connection, or fewer weight bits"
    ),
}


def _capacity_error(v: _Violation, target: Target, split: bool) -> CapacityError:
    chip = target.chip
    unit = {"synapse_words": "synapse words"}.get(v.resource, v.resource)
    unit = unit.replace("_", " ")
    hint = _HINTS[v.resource]
    if split and v.resource != "compartments":
        hint = f"splitting did not help; {hint}"
    return CapacityError(
        f"group {v.group!r} on core {v.core} (slice {v.chunk}): needs {v.value} "
        f"{unit}, core limit {v.limit} ({_LIMIT_KEYS[v.resource]} of "
        f"{chip.name}, {chip.path.name}); {hint}"
    )


def _larger_targets(target: Target, n_cores: int) -> list[str]:
    """Return targets with the same chip kind and at least ``n_cores`` cores."""
    from glia_neuromorphic.hwconfig import load_target

    fits = []
    for name in available_targets():
        try:
            other = load_target(name)
        except ConfigError:
            continue  # a broken target file is no suggestion
        if other.chip.name == target.chip.name and other.total_cores >= n_cores:
            fits.append((other.total_cores, name))
    return [name for _, name in sorted(fits)]


def _check_core_count(n_cores: int, target: Target, reason: str) -> None:
    if n_cores <= target.total_cores:
        return
    larger = _larger_targets(target, n_cores)
    hint = (
        f"use a larger target ({', '.join(larger)})"
        if larger
        else "use a larger board, fewer neurons or sparser connections"
    )
    raise CapacityError(
        f"network needs {n_cores} cores{reason}, target {target.name!r} has "
        f"{target.total_cores} ({target.n_chips} chip(s) x "
        f"{target.chip.chip.cores} cores, chip.cores of {target.chip.path.name}); "
        f"{hint}"
    )


def _grow(n_chunks: dict, sizes: dict, over: list[_Violation]) -> bool:
    """Split the groups in ``over`` into more slices; return whether any grew."""
    wanted: dict[str, int] = {}
    for v in over:
        k = n_chunks[v.group]
        factor = math.ceil(k * v.value / v.limit)
        wanted[v.group] = max(wanted.get(v.group, k), k + 1, factor)
    grew = False
    for name, k in wanted.items():
        k = min(k, sizes[name])
        if k > n_chunks[name]:
            logger.info("splitting group %r into %d slices", name, k)
            n_chunks[name] = k
            grew = True
    return grew


def map_program(program: ChipProgram, target: Target, *, split: bool = True) -> Mapping:
    """Place every compartment group of ``program`` on the cores of ``target``.

    Groups larger than a core, or whose slices exceed an axon or synapse
    memory limit, are split into near-equal slices (``split=True``). This
    check is the one every backend relies on: a program that maps here fits
    the target's limits under the documented cost model.

    Raises
    ------
    CapacityError
        One error for the first resource that does not fit, naming the group,
        the core index, the resource, the value, the limit and a fix.
    """
    program.validate()
    chip = target.chip
    limits = core_limits(chip)
    sizes = {
        g.name: g.size
        for g in program.groups.values()
        if isinstance(g, CORE_GROUP_KINDS)
    }
    synapses = [
        (syn, _pattern(syn))
        for syn in program.of_kind(SynapseGroup)
        if syn.post in sizes
    ]
    n_chunks = {
        name: math.ceil(n / limits["compartments"]) if split else 1
        for name, n in sizes.items()
    }
    reason = " after splitting" if split else " (one core per group)"
    for _ in range(MAX_PASSES):
        _check_core_count(sum(n_chunks.values()), target, reason)
        bounds = {name: _even_bounds(sizes[name], k) for name, k in n_chunks.items()}
        usage = _count_usage(sizes, synapses, bounds, chip)
        over = _violations(usage, limits)
        if not over:
            break
        if not split or not _grow(n_chunks, sizes, over):
            raise _capacity_error(over[0], target, split)
        first = over[0]
        reason = (
            f" after splitting group {first.group!r} for its "
            f"{first.resource.replace('_', ' ')} ({first.value} on one core, "
            f"limit {first.limit})"
        )
    else:
        raise _capacity_error(over[0], target, split)

    cores = _assign(bounds, usage, chip)
    logger.info(
        "mapped %d groups onto %d cores of %s", len(sizes), len(cores), target.name
    )
    return Mapping(target=target, split=split, cores=cores)


def _assign(bounds: dict, usage: dict, chip: ChipConfig) -> list[CoreUsage]:
    cores = []
    for name, b in bounds.items():
        for c in range(len(b) - 1):
            index = len(cores)
            cores.append(
                CoreUsage(
                    index=index,
                    chip=index // chip.chip.cores,
                    group=name,
                    start=int(b[c]),
                    stop=int(b[c + 1]),
                    **{r: int(usage[name][r][c]) for r in RESOURCES},
                )
            )
    return cores
