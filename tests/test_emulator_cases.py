"""Fault cases for the emulator, each checked on the emulator and its reference.

Conventions used here (documented in docs/architecture.md): a spike emitted at
step t (spike sources included) changes its targets' current at step t + 1;
``loihi2`` follows lava-nc 0.10 and ``loihi1`` follows nengo-loihi 1.1.0.
"""

import time

import numpy as np
import pytest
from nengo.exceptions import SimulationError

from glia_neuromorphic.backends.lava import run_lava
from glia_neuromorphic.backends.nengo_loihi import run_nengo_loihi
from glia_neuromorphic.emulator import emulate
from glia_neuromorphic.errors import BackendError, RegisterOverflowError
from glia_neuromorphic.fidelity.metrics import compare_bit_exact
from glia_neuromorphic.program import (
    AstrocyteGroup,
    BiasSchedule,
    ChipProgram,
    CompartmentGroup,
    SpikeSource,
    SynapseGroup,
)

REFERENCES = {"loihi2": run_lava, "loihi1": run_nengo_loihi}
TARGETS = list(REFERENCES)
VTH_MAX = 2**17 - 1


def _run_both(program, steps):
    """Run the emulator and the target's reference; assert they agree."""
    target = program.metadata["target"]
    emulated = emulate(program, steps)
    reference = REFERENCES[target](program, steps)
    diff = compare_bit_exact(emulated, reference)
    assert diff is None, diff.describe(("emulator", "reference"))
    return emulated


def _single_input(target, weight, *, decay_u, weight_exp=0, spike_step=1, **kw):
    program = ChipProgram(metadata={"target": target})
    program.add(SpikeSource("src", n=1, steps=[spike_step], indices=[0]))
    program.add(CompartmentGroup("n", n=1, decay_u=decay_u, vth=VTH_MAX))
    program.add(
        SynapseGroup(
            "syn", pre="src", post="n", weights=[[weight]], weight_exp=weight_exp, **kw
        )
    )
    program.probe("n", "u")
    program.probe("n", "v")
    return program


# --- integer current decay rounds toward zero every step ---------------


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(
    "decay_u, expected",
    [
        (2048, [448, 223, 111, 55, 27, 13, 6, 2, 0]),
        (2047, [448, 224, 112, 56, 28, 14, 7, 3, 1, 0]),
    ],
)
def test_decay_series_rounds_down(target, decay_u, expected):
    program = _single_input(target, 7, decay_u=decay_u, sign_mode="excitatory")
    run = _run_both(program, len(expected) + 1)
    u = run["n.u"][:, 0]
    assert u[0] == 0
    assert list(u[1:]) == expected


# --- one step of latency for every spike --------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_input_spike_changes_u_next_step(target):
    program = _single_input(target, 100, decay_u=0, weight_exp=6, spike_step=5)
    u = _run_both(program, 10)["n.u"][:, 0]
    assert np.all(u[:5] == 0), "u changed before step 6"
    assert u[5] == 100 << 6 << 6


@pytest.mark.parametrize("target", TARGETS)
def test_chain_fires_one_step_apart(target):
    program = ChipProgram(metadata={"target": target})
    program.add(SpikeSource("src", n=1, steps=[3], indices=[0]))
    program.add(CompartmentGroup("chain", n=3, decay_u=4095, decay_v=4095, vth=50))
    program.add(
        SynapseGroup("drive", pre="src", post="chain", weights=[[100], [0], [0]])
    )
    forward = np.array([[0, 0, 0], [100, 0, 0], [0, 100, 0]])
    program.add(SynapseGroup("links", pre="chain", post="chain", weights=forward))
    program.probe("chain", "spikes")
    spikes = _run_both(program, 10)["chain.spikes"]
    steps = [list(np.flatnonzero(spikes[:, i]) + 1) for i in range(3)]
    t0 = 4
    assert steps == [[t0], [t0 + 1], [t0 + 2]]


# --- recurrent loops take one step and never block --------------------


@pytest.mark.parametrize("target", TARGETS)
def test_self_connection_acts_next_step(target):
    program = ChipProgram(metadata={"target": target})
    program.add(
        CompartmentGroup("n", n=1, decay_u=4095, decay_v=0, vth=60, bias_mant=800)
    )
    # mixed-sign formats drop the lowest mantissa bit, so +1 needs excitatory
    program.add(
        SynapseGroup("self", pre="n", post="n", weights=[[1]], sign_mode="excitatory")
    )
    for variable in ("spikes", "u"):
        program.probe("n", variable)
    start = time.perf_counter()
    run = _run_both(program, 10)
    assert time.perf_counter() - start < 10.0
    assert run.n_steps == 10
    spikes = run["n.spikes"][:, 0]
    u = run["n.u"][:, 0]
    assert spikes.sum() >= 1
    assert u[0] == 0
    # with decay_u = 4095 the current holds only this step's input
    assert list(u[1:]) == list(spikes[:-1].astype(int) * 64)


@pytest.mark.parametrize("target", TARGETS)
def test_two_neuron_loop_alternates(target):
    program = ChipProgram(metadata={"target": target})
    program.add(SpikeSource("kick", n=1, steps=[1], indices=[0]))
    program.add(CompartmentGroup("ab", n=2, decay_u=4095, decay_v=4095, vth=50))
    program.add(SynapseGroup("kick_a", pre="kick", post="ab", weights=[[100], [0]]))
    program.add(SynapseGroup("loop", pre="ab", post="ab", weights=[[0, 100], [100, 0]]))
    program.probe("ab", "spikes")
    spikes = _run_both(program, 10)["ab.spikes"]
    assert list(np.flatnonzero(spikes[:, 0]) + 1) == [2, 4, 6, 8, 10]
    assert list(np.flatnonzero(spikes[:, 1]) + 1) == [3, 5, 7, 9]


@pytest.mark.parametrize("target", TARGETS)
def test_contracting_rnn_runs_bounded(target, rng):
    n = 32
    w = rng.standard_normal((n, n))
    w *= 0.5 / np.max(np.abs(np.linalg.eigvals(w)))
    program = ChipProgram(metadata={"target": target})
    program.add(
        CompartmentGroup(
            "rnn",
            n=n,
            decay_u=409,
            decay_v=409,
            vth=200,
            bias_mant=rng.randint(500, 2000, n),
        )
    )
    mantissas = np.round(w * 254 / np.abs(w).max()).astype(int)
    program.add(SynapseGroup("rec", pre="rnn", post="rnn", weights=mantissas))
    program.probe("rnn", "spikes")
    program.probe("rnn", "v")
    run = _run_both(program, 100)
    assert run.n_steps == 100
    assert run["rnn.spikes"].sum() > 0
    assert np.all(run["rnn.v"] <= 200 << 6)
    assert not any(
        entry["count"] for entry in run.counters.values() if "first_step" in entry
    )


# --- large fan-in overflows the input registers --------------------------


def _fan_in(target, n_inputs, mantissa, sign_mode):
    program = ChipProgram(metadata={"target": target})
    program.add(
        SpikeSource("many", n=n_inputs, steps=[3] * n_inputs, indices=range(n_inputs))
    )
    program.add(CompartmentGroup("n", n=1, decay_u=4095, vth=VTH_MAX))
    program.add(
        SynapseGroup(
            "fan_in",
            pre="many",
            post="n",
            weights=np.full((1, n_inputs), mantissa),
            sign_mode=sign_mode,
        )
    )
    program.probe("n", "u")
    return program


@pytest.mark.parametrize(
    "target, n_inputs, mantissa, sign_mode, expected_u, registers",
    [
        # 1024 * 255 * 64 = 16,711,680: Lava wraps u once, nengo-loihi wraps
        # its 22-bit accumulator; both land on -65,536.
        ("loihi2", 1024, 255, "excitatory", -65_536, {"u"}),
        ("loihi1", 1024, 255, "excitatory", -65_536, {"accumulator"}),
        # 512 * 255 * 64 = 8,355,840 fits Lava's 24-bit u but not
        # nengo-loihi's 22-bit accumulator.
        ("loihi2", 512, 255, "excitatory", 8_355_840, set()),
        ("loihi1", 512, 255, "excitatory", -32_768, {"accumulator"}),
        # Lava quirk: a sum of exactly -2**23 becomes +2**23, outside 24 bits,
        # and v (u plus 0) then clips to 2**23 - 1.
        ("loihi2", 512, -256, "mixed", 2**23, {"u", "v"}),
        # -2**24 wraps once to 0.
        ("loihi2", 1024, -256, "mixed", 0, {"u"}),
        # nengo-loihi stores -256 as -254 (7 magnitude bits in mixed mode).
        ("loihi1", 1024, -256, "mixed", 131_072, {"accumulator"}),
        # Declared inhibitory, Lava clips -256 to -255.
        ("loihi2", 512, -256, "inhibitory", -8_355_840, set()),
    ],
)
def test_fan_in_overflow(target, n_inputs, mantissa, sign_mode, expected_u, registers):
    program = _fan_in(target, n_inputs, mantissa, sign_mode)
    run = _run_both(program, 5)
    u = run["n.u"][:, 0]
    assert list(u[:3]) == [0, 0, 0]
    assert u[3] == expected_u
    overflowed = {
        k for k, e in run.counters.items() if "first_step" in e and e["count"]
    }
    assert overflowed == {f"n.{register}" for register in registers}
    for register in registers:
        assert run.counters[f"n.{register}"]["first_step"] == 4


def test_fan_in_strict_mode_raises_like_nengo_loihi():
    program = _fan_in("loihi1", 512, 255, "excitatory")
    with pytest.raises(RegisterOverflowError, match=r"'n'.*accumulator.*step 4"):
        emulate(program, 5, strict=True)
    with pytest.raises(SimulationError, match="Overflow"):
        run_nengo_loihi(program, 5, strict=True)


def test_fan_in_reference_warns_and_counts():
    program = _fan_in("loihi1", 512, 255, "excitatory")
    assert run_nengo_loihi(program, 5).counters["overflow_warnings"] == 1
    assert emulate(program, 5).counters["n.accumulator"]["count"] == 1


# --- negative weights inhibit ------------------------------------------


def _inhibited(target, sign, sign_mode="mixed"):
    # v rests at 0.95 of threshold (vth 1000 -> 64,000; bias 475 << 7 =
    # 60,800); the input is half the threshold (250 << 1 << 6 = 32,000).
    program = ChipProgram(metadata={"target": target})
    program.add(SpikeSource("src", n=1, steps=range(1, 101), indices=[0] * 100))
    program.add(
        CompartmentGroup(
            "n", n=1, decay_u=4095, decay_v=4095, vth=1000, bias_mant=475, bias_exp=7
        )
    )
    program.add(
        SynapseGroup(
            "syn",
            pre="src",
            post="n",
            weights=[[sign * 250]],
            weight_exp=1,
            sign_mode=sign_mode,
        )
    )
    program.probe("n", "spikes")
    program.probe("n", "u")
    return program


@pytest.mark.parametrize("target", TARGETS)
def test_inhibitory_weight_keeps_neuron_silent(target):
    run = _run_both(_inhibited(target, -1), 100)
    assert run["n.spikes"].sum() == 0
    assert np.all(run["n.u"][1:, 0] == -32_000)
    # the same weight with a positive sign makes it fire every step
    excited = _run_both(_inhibited(target, +1), 100)
    assert excited["n.spikes"][1:].all()


def test_negative_weight_in_excitatory_format_is_counted():
    """Lava clips a negative weight declared excitatory to 0; it is counted."""
    run = _run_both(_inhibited("loihi2", -1, sign_mode="excitatory"), 20)
    assert run.counters["syn.weight_clip"]["count"] == 1
    assert np.all(run["n.u"][:, 0] == 0)


# --- all-zero weights ----------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(
    "weights",
    [np.zeros((3, 4)), -np.zeros((3, 4)), np.zeros((1, 1))],
    ids=["zeros", "negative-zeros", "one-zero"],
)
def test_zero_weights_leave_u_at_zero(target, weights):
    n_post, n_pre = weights.shape
    program = ChipProgram(metadata={"target": target})
    program.add(CompartmentGroup("pre", n=n_pre, vth=10, bias_mant=100, bias_exp=3))
    program.add(CompartmentGroup("post", n=n_post, vth=10))
    program.add(SynapseGroup("zero", pre="pre", post="post", weights=weights))
    for variable in ("spikes", "u"):
        program.probe("pre", variable)
        program.probe("post", variable)
    run = _run_both(program, 20)
    assert run["pre.spikes"].sum() > 0, "the presynaptic group never fired"
    assert np.all(run["post.u"] == 0)
    assert run["post.spikes"].sum() == 0


# --- refractory period (project rule in Lava mode) ---------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_refractory_holds_voltage_at_zero(target):
    program = ChipProgram(metadata={"target": target})
    program.add(CompartmentGroup("n", n=1, vth=1, bias_mant=40, refract_delay=3))
    program.probe("n", "spikes")
    program.probe("n", "v")
    run = emulate(program, 10)
    # v grows by 40 per step, spikes above 64, then stays 0 for 2 steps
    assert list(run["n.v"][:, 0]) == [40, 0, 0, 0, 40, 0, 0, 0, 40, 0]
    assert list(np.flatnonzero(run["n.spikes"][:, 0]) + 1) == [2, 6, 10]
    if target == "loihi1":
        assert compare_bit_exact(run, run_nengo_loihi(program, 10)) is None


# --- degenerate programs -------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_empty_program_runs(target):
    program = ChipProgram(metadata={"target": target})
    run = emulate(program, 10)
    assert run.data == {}
    assert run.metadata["steps"] == 10
    assert REFERENCES[target](program, 10).data == {}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("first_start", [0, 1])
def test_unconnected_groups_with_schedule(target, first_start):
    program = ChipProgram(metadata={"target": target})
    program.add(CompartmentGroup("a", n=2, vth=10, bias_mant=[100, 50], bias_exp=2))
    program.add(CompartmentGroup("b", n=3, vth=10, bias_mant=[100, 50, 7], bias_exp=3))
    program.add(
        BiasSchedule(
            "cue",
            target="b",
            start_steps=[first_start, 4],
            bias_mant=[[1, 2, 3], [9, 0, -40]],
        )
    )
    program.probe("a", "v")
    program.probe("b", "v")
    run = _run_both(program, 8)
    assert list(run["b.v"][:, 0]) == [8, 16, 24, 96, 168, 240, 312, 384]
    assert list(run["b.v"][:, 2]) == [24, 48, 72, -248, -568, -888, -1208, -1528]


@pytest.mark.parametrize("target", TARGETS)
def test_zero_steps_give_empty_probes(target):
    program = ChipProgram(metadata={"target": target})
    program.add(CompartmentGroup("a", n=2))
    program.probe("a", "u")
    assert emulate(program, 0)["a.u"].shape == (0, 2)
    assert REFERENCES[target](program, 0)["a.u"].shape == (0, 2)


def test_graded_sum_wraps_before_exponent_shift():
    """Lava's int32 graded product wraps before a negative weight exponent."""
    program = ChipProgram(metadata={"target": "loihi2"})
    program.add(SpikeSource("src", n=1, steps=range(1, 11), indices=[0] * 10))
    program.add(AstrocyteGroup("astro", n=3, decay_c=0, out_shift=0, c_bits=24))
    program.add(
        SynapseGroup(
            "drive",
            pre="src",
            post="astro",
            weights=[[255]] * 3,
            weight_exp=7,
            sign_mode="excitatory",
        )
    )
    program.add(CompartmentGroup("n", n=1, decay_u=4095, vth=VTH_MAX))

    program.add(
        SynapseGroup(
            "graded",
            pre="astro",
            post="n",
            weights=[[255] * 3],
            weight_exp=-3,
            sign_mode="excitatory",
            num_message_bits=24,
        )
    )
    program.probe("astro", "c")
    program.probe("n", "u")

    run = _run_both(program, 10)
    c_max = 2**23 - 1
    assert run["astro.c"][-1, 0] == c_max
    # 3 * 255 * c_max wraps in int32, is shifted right by 3, then left by 6
    # in 32-bit arithmetic, and finally wraps once by 2**24
    total = 3 * 255 * c_max - 2**32
    x = ((total >> 3) << 6) % 2**32
    x = x - 2**32 if x >= 2**31 else x
    assert run["n.u"][-1, 0] == x + 2**24


@pytest.mark.parametrize(
    ("runner", "target", "backend", "reference"),
    [
        (run_lava, "loihi1", "lava", "nengo-loihi"),
        (run_nengo_loihi, "loihi2", "nengo-loihi", "lava"),
    ],
)
def test_reference_backend_rejects_chip_of_other_reference(
    runner, target, backend, reference
):
    program = ChipProgram(metadata={"target": target})
    program.add(CompartmentGroup("n", n=1))
    with pytest.raises(
        BackendError, match=f"follows '{reference}', not '{backend}'; run it on"
    ):
        runner(program, 3)


@pytest.mark.parametrize(
    ("runner", "target"), [(run_lava, "loihi2"), (run_nengo_loihi, "loihi1")]
)
def test_reference_backend_result_records_run(runner, target):
    program = ChipProgram(metadata={"target": target, "dt": 0.002})
    program.add(CompartmentGroup("n", n=1, vth=10, bias_mant=100, bias_exp=0))
    program.probe("n", "v")
    run = runner(program, 4, seed=3)
    assert (run.target, run.seed, run.dt, run.n_steps) == (target, 3, 0.002, 4)
    assert run.metadata == {"program_hash": program.content_hash(), "steps": 4}
