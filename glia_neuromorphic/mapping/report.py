"""Resource report of a mapping: cores and chips used, per-core utilization."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from rich.table import Table

from glia_neuromorphic.fileutil import strict_json
from glia_neuromorphic.mapping.partition import RESOURCES, Mapping, core_limits
from glia_neuromorphic.program import atomic_write_text

REPORT_FORMAT = "glia-resource-report"
REPORT_VERSION = 1


@dataclasses.dataclass
class ResourceReport:
    """Cores and chips a mapping uses and how full each core is.

    Attributes
    ----------
    target : dict
        :meth:`~glia_neuromorphic.hwconfig.Target.summary` of the target,
        including the keys whose value is assumed.
    limits : dict of str -> int
        Per-core limit of each resource.
    cores : list of dict
        One entry per core: its slice, the amount of each resource and the
        utilization (fraction of the limit).
    """

    target: dict[str, Any]
    limits: dict[str, int]
    cores: list[dict[str, Any]]
    n_cores: int
    n_chips: int
    cores_available: int
    chips_available: int
    split: bool

    @classmethod
    def from_mapping(cls, mapping: Mapping) -> ResourceReport:
        """Build the report of ``mapping``."""
        limits = core_limits(mapping.target.chip)
        cores = []
        for core in mapping.cores:
            entry = core.to_dict()
            entry["utilization"] = {
                r: core.value(r) / limits[r] if limits[r] else 0.0 for r in RESOURCES
            }
            cores.append(entry)
        return cls(
            target=mapping.target.summary(),
            limits=limits,
            cores=cores,
            n_cores=mapping.n_cores,
            n_chips=mapping.n_chips,
            cores_available=mapping.target.total_cores,
            chips_available=mapping.target.n_chips,
            split=mapping.split,
        )

    def largest_consumers(self, n: int = 5) -> list[dict[str, Any]]:
        """Return the ``n`` cores with the highest utilization of any resource."""
        ranked = sorted(
            self.cores,
            key=lambda c: max(c["utilization"].values(), default=0.0),
            reverse=True,
        )
        result = []
        for core in ranked[:n]:
            resource = max(core["utilization"], key=core["utilization"].get)
            result.append(
                {
                    "core": core["index"],
                    "group": core["group"],
                    "resource": resource,
                    "value": core[resource],
                    "limit": self.limits[resource],
                    "utilization": core["utilization"][resource],
                }
            )
        return result

    def totals(self) -> dict[str, int]:
        """Return the sum of each resource over all cores."""
        return {r: int(sum(c[r] for c in self.cores)) for r in RESOURCES}

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of the whole report."""
        return {
            "format": REPORT_FORMAT,
            "format_version": REPORT_VERSION,
            "target": self.target,
            "split": self.split,
            "n_cores": self.n_cores,
            "n_chips": self.n_chips,
            "cores_available": self.cores_available,
            "chips_available": self.chips_available,
            "limits": self.limits,
            "totals": self.totals(),
            "largest_consumers": self.largest_consumers(),
            "cores": self.cores,
        }

    def to_json(self) -> str:
        """Return the report as indented JSON."""
        return strict_json(self.to_dict(), indent=1)

    def save(self, path: str | Path) -> Path:
        """Write the JSON report atomically to ``path`` and return the path."""
        path = Path(path)
        atomic_write_text(path, self.to_json())
        return path

    def table(self, max_rows: int = 20) -> Table:
        """Return a rich table of the fullest ``max_rows`` cores."""
        assumed = self.target.get("assumed", [])
        table = Table(
            title=(
                f"Resources on {self.target['target']}: {self.n_cores} of "
                f"{self.cores_available} cores, {self.n_chips} of "
                f"{self.chips_available} chip(s)"
            ),
            title_justify="left",
        )
        # fold, not cut, long values: a cut group name cannot be looked up
        for column in ("core", "chip", "group", "slice"):
            table.add_column(
                column,
                justify="left" if column == "group" else "right",
                overflow="fold",
            )
        for resource in RESOURCES:
            table.add_column(
                f"{resource.replace('_', ' ')} (/{self.limits[resource]})",
                justify="right",
                overflow="fold",
            )

        # the fullest cores, listed in core order
        ranked = sorted(
            self.cores,
            key=lambda c: max(c["utilization"].values(), default=0.0),
            reverse=True,
        )
        for core in sorted(ranked[:max_rows], key=lambda c: c["index"]):
            table.add_row(
                str(core["index"]),
                str(core["chip"]),
                core["group"],
                f"{core['start']}:{core['stop']}",
                *(_cell(core[r], core["utilization"][r]) for r in RESOURCES),
            )

        notes = []
        if len(self.cores) > max_rows:
            notes.append(f"showing the {max_rows} fullest of {len(self.cores)} cores")
        if assumed:
            notes.append(f"assumed limits: {', '.join(assumed)}")
        table.caption = "; ".join(notes) or None
        return table


def _cell(value: int, fraction: float) -> str:
    text = f"{value} ({fraction:.0%})"
    if fraction > 0.9:
        return f"[bold yellow]{text}[/]"
    return text
