"""Bad inputs to the Python API: each raises one GliaError naming value and fix."""

import numpy as np
import pytest
import scipy.sparse

from glia_neuromorphic import quantize
from glia_neuromorphic.checks import check_dt, check_seed, check_steps
from glia_neuromorphic.errors import (
    CapacityError,
    ConfigError,
    GliaError,
    QuantizationError,
    ValidationError,
)
from glia_neuromorphic.hwconfig import load_chip, load_target
from glia_neuromorphic.mapping import map_program
from glia_neuromorphic.models import load_model
from glia_neuromorphic.program import (
    AstrocyteGroup,
    BiasSchedule,
    ChipProgram,
    CompartmentGroup,
    SpikeSource,
    SynapseGroup,
)

CHIP = load_chip("loihi2")
TARGET = load_target("loihi2")


def two_groups(weights):
    """Return a program a -> b whose synapse has ``weights``."""
    program = ChipProgram()
    program.add(CompartmentGroup("a", n=2))
    program.add(CompartmentGroup("b", n=3))
    program.add(SynapseGroup("ab", pre="a", post="b", weights=weights))
    return program


def synapse_to(post):
    program = ChipProgram()
    program.add(CompartmentGroup("a", n=2))
    program.add(SynapseGroup("ab", pre="a", post=post, weights=np.ones((2, 2))))
    return program.validate()


def wide_fan_in():
    """Return a program whose one target group receives more axons than a core has."""
    n_pre = CHIP.core.input_axons + 1
    program = ChipProgram()
    program.add(SpikeSource("src", n=n_pre))
    program.add(CompartmentGroup("b", n=1))
    weights = scipy.sparse.csr_matrix(np.full((1, n_pre), 2))
    program.add(SynapseGroup("wide", pre="src", post="b", weights=weights))
    return map_program(program, TARGET, split=True)


def nan_at(shape, index, value=np.nan):
    arr = np.ones(shape)
    arr[index] = value
    return arr


# (case id, callable, exception class, regex the one-line message must match)
CASES = [
    # hardware descriptions
    (
        "unknown target",
        lambda: load_target("loihi9"),
        ConfigError,
        "unknown target 'loihi9'; known targets: .*loihi2",
    ),
    (
        "unknown chip",
        lambda: load_chip("loihi9"),
        ConfigError,
        "unknown target 'loihi9'",
    ),
    (
        "missing toml file",
        lambda: load_chip("/nonexistent/x.toml"),
        ConfigError,
        "not found",
    ),
    # quantizer: non-finite values, time constants, dt, thresholds
    (
        "nan weight",
        lambda: quantize.quantize_weights(nan_at((3, 3), (0, 1)), CHIP, name="w"),
        ValidationError,
        r"w\[0, 1\] is nan",
    ),
    (
        "inf weight",
        lambda: quantize.quantize_weights(
            nan_at((3, 3), (1, 2), np.inf), CHIP, name="w"
        ),
        ValidationError,
        r"w\[1, 2\] is inf",
    ),
    (
        "nan sparse weight",
        lambda: quantize.quantize_weights(
            scipy.sparse.csr_matrix(nan_at((3, 3), (2, 0))), CHIP, name="w"
        ),
        ValidationError,
        r"w\[2, 0\] is nan",
    ),
    (
        "nan bias",
        lambda: quantize.quantize_bias([0.0, np.nan], CHIP, name="g"),
        ValidationError,
        r"g.bias\[1\] is nan",
    ),
    (
        "inf bias",
        lambda: quantize.quantize_bias([np.inf], CHIP, name="g"),
        ValidationError,
        r"g.bias\[0\] is inf",
    ),
    (
        "huge bias",
        lambda: quantize.quantize_bias([1e30], CHIP, name="g"),
        QuantizationError,
        "exceed the largest bias",
    ),
    (
        "nan threshold",
        lambda: quantize.quantize_threshold(np.nan, CHIP, name="g"),
        ValidationError,
        "g.vth is nan",
    ),
    (
        "threshold beyond range",
        lambda: quantize.quantize_threshold(1e30, CHIP, name="g"),
        QuantizationError,
        r"threshold 1e\+30 needs mantissa .* outside \[1, ",
    ),
    (
        "zero threshold",
        lambda: quantize.quantize_threshold(0.0, CHIP, name="g"),
        QuantizationError,
        "outside",
    ),
    (
        "negative threshold",
        lambda: quantize.quantize_threshold(-5.0, CHIP, name="g"),
        QuantizationError,
        "outside",
    ),
    (
        "nan tau",
        lambda: quantize.decay_from_tau(np.nan, 0.001, CHIP, name="s"),
        ValidationError,
        "s: tau is nan",
    ),
    (
        "inf tau",
        lambda: quantize.decay_from_tau(np.inf, 0.001, CHIP, name="s"),
        ValidationError,
        "s: tau is inf",
    ),
    (
        "zero tau",
        lambda: quantize.decay_from_tau(0.0, 0.001, CHIP, name="s"),
        ValidationError,
        "s: tau is 0.0",
    ),
    (
        "negative tau",
        lambda: quantize.decay_from_tau(-0.01, 0.001, CHIP, name="s"),
        ValidationError,
        "s: tau is -0.01",
    ),
    (
        "zero dt",
        lambda: quantize.decay_from_tau(0.01, 0.0, CHIP, name="s"),
        ValidationError,
        "s: dt is 0.0",
    ),
    (
        "negative dt",
        lambda: quantize.decay_from_tau(0.01, -0.001, CHIP, name="s"),
        ValidationError,
        "s: dt is -0.001",
    ),
    (
        "nan dt",
        lambda: quantize.decay_from_tau(0.01, np.nan, CHIP, name="s"),
        ValidationError,
        "s: dt is nan",
    ),
    (
        "nan tau_ref",
        lambda: quantize.refract_delay_steps(np.nan, 0.001, CHIP, name="g"),
        ValidationError,
        "tau_ref is nan",
    ),
    (
        "unknown rounding",
        lambda: quantize.quantize_weights(np.ones((2, 2)), CHIP, rounding="up"),
        ValidationError,
        "unknown rounding mode 'up'",
    ),
    (
        "unknown sign mode",
        lambda: quantize.quantize_weights(np.ones((2, 2)), CHIP, sign_mode="both"),
        ValidationError,
        "unknown sign mode 'both'",
    ),
    # program construction
    (
        "zero-size group",
        lambda: CompartmentGroup("g", n=0),
        ValidationError,
        "'g': n is 0; .*at least 1",
    ),
    (
        "negative-size group",
        lambda: CompartmentGroup("g", n=-3),
        ValidationError,
        "'g': n is -3",
    ),
    (
        "float-size group",
        lambda: CompartmentGroup("g", n=2.5),
        ValidationError,
        "n is 2.5; it must be an integer >= 1",
    ),
    (
        "zero-size astrocytes",
        lambda: AstrocyteGroup("g", n=0),
        ValidationError,
        "'g': n is 0",
    ),
    (
        "zero-size spike source",
        lambda: SpikeSource("g", n=0),
        ValidationError,
        "'g': n is 0",
    ),
    (
        "nan compartment field",
        lambda: CompartmentGroup("g", n=2, vth=[1, np.nan]),
        ValidationError,
        r"vth\[1\] is nan; it must be an integer",
    ),
    (
        "wrong-length compartment field",
        lambda: CompartmentGroup("g", n=2, vth=[1, 2, 3]),
        ValidationError,
        r"vth has shape \(3,\), expected \(2,\)",
    ),
    (
        "empty weight matrix",
        lambda: SynapseGroup("s", pre="a", post="b", weights=np.zeros((0, 5))),
        ValidationError,
        r"shape \(0, 5\); both sizes must be >= 1",
    ),
    (
        "1-d weight matrix",
        lambda: SynapseGroup("s", pre="a", post="b", weights=np.ones(3)),
        ValidationError,
        "must be 2-D",
    ),
    (
        "missing weights",
        lambda: SynapseGroup("s", pre="a", post="b"),
        ValidationError,
        "weights missing",
    ),
    (
        "nan weight in program",
        lambda: SynapseGroup("s", pre="a", post="b", weights=nan_at((2, 2), (1, 0))),
        ValidationError,
        r"weights\[1, 0\] is nan",
    ),
    (
        "wrong weight shape",
        lambda: two_groups(np.ones((2, 3))).validate(),
        ValidationError,
        r"expected \(post, pre\) = \(3, 2\).*transpose",
    ),
    (
        "missing post group",
        lambda: synapse_to("nowhere"),
        ValidationError,
        "post group 'nowhere' not found",
    ),
    (
        "duplicate group",
        lambda: ChipProgram().add(CompartmentGroup("g", n=1)) and None or _duplicate(),
        ValidationError,
        "already exists",
    ),
    (
        "float weights in program",
        lambda: SynapseGroup("s", pre="a", post="b", weights=[[0.5, 1.0]]),
        ValidationError,
        r"weights\[0, 0\] is 0.5; it must be an integer",
    ),
    (
        "nan sparse weight in program",
        lambda: SynapseGroup(
            "s",
            pre="a",
            post="b",
            weights=scipy.sparse.csr_matrix(nan_at((2, 2), (1, 1))),
        ),
        ValidationError,
        r"weights\[1, 1\] is nan",
    ),
    (
        "inf synaptic delay",
        lambda: SynapseGroup(
            "s", pre="a", post="b", weights=np.ones((1, 2)), delays=[[1, np.inf]]
        ),
        ValidationError,
        r"delays\[0, 1\] is inf",
    ),
    (
        "nan astrocyte decay",
        lambda: AstrocyteGroup("g", n=2, decay_c=np.nan),
        ValidationError,
        "decay_c is nan",
    ),
    (
        "nan spike step",
        lambda: SpikeSource("g", n=2, steps=[1, np.nan], indices=[0, 1]),
        ValidationError,
        r"steps\[1\] is nan",
    ),
    (
        "spike at step 0",
        lambda: SpikeSource("g", n=2, steps=[0], indices=[0]),
        ValidationError,
        "step 0 is before step 1",
    ),
    (
        "nan scheduled bias",
        lambda: BiasSchedule("b", target="g", start_steps=[1], bias_mant=[[0, np.nan]]),
        ValidationError,
        r"bias_mant\[0, 1\] is nan",
    ),
    (
        "source index out of range",
        lambda: SpikeSource("g", n=2, steps=[1], indices=[5]),
        ValidationError,
        r"outside \[0, 2\)",
    ),
    (
        "bias rows mismatch",
        lambda: BiasSchedule("b", target="g", start_steps=[1, 2], bias_mant=[[0]]),
        ValidationError,
        "2 start steps but 1 bias rows",
    ),
    (
        "probe on missing group",
        lambda: _probe_missing(),
        ValidationError,
        "probe on 'ghost': group not found",
    ),
    # mapping
    ("fan-in beyond axon limit", wide_fan_in, CapacityError, "input axons, core limit"),
    # models and options
    (
        "unknown model",
        lambda: load_model("no-such-model"),
        ValidationError,
        "unknown model 'no-such-model'; known models: astro-sequence",
    ),
    (
        "zero steps",
        lambda: check_steps(0),
        ValidationError,
        "steps is 0; it must be >= 1",
    ),
    ("fractional steps", lambda: check_steps(2.5), ValidationError, "whole number"),
    ("nan dt option", lambda: check_dt(float("nan")), ValidationError, "dt is nan"),
    ("negative seed", lambda: check_seed(-1), ValidationError, "seed is -1"),
]


def _duplicate():
    program = ChipProgram()
    program.add(CompartmentGroup("g", n=1))
    program.add(CompartmentGroup("g", n=1))


def _probe_missing():
    program = ChipProgram()
    program.add(CompartmentGroup("g", n=1))
    program.probe("ghost", "v")
    program.validate()


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_input_raises_one_line(call, error, pattern):
    with pytest.raises(error, match=pattern) as info:
        call()
    assert isinstance(info.value, GliaError)
    assert "\n" not in str(info.value)
