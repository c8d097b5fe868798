"""Collect per-group quantization errors and register-overflow risks of a program."""

from __future__ import annotations

import dataclasses
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse
from rich.table import Table

from glia_neuromorphic.errors import OverflowRiskWarning
from glia_neuromorphic.fileutil import strict_json
from glia_neuromorphic.hwconfig import ChipConfig
from glia_neuromorphic.program import (
    AstrocyteGroup,
    ChipProgram,
    CompartmentGroup,
    SynapseGroup,
    atomic_write_text,
)
from glia_neuromorphic.quantize.core import ParamReport, QuantizedDecay

logger = logging.getLogger(__name__)

REPORT_FORMAT = "glia-quantization-report"
REPORT_VERSION = 1


@dataclasses.dataclass
class OverflowRisk:
    """A register that the worst-case input of one step can push out of range.

    ``worst_case`` is the sum of all positive (or all negative) synaptic
    charges that can land on compartment ``index`` of ``group`` in one step,
    in the register's integer units. ``bound`` is the end of the register's
    range on that side.
    """

    group: str
    index: int
    register: str
    bits: int
    worst_case: int
    bound: int
    policy: str
    n_compartments: int

    def message(self) -> str:
        """Return the one-line warning text."""
        more = (
            f" ({self.n_compartments} compartments of the group are at risk)"
            if self.n_compartments > 1
            else ""
        )
        return (
            f"compartment {self.group}[{self.index}]: worst-case fan-in sum "
            f"{self.worst_case:,} exceeds the {self.bits}-bit {self.register} "
            f"register bound {self.bound:,}; at run time it will "
            f"{self.policy}{more}. Lower the weights or the weight exponent, or "
            "spread the inputs over more steps"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict with the message."""
        return {**dataclasses.asdict(self), "message": self.message()}


@dataclasses.dataclass
class QuantizationReport:
    """Quantization errors of every parameter group of one compiled program.

    Attributes
    ----------
    target : str
        Target name the program was quantized for.
    rounding : str
        Rounding mode (``nearest`` or ``stochastic``).
    seed : int or None
        Seed of the stochastic rounding generator.
    params : list of ParamReport
        One entry per quantized parameter group (weights, thresholds, biases).
    decays : list of QuantizedDecay
        One entry per quantized time constant.
    overflow : list of OverflowRisk
        Registers the worst-case input of one step can overflow.
    notes : list of str
        Facts about the quantization that are not errors (e.g. integers
        taken as they are from a fixed-point graph).
    """

    target: str
    rounding: str = "nearest"
    seed: int | None = None
    params: list[ParamReport] = dataclasses.field(default_factory=list)
    decays: list[QuantizedDecay] = dataclasses.field(default_factory=list)
    overflow: list[OverflowRisk] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)

    def add(self, report: ParamReport) -> ParamReport:
        """Append one parameter-group report and return it."""
        self.params.append(report)
        return report

    def add_decay(self, decay: QuantizedDecay) -> QuantizedDecay:
        """Append one quantized decay and return it."""
        self.decays.append(decay)
        return decay

    @property
    def n_saturated(self) -> int:
        """Return the number of values clipped over all groups."""
        return sum(p.n_saturated for p in self.params)

    @property
    def n_zeroed(self) -> int:
        """Return the number of non-zero floats that became 0 over all groups."""
        return sum(p.n_zeroed for p in self.params)

    def find(self, name: str) -> ParamReport:
        """Return the parameter report called ``name``."""
        for report in self.params:
            if report.name == name:
                return report
        raise KeyError(f"no parameter report named {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of the whole report."""
        return {
            "format": REPORT_FORMAT,
            "format_version": REPORT_VERSION,
            "target": self.target,
            "rounding": self.rounding,
            "seed": self.seed,
            "totals": {
                "groups": len(self.params),
                "saturated": self.n_saturated,
                "zeroed": self.n_zeroed,
                "overflow_risks": len(self.overflow),
            },
            "params": [p.to_dict() for p in self.params],
            "decays": [d.to_dict() for d in self.decays],
            "overflow": [o.to_dict() for o in self.overflow],
            "notes": list(self.notes),
        }

    def to_json(self) -> str:
        """Return the report as indented JSON."""
        return strict_json(self.to_dict(), indent=1, default=_json_default)

    def save(self, path: str | Path) -> Path:
        """Write the JSON report atomically to ``path`` and return the path."""
        path = Path(path)
        atomic_write_text(path, self.to_json())
        return path

    def table(self, max_rows: int = 40) -> Table:
        """Return a rich table with one row per parameter group.

        Groups with saturated or zeroed values come first, then the largest
        relative errors; at most ``max_rows`` rows are shown.
        """
        table = Table(
            title=f"Quantization ({self.target}, rounding {self.rounding}, "
            f"seed {self.seed})",
            title_justify="left",
        )
        # fold, not cut, long values: a cut group name cannot be looked up
        for column in ("group", "kind", "n", "float range", "int range", "exp"):
            table.add_column(
                column,
                justify="right" if column == "n" else "left",
                overflow="fold",
            )
        for column in ("max rel err", "mean rel err", "saturated", "zeroed"):
            table.add_column(column, justify="right", overflow="fold")
        rows = sorted(
            self.params,
            key=lambda p: (-(p.n_saturated + p.n_zeroed), -p.max_rel_error),
        )
        for p in rows[:max_rows]:
            table.add_row(
                p.name,
                p.kind,
                str(p.n_values),
                f"[{p.float_min:.4g}, {p.float_max:.4g}]",
                f"[{p.int_min}, {p.int_max}]",
                "" if p.exponent is None else str(p.exponent),
                f"{p.max_rel_error:.2%}",
                f"{p.mean_rel_error:.2%}",
                _flag(p.n_saturated),
                _flag(p.n_zeroed),
            )
        if len(rows) > max_rows:
            table.caption = f"{len(rows) - max_rows} more groups in the JSON report"
        return table

    def decay_table(self) -> Table:
        """Return a rich table of the quantized time constants."""
        table = Table(title="Time constants", title_justify="left")
        table.add_column("filter", overflow="fold")
        for column in ("tau (s)", "tau_eff (s)", "stored", "rel err"):
            table.add_column(column, justify="right", overflow="fold")
        for d in self.decays:
            table.add_row(
                d.name,
                "none" if d.tau is None else f"{d.tau:.4g}",
                "none" if d.tau_eff is None else f"{d.tau_eff:.4g}",
                str(d.stored),
                f"{d.rel_error:+.2%}",
            )
        return table


def _flag(count: int) -> str:
    return f"[bold red]{count}[/]" if count else "0"


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


# --- overflow check ------------------------------------------------------------


def fan_in_bounds(program: ChipProgram, chip: ChipConfig) -> dict[str, np.ndarray]:
    """Return the worst-case positive and negative input of one step per compartment.

    The charge one spike of a synapse adds is ``weight << (weight_exp +
    act_shift)``. A graded spike multiplies it by its payload, which is at
    most ``2**(bits - 1) - 1``, or for an astrocyte its largest trace shifted
    right by ``out_shift``. The worst case is every presynaptic unit spiking in
    the same step.

    Returns
    -------
    dict of str -> (2, n) int64 array
        Row 0 holds the sum of the positive charges, row 1 the sum of the
        negative ones, for each compartment of each receiving group.
    """
    sums: dict[str, np.ndarray] = {}
    for syn in program.of_kind(SynapseGroup):
        post = program.groups.get(syn.post)
        if not isinstance(post, CompartmentGroup | AstrocyteGroup):
            continue
        weights = scipy.sparse.csr_matrix(syn.weights).astype(np.int64)
        scale = 2.0 ** (syn.weight_exp + chip.neuron.act_shift)
        if syn.num_message_bits:
            # a graded payload is signed, so either sign of weight can push
            # the sum either way
            payload = _max_payload(program.groups.get(syn.pre), syn.num_message_bits)
            magnitude = np.asarray(abs(weights).sum(axis=1)).ravel() * scale * payload
            pos, neg = magnitude, -magnitude
        else:
            pos = np.asarray(weights.maximum(0).sum(axis=1)).ravel() * scale
            neg = np.asarray(weights.minimum(0).sum(axis=1)).ravel() * scale
        acc = sums.setdefault(syn.post, np.zeros((2, post.size)))
        acc[0] += pos
        acc[1] += neg
    return {k: np.floor(v).astype(np.int64) for k, v in sums.items()}


def _max_payload(pre: object, num_message_bits: int) -> int:
    """Return the largest magnitude of a graded spike from ``pre``."""
    payload = 2 ** (num_message_bits - 1) - 1
    if isinstance(pre, AstrocyteGroup):
        payload = min(payload, (2 ** (pre.c_bits - 1) - 1) >> pre.out_shift)
    return payload


def check_overflow(
    program: ChipProgram, chip: ChipConfig, *, warn: bool = True
) -> list[OverflowRisk]:
    """Compare each compartment's worst-case fan-in sum with its register widths.

    The input of one step lands in the dendritic accumulator and then in the
    current register u, so both are checked (accumulator first). For each
    group and register the compartment with the largest excess is reported,
    with the count of compartments at risk.

    NOTE: the accumulator bound is taken in charge units (after the
    activation shift). Lava sums before the shift, so for Loihi 2 the check is
    conservative by ``act_shift`` bits.

    Parameters
    ----------
    warn : bool
        Issue an :class:`~glia_neuromorphic.errors.OverflowRiskWarning` per risk.
    """
    registers = (
        ("accumulator", chip.neuron.accumulator_bits, chip.overflow.accumulator),
        ("u", chip.neuron.u_bits, chip.overflow.u),
    )
    risks = []
    for name, sums in fan_in_bounds(program, chip).items():
        for register, bits, policy in registers:
            high, low = 2 ** (bits - 1) - 1, -(2 ** (bits - 1))
            excess = np.maximum(sums[0] - high, low - sums[1])
            at_risk = excess > 0
            if not at_risk.any():
                continue
            index = int(np.argmax(excess))
            positive = sums[0, index] - high >= low - sums[1, index]
            risk = OverflowRisk(
                group=name,
                index=index,
                register=register,
                bits=bits,
                worst_case=int(sums[0, index] if positive else sums[1, index]),
                bound=high if positive else low,
                policy=policy,
                n_compartments=int(at_risk.sum()),
            )
            risks.append(risk)
            if warn:
                warnings.warn(risk.message(), OverflowRiskWarning, stacklevel=2)
    return risks
