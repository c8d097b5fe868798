"""Emulator building blocks: weight formats against the references' own code."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from glia_neuromorphic.emulator import Emulator, emulate
from glia_neuromorphic.emulator.arithmetic import (
    clip_symmetric,
    decay,
    shift,
    wrap_signed,
)
from glia_neuromorphic.emulator.synapses import lava_weights, nengo_loihi_weights
from glia_neuromorphic.errors import BackendError, ValidationError
from glia_neuromorphic.hwconfig import load_chip, load_target
from glia_neuromorphic.program import (
    AstrocyteGroup,
    ChipProgram,
    CompartmentGroup,
    SpikeSource,
    SynapseGroup,
)

MANTISSAS = arrays(np.int64, st.integers(1, 40), elements=st.integers(-300, 300))


@settings(max_examples=60, deadline=None)
@given(MANTISSAS, st.sampled_from(["mixed", "excitatory", "inhibitory"]))
def test_lava_weight_format_matches_weightutils(mantissas, sign_mode):
    from lava.utils.weightutils import SignMode, clip_weights, truncate_weights

    mode = SignMode[sign_mode.upper()]
    expected = truncate_weights(clip_weights(mantissas, mode, num_bits=8), mode, 8)
    ours, _ = lava_weights(mantissas, sign_mode, load_chip("loihi2"))
    assert np.array_equal(ours, expected)


@settings(max_examples=60, deadline=None)
@given(
    MANTISSAS,
    st.integers(-7, 7),
    st.sampled_from(["mixed", "excitatory", "inhibitory"]),
)
def test_nengo_loihi_weight_format_matches_discretize(mantissas, weight_exp, sign):
    from nengo_loihi.block import SynapseConfig
    from nengo_loihi.builder.discretize import discretize_weights

    # excitatory/inhibitory limits are +/-255 in this format
    mantissas = np.clip(mantissas, -255, 255) if sign != "mixed" else mantissas
    cfg = SynapseConfig(
        weight_bits=7, weight_exp=weight_exp, fanout_type=int(sign == "mixed")
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = discretize_weights(cfg, mantissas.astype(np.float32))
    ours, _ = nengo_loihi_weights(mantissas, weight_exp, sign, load_chip("loihi1"))
    assert np.array_equal(ours, expected)


def test_weight_format_reports_changes():
    chip = load_chip("loihi2")
    _, report = lava_weights(np.array([255, -256, 10, 3]), "mixed", chip)
    assert (report.clipped, report.rounded) == (0, 2)
    _, report = lava_weights(np.array([300, -3]), "excitatory", chip)
    assert (report.clipped, report.rounded) == (2, 0)


def test_register_helpers():
    x = np.array([-9, -1, 0, 1, 9])
    assert list(decay(x, np.int64(2047), 1, 12)) == [-4, 0, 0, 0, 4]
    assert list(shift(np.array([-5, 5]), -1)) == [-3, 2]
    assert list(shift(np.array([-5, 5]), 2)) == [-20, 20]
    assert list(wrap_signed(np.array([2**23, -(2**23) - 1]), 24)) == [
        -(2**23),
        2**23 - 1,
    ]
    assert list(clip_symmetric(np.array([2**23, -(2**23)]), 24)) == [
        2**23 - 1,
        -(2**23) + 1,
    ]


@pytest.mark.parametrize("target", ["loihi1", "loihi2"])
def test_astrocyte_trace_hand_computed(target):
    """c halves each step (stored decay 2047 plus offset 1), out = c >> 2."""
    program = ChipProgram(metadata={"target": target})
    program.add(SpikeSource("src", n=1, steps=[1], indices=[0]))
    program.add(AstrocyteGroup("astro", n=1, decay_c=2047, out_shift=2, c_bits=24))
    program.add(
        SynapseGroup(
            "in", pre="src", post="astro", weights=[[4]], sign_mode="excitatory"
        )
    )
    program.add(CompartmentGroup("n", n=1, decay_u=4095, vth=2**17 - 1))

    graded = 8 if target == "loihi2" else 0
    program.add(
        SynapseGroup(
            "out",
            pre="astro",
            post="n",
            weights=[[2]],
            sign_mode="excitatory",
            num_message_bits=graded,
        )
    )
    program.probe("astro", "c")
    program.probe("n", "u")

    run = emulate(program, 6)
    c = [256, 128, 64, 32, 16]
    assert list(run["astro.c"][:, 0]) == [0, *c]
    # out = c >> 2 arrives one step later, times weight 2, shifted by 6
    if graded:
        expected_u = [0, 0] + [(value >> 2) * 2 * 64 for value in c[:-1]]
    else:
        expected_u = [0, 0] + [2 * 64] * 4
    assert list(run["n.u"][:, 0]) == expected_u


def test_astrocyte_calcium_clips_and_counts():
    program = ChipProgram(metadata={"target": "loihi2"})
    program.add(SpikeSource("src", n=4, steps=[1] * 4, indices=range(4)))
    program.add(AstrocyteGroup("astro", n=1, decay_c=4095, c_bits=16))
    program.add(
        SynapseGroup(
            "in", pre="src", post="astro", weights=[[255] * 4], sign_mode="excitatory"
        )
    )
    program.probe("astro", "c")
    run = emulate(program, 3)
    assert run["astro.c"][1, 0] == 2**15 - 1
    assert run.counters["astro.c"]["count"] == 1


def test_graded_synapse_rejected_on_binary_target():
    program = ChipProgram(metadata={"target": "loihi1"})
    program.add(CompartmentGroup("a", n=1))
    program.add(SynapseGroup("s", pre="a", post="a", weights=[[1]], num_message_bits=8))
    with pytest.raises(BackendError, match="num_message_bits is 8"):
        Emulator(program)


def test_unknown_sign_mode_and_probe_rejected():
    program = ChipProgram(metadata={"target": "loihi2"})
    program.add(CompartmentGroup("a", n=1))
    program.add(SynapseGroup("s", pre="a", post="a", weights=[[1]], sign_mode="both"))
    with pytest.raises(ValidationError, match="sign_mode is 'both'"):
        Emulator(program)
    program = ChipProgram(metadata={"target": "loihi2"})
    program.add(CompartmentGroup("a", n=1))
    program.probe("a", "c")
    with pytest.raises(ValidationError, match=r"a\.c"):
        Emulator(program)


def test_program_without_target_rejected():
    program = ChipProgram()
    program.add(CompartmentGroup("a", n=1))
    with pytest.raises(ValidationError, match="no 'target'"):
        Emulator(program)


def test_delays_shift_arrival(rng):
    program = ChipProgram(metadata={"target": "loihi2"})
    program.add(SpikeSource("src", n=2, steps=[1, 1], indices=[0, 1]))
    program.add(CompartmentGroup("n", n=1, decay_u=4095, vth=2**17 - 1))
    program.add(
        SynapseGroup(
            "d",
            pre="src",
            post="n",
            weights=[[2, 4]],
            delays=[[0, 3]],
            sign_mode="excitatory",
        )
    )
    program.probe("n", "u")
    u = emulate(program, 6)["n.u"][:, 0]
    assert list(u) == [0, 128, 0, 0, 256, 0]


@pytest.mark.parametrize("target", ["loihi1", load_target("kapoho_bay")])
def test_target_of_other_chip_rejected(target):
    program = ChipProgram(metadata={"target": "oheo_gulch"})
    program.add(CompartmentGroup("a", n=1))
    with pytest.raises(ValidationError, match="compiled for loihi2.*loihi1 chip"):
        Emulator(program, target)
