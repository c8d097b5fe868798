"""Map a chip program onto cores and chips, and report the resources it uses."""

from glia_neuromorphic.mapping.partition import (
    CORE_GROUP_KINDS,
    RESOURCES,
    CoreUsage,
    Mapping,
    axon_words,
    core_limits,
    map_program,
    synapse_bits,
)
from glia_neuromorphic.mapping.report import ResourceReport

__all__ = [
    "CORE_GROUP_KINDS",
    "RESOURCES",
    "CoreUsage",
    "Mapping",
    "ResourceReport",
    "axon_words",
    "core_limits",
    "map_program",
    "synapse_bits",
]
