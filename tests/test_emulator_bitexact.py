"""Emulator against its references: random programs, equal spikes, u and v.

Each reference is tested only on what it models:

- Lava (lava-nc 0.10, ``loihi2``): no refractory periods, because Lava has no
  fixed-point refractory LIF (the emulator's refractory rule is checked on
  hand-computed traces in test_emulator_cases.py instead). Delays are
  included, since Lava runs them through its DelayDense.
- nengo-loihi (1.1.0 emulator, ``loihi1``): no synaptic delays and no graded
  spikes, because its emulator has neither. Refractory periods are included.
- Astrocyte groups are tested against the project's own Lava ``Astrocyte``
  process only (nengo-loihi has no astrocyte compartment).
"""

import numpy as np
import pytest
import scipy.sparse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glia_neuromorphic.backends.lava import run_lava
from glia_neuromorphic.backends.nengo_loihi import run_nengo_loihi
from glia_neuromorphic.emulator import emulate
from glia_neuromorphic.fidelity.metrics import compare_bit_exact
from glia_neuromorphic.hwconfig import load_chip
from glia_neuromorphic.program import (
    AstrocyteGroup,
    BiasSchedule,
    ChipProgram,
    CompartmentGroup,
    SpikeSource,
    SynapseGroup,
)

STEPS = 30
EXTREME_DECAYS = [0, 1, 2047, 2048, 4094, 4095]
EXTREME_WEIGHTS = [-256, -255, -1, 0, 1, 254, 255]
SIGN_MODES = ["mixed", "excitatory", "inhibitory"]


def _mix(rng, extremes, low, high, size, p_extreme=0.3):
    """Draw integers in [low, high] with a share of hand-picked extremes."""
    values = rng.integers(low, high + 1, size=size)
    pick = rng.random(size) < p_extreme
    values[pick] = rng.choice(extremes, size=int(pick.sum()))
    return values


def _lif(rng, name, n, refractory, voltage):
    return CompartmentGroup(
        name,
        n=n,
        decay_u=_mix(rng, EXTREME_DECAYS, 0, 4095, n),
        decay_v=_mix(rng, EXTREME_DECAYS, 0, 4095, n),
        vth=_mix(rng, [0, 1, 2**17 - 1], 0, 800, n),
        bias_mant=_mix(rng, [-4096, 4095, 0], -300, 300, n),
        bias_exp=rng.integers(0, 8, size=n),
        refract_delay=rng.integers(1, 5, size=n) if refractory else 1,
        **voltage,
    )


@st.composite
def voltage_settings(draw, target, n):
    """Reset mode, voltage limits and initial state each reference can run.

    Lava runs reset to zero over the full range, or the rectified model
    (reset by subtraction, vmin = 0), from any initial u and v. nengo-loihi
    resets to zero, clips to the block's vmin/vmax (the values its
    ``discretize_compartment`` can produce) and starts at 0.
    """
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if target == "loihi2":
        voltage = draw(st.sampled_from([{}, {"reset_mode": "subtract", "vmin": 0}]))
        if draw(st.booleans()):
            voltage["u_init"] = rng.integers(-(2**20), 2**20, size=n)
            voltage["v_init"] = rng.integers(0, 2**16, size=n)
        return voltage
    return {
        "vmin": draw(st.sampled_from([None, 0, -(2**8) + 1, -(2**20) + 1])),
        "vmax": draw(st.sampled_from([None, 2**9 - 1, 2**13 - 1, 2**23 - 1])),
    }


def _weights(rng, n_post, n_pre, sparse):
    w = _mix(rng, EXTREME_WEIGHTS, -256, 255, (n_post, n_pre))
    w[rng.random((n_post, n_pre)) > rng.uniform(0.2, 1.0)] = 0
    return scipy.sparse.csr_matrix(w) if sparse else w


@st.composite
def programs(draw, target, *, delays, graded, refractory):
    """Random LIF programs: a spike source into A, optional A->B, B->A, A->A."""
    chip = load_chip(target)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    sizes = {k: draw(st.integers(1, 10)) for k in ("src", "a", "b")}
    program = ChipProgram(metadata={"target": target, "seed": seed})

    spikes = rng.random((STEPS, sizes["src"])) < draw(st.floats(0.05, 0.6))
    steps, indices = np.nonzero(spikes)
    program.add(SpikeSource("src", n=sizes["src"], steps=steps + 1, indices=indices))
    for name in ("a", "b"):
        voltage = draw(voltage_settings(target, sizes[name]))
        program.add(_lif(rng, name, sizes[name], refractory, voltage))

    edges = [("src", "a")] + [
        e for e in (("a", "b"), ("b", "a"), ("a", "a")) if draw(st.booleans())
    ]
    for pre, post in edges:
        shape = (sizes[post], sizes[pre])
        with_delays = delays and draw(st.booleans())
        program.add(
            SynapseGroup(
                f"{pre}_{post}",
                pre=pre,
                post=post,
                weights=_weights(rng, *shape, sparse=draw(st.booleans())),
                weight_exp=draw(
                    st.integers(
                        chip.synapse.weight_exp_min, chip.synapse.weight_exp_max
                    )
                ),
                sign_mode=draw(st.sampled_from(SIGN_MODES)),
                delays=rng.integers(0, 5, size=shape) if with_delays else None,
                num_message_bits=draw(st.sampled_from([0, 8])) if graded else 0,
            )
        )

    if draw(st.booleans()):
        program.add(
            BiasSchedule(
                "cue",
                target="a",
                start_steps=[draw(st.integers(2, STEPS))],
                bias_mant=[rng.integers(-500, 500, size=sizes["a"])],
            )
        )
    for group in ("a", "b"):
        for variable in ("spikes", "u", "v"):
            program.probe(group, variable)
    return program.validate()


def _assert_same(emulated, reference, program):
    diff = compare_bit_exact(emulated, reference)
    seed = program.metadata["seed"]
    assert diff is None, f"{diff.describe()} (program seed {seed})"


SETTINGS = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(programs("loihi2", delays=True, graded=True, refractory=False))
def test_emulator_matches_lava(program):
    reference = run_lava(program, STEPS)
    _assert_same(emulate(program, STEPS), reference, program)


@SETTINGS
@given(programs("loihi1", delays=False, graded=False, refractory=True))
def test_emulator_matches_nengo_loihi(program):
    reference = run_nengo_loihi(program, STEPS)
    _assert_same(emulate(program, STEPS), reference, program)


@st.composite
def astrocyte_programs(draw):
    """Spike source -> LIF -> astrocytes -> LIF, graded or binary output."""
    program = draw(programs("loihi2", delays=False, graded=False, refractory=False))
    rng = np.random.default_rng(program.metadata["seed"] + 1)
    n_astro = draw(st.integers(1, 6))
    program.add(
        AstrocyteGroup(
            "astro",
            n=n_astro,
            decay_c=int(_mix(rng, EXTREME_DECAYS, 0, 4095, 1)[0]),
            out_shift=draw(st.integers(0, 12)),
            c_bits=draw(st.sampled_from([16, 20, 24])),
        )
    )
    n_a = program.groups["a"].n
    n_src = program.groups["src"].n
    for name, pre, post, shape in (
        ("src_astro", "src", "astro", (n_astro, n_src)),
        ("a_astro", "a", "astro", (n_astro, n_a)),
        ("astro_b", "astro", "b", (program.groups["b"].n, n_astro)),
    ):
        program.add(
            SynapseGroup(
                name,
                pre=pre,
                post=post,
                weights=_weights(rng, *shape, sparse=draw(st.booleans())),
                weight_exp=draw(st.integers(-4, 4)),
                sign_mode=draw(st.sampled_from(SIGN_MODES)),
                num_message_bits=24 if pre == "astro" and draw(st.booleans()) else 0,
            )
        )
    program.probe("astro", "c")
    return program.validate()


@settings(SETTINGS, max_examples=6)
@given(astrocyte_programs())
def test_emulator_matches_lava_astrocyte(program):
    reference = run_lava(program, STEPS)
    _assert_same(emulate(program, STEPS), reference, program)


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from(["loihi1", "loihi2"]).flatmap(
        lambda target: st.tuples(
            programs(target, delays=False, graded=False, refractory=True),
            st.just(target),
        )
    )
)
def test_emulator_dense_and_sparse_storage_agree(case):
    """Forcing every synapse group dense or CSR changes nothing."""
    program, target = case
    dense_run = emulate(program, STEPS, target)
    for group in program.of_kind(SynapseGroup):
        w = group.weights
        group.weights = (
            w.toarray() if scipy.sparse.issparse(w) else scipy.sparse.csr_matrix(w)
        )
    sparse_run = emulate(program, STEPS, target)
    diff = compare_bit_exact(dense_run, sparse_run)
    assert diff is None, diff.describe(("dense", "sparse"))


@pytest.mark.parametrize("target", ["loihi1", "loihi2"])
def test_compare_bit_exact_names_step(target):
    program = ChipProgram(metadata={"target": target})
    program.add(CompartmentGroup("a", n=2, vth=10, bias_mant=[0, 100], bias_exp=0))
    program.probe("a", "v")
    left = emulate(program, 5)
    right = emulate(program, 5)
    right.data["a.v"][3, 1] += 1
    diff = compare_bit_exact(left, right)
    assert (diff.probe, diff.step, diff.index) == ("a.v", 4, 1)
    assert diff.value_b == diff.value_a + 1
    assert "step 4, index 1 of 'a.v'" in diff.describe()


MANY = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.slow
@MANY
@given(programs("loihi2", delays=True, graded=True, refractory=False))
def test_emulator_matches_lava_many(program):
    reference = run_lava(program, STEPS)
    _assert_same(emulate(program, STEPS), reference, program)


@pytest.mark.slow
@MANY
@given(programs("loihi1", delays=False, graded=False, refractory=True))
def test_emulator_matches_nengo_loihi_many(program):
    reference = run_nengo_loihi(program, STEPS)
    _assert_same(emulate(program, STEPS), reference, program)
