"""Quantization report and the compile-time fan-in overflow check."""

import json

import numpy as np
import pytest
from rich.console import Console

from glia_neuromorphic.errors import OverflowRiskWarning
from glia_neuromorphic.hwconfig import load_chip
from glia_neuromorphic.program import ChipProgram, CompartmentGroup, SynapseGroup
from glia_neuromorphic.quantize import (
    QuantizationReport,
    check_overflow,
    decay_from_tau,
    fan_in_bounds,
    quantize_weights,
)

LOIHI1 = load_chip("loihi1")
LOIHI2 = load_chip("loihi2")


def fan_in_program(n_inputs: int, mantissa: int, sign_mode: str) -> ChipProgram:
    """``n_inputs`` neurons all projecting onto one target with one mantissa."""
    program = ChipProgram()
    program.add(CompartmentGroup("inputs", n=n_inputs))
    program.add(CompartmentGroup("target", n=1, decay_u=0, vth=2**17 - 1))
    program.add(
        SynapseGroup(
            "fan_in",
            pre="inputs",
            post="target",
            weights=np.full((1, n_inputs), mantissa),
            weight_exp=0,
            sign_mode=sign_mode,
        )
    )
    return program


def test_fan_in_bounds_in_charge_units():
    sums = fan_in_bounds(fan_in_program(1024, 255, "excitatory"), LOIHI2)
    # both references shift the mantissa left by 6: 16,320 per spike
    assert sums["target"][0, 0] == 16_711_680
    assert sums["target"][1, 0] == 0


def test_1024_inputs_overflow_u_register():
    program = fan_in_program(1024, 255, "excitatory")
    with pytest.warns(OverflowRiskWarning) as record:
        risks = check_overflow(program, LOIHI2)
    assert [r.register for r in risks] == ["u"]
    message = str(record[0].message)
    assert "target[0]" in message
    assert "24-bit u register" in message
    assert "16,711,680" in message
    assert "8,388,607" in message


def test_512_inputs_overflow_only_loihi1_accumulator():
    program = fan_in_program(512, 255, "excitatory")
    with pytest.warns(OverflowRiskWarning) as record:
        risks = check_overflow(program, LOIHI1)
    assert [r.register for r in risks] == ["accumulator"]
    assert risks[0].worst_case == 8_355_840
    assert risks[0].bound == 2**21 - 1
    assert "22-bit accumulator register" in str(record[0].message)
    assert check_overflow(program, LOIHI2, warn=False) == []


def test_negative_fan_in_checked():
    program = fan_in_program(1024, -256, "mixed")
    risks = check_overflow(program, LOIHI2, warn=False)
    assert [r.register for r in risks] == ["u"]
    assert risks[0].worst_case == -1024 * 256 * 64
    assert risks[0].bound == -(2**23)


def test_report_counts_compartments_at_risk():
    program = fan_in_program(300, 255, "excitatory")
    program.groups["target"] = CompartmentGroup("target", n=3)
    weights = np.full((3, 300), 255)
    weights[2] = 1
    program.groups["fan_in"] = SynapseGroup(
        "fan_in", pre="inputs", post="target", weights=weights
    )
    (risk,) = check_overflow(program, LOIHI1, warn=False)
    assert risk.n_compartments == 2
    assert "2 compartments of the group are at risk" in risk.message()


def test_report_json_roundtrip(tmp_path):
    report = QuantizationReport(target="loihi2", rounding="nearest", seed=3)
    report.add(
        quantize_weights([[255.0, -256.0], [10.0, 3.0]], LOIHI2, name="w").report
    )
    report.add_decay(decay_from_tau(0.01, 0.001, LOIHI2, name="syn"))
    report.overflow = check_overflow(
        fan_in_program(1024, 255, "excitatory"), LOIHI2, warn=False
    )
    path = report.save(tmp_path / "q.json")
    data = json.loads(path.read_text())
    assert data["seed"] == 3
    assert data["totals"]["saturated"] == 1
    assert data["params"][0]["name"] == "w"
    assert data["decays"][0]["stored"] == 409  # round(4096 * 0.1) - offset 1
    assert data["overflow"][0]["register"] == "u"
    assert "target[0]" in data["overflow"][0]["message"]


def test_report_table_puts_lost_values_first():
    report = QuantizationReport(target="loihi2")
    report.add(quantize_weights([[1.0, 2.0]], LOIHI2, name="clean").report)
    report.add(quantize_weights([[1000.0, 0.5]], LOIHI2, name="lossy").report)
    console = Console(width=200, record=True)
    console.print(report.table())
    text = console.export_text()
    assert text.index("lossy") < text.index("clean")
    assert report.n_zeroed == 1


@pytest.mark.parametrize("n_inputs", [127, 128])
def test_accumulator_bound_matches_nengo_loihi(n_inputs):
    from nengo_loihi.builder.discretize import Q_BITS, overflow_signed

    # mantissa 128 at exponent 1: 128 << 7 = 16,384 per spike, so 128 inputs
    # reach 2**21, the first sum nengo-loihi's accumulator wraps
    program = fan_in_program(n_inputs, 128, "excitatory")
    program.groups["fan_in"].weight_exp = 1
    total = fan_in_bounds(program, LOIHI1)["target"][0, 0]
    _, wrapped = overflow_signed(np.array([total]), bits=Q_BITS)
    risks = check_overflow(program, LOIHI1, warn=False)
    assert [r.register for r in risks] == (["accumulator"] if wrapped[0] else [])
    assert wrapped[0] == (n_inputs == 128)
