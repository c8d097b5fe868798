"""Timing, atrophy and scale sweeps of the sequence memory (small cases by default)."""

import math

import numpy as np
import pytest

from glia_neuromorphic.errors import BackendError, ValidationError
from glia_neuromorphic.models.astro_sequence import atrophy, scale, studies, timing
from glia_neuromorphic.models.astro_sequence.cases import (
    Case,
    atrophy_mask,
    critical_fraction,
    mean_field_period,
    run_case,
    run_cases,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_mean_field_period_formulas():
    t1, t_ss = mean_field_period(2.0, 0.5)
    assert t1 == pytest.approx(0.5 * math.log(2.0))
    assert t_ss == pytest.approx(0.5 * math.log(math.sqrt(2) / (math.sqrt(2) - 1)))
    assert mean_field_period(1.0, 0.5) == (math.inf, math.inf)


def test_fraction_grid_is_fine_near_mean_field():
    grid = atrophy.fraction_grid(2.0)
    assert grid[0] == 0.0
    assert grid[-1] == 1.0
    steps = np.diff([f for f in grid if 0.3 <= f <= 0.7])
    np.testing.assert_allclose(steps, 0.05)
    assert 0.15 not in grid


def test_atrophy_mask_removes_exact_fraction():
    mask = atrophy_mask(100, 0.3, seed=4)
    assert mask.shape == (100, 100)
    assert mask.size - mask.sum() == 3000
    np.testing.assert_array_equal(mask, atrophy_mask(100, 0.3, seed=4))
    assert not np.array_equal(mask, atrophy_mask(100, 0.3, seed=5))
    assert atrophy_mask(100, 0.0, seed=4) is None


def test_atrophy_mask_rejects_bad_fraction():
    with pytest.raises(ValidationError, match="1.5"):
        atrophy_mask(10, 1.5, seed=0)


def test_critical_fraction_interpolates():
    f_c = critical_fraction([0.0, 0.4, 0.6, 0.8], [1.0, 1.0, 0.0, 0.0])
    assert f_c == pytest.approx(0.5)
    assert critical_fraction([0.0, 0.5], [1.0, 0.9]) is None
    dip = critical_fraction([0.0, 0.2, 0.4, 0.6, 0.8], [1.0, 0.3, 1.0, 1.0, 0.0])
    assert dip == pytest.approx(0.7)


def test_unknown_sweep_backend_rejected():
    with pytest.raises(BackendError, match="'board'"):
        run_case(Case("board", n_units=64))


def test_run_cases_keeps_order_and_seeds():
    cases = [
        Case("rate", n_units=128, n_patterns=3, duration=0.6, seed=s) for s in (3, 1)
    ]
    records = run_cases(cases, workers=2, progress=False)
    assert [r["seed"] for r in records] == [3, 1]
    assert all(r["order"][0] == 0 for r in records)


def test_run_cases_runs_lava_in_pool_workers():
    # each pool worker starts with a start method set, and Lava raised
    # "context has already been set" when a worker first imported it
    cases = [
        Case("lava-float", n_units=64, n_patterns=3, duration=0.15, seed=s)
        for s in (0, 1)
    ]
    records = run_cases(cases, workers=2, progress=False)
    assert [r["seed"] for r in records] == [0, 1]
    assert all(r["backend"] == "lava-float" for r in records)


def test_run_cases_rejects_lava_on_dask():
    cases = [Case("lava-fixed", n_units=64, n_patterns=3, duration=0.15)]
    with pytest.raises(BackendError, match="'processes' or 'serial'"):
        run_cases(cases, workers=2, scheduler="dask", progress=False)


def test_run_cases_on_dask():
    cases = [
        Case("rate", n_units=64, n_patterns=3, duration=0.4, seed=s) for s in (0, 1)
    ]
    records = run_cases(cases, workers=1, scheduler="dask", progress=False)
    assert [r["seed"] for r in records] == [0, 1]


def test_rate_period_linear_in_tau():
    cases = timing.timing_cases("rate", n_units=256, gains=(2.0,))
    summary = timing.summarize(run_cases(cases, progress=False))
    entry = summary["rate/256"]["2.0"]
    assert len(entry["period"]) == len(timing.TAUS)
    assert entry["fit"]["r2"] > timing.MIN_R2
    assert entry["fit"]["intercept"] < 5 * 0.01
    low, high = timing.FIRST_DWELL_RANGE
    for ratio in entry["first_dwell_over_mean_field"]:
        assert low <= ratio <= high
    assert low <= entry["first_dwell_slope_over_mean_field"] <= high
    assert 0 < entry["first_dwell_fit"]["intercept"] < 5 * 0.01


def test_rate_period_over_tau_falls_with_gain():
    cases = timing.timing_cases("rate", n_units=256, taus=(0.256,))
    summary = timing.summarize(run_cases(cases, progress=False))
    ratios = [summary["rate/256"][str(g)]["period_over_tau"][0] for g in timing.GAINS]
    assert ratios[0] > ratios[1] > ratios[2]


def test_rate_atrophy_critical_fraction():
    cases = atrophy.atrophy_cases(
        "rate",
        "random",
        512,
        2.0,
        0.256,
        3.0,
        seeds=range(2),
        fractions=[0.0, 0.4, 0.6, 0.7, 0.9],
        n_patterns=4,
    )
    summary = atrophy.summarize(run_cases(cases, workers=2, progress=False))
    entry = summary["rate/random/512"]
    quality = {p["fraction"]: p["quality_mean"] for p in entry["points"]}
    assert quality[0.0] >= 0.9
    assert quality[0.4] >= 0.9
    assert quality[0.9] <= 0.1
    assert 0.5 <= entry["critical_fraction"] <= 0.7


def test_scale_capacity_counts_full_chains():
    records = [
        {
            "backend": "rate",
            "n_units": 64,
            "memories": "random",
            "n_patterns": p,
            "quality": q,
            "seed": 0,
        }
        for p, q in ((2, 1.0), (4, 1.0), (8, 0.5), (12, 1.0))
    ]
    summary = scale.summarize(records)
    assert summary["rate"]["64"]["capacity"] == 4


@pytest.mark.parametrize(
    ("float_backend", "fixed_backend"),
    [("lava-float", "lava-fixed"), ("nengo", "nengo-loihi")],
)
def test_fixed_timing_within_tolerance(float_backend, fixed_backend):
    cases = [
        Case(b, n_units=64, n_patterns=4, gain=2.0, tau_a=0.256, duration=1.2)
        for b in (float_backend, fixed_backend)
    ]
    records = run_cases(cases, workers=1, progress=False)
    comparison = timing.compare_fixed(records, float_backend, fixed_backend)
    assert comparison["unmatched"] == 0
    assert comparison["max_rel_diff"] <= timing.FIXED_TOLERANCE


def test_study_report_written(tmp_path):
    records = run_cases(
        [
            Case("rate", n_units=64, n_patterns=3, duration=0.6, tau_a=t)
            for t in (0.256, 0.4096, 0.512)
        ],
        progress=False,
    )
    summary = studies.write_report("timing", records, tmp_path)
    assert "rate/64" in summary["per_backend"]
    html = (tmp_path / "timing.html").read_text()
    assert html.count("data:image/png;base64,") == 1


def test_design_converts_to_chip_program(tmp_path):
    from glia_neuromorphic.hwconfig import load_chip
    from glia_neuromorphic.models.astro_sequence.cases import memories
    from glia_neuromorphic.models.astro_sequence.network import design
    from glia_neuromorphic.models.astro_sequence.program import to_program
    from glia_neuromorphic.program import ChipProgram

    case = Case("lava-fixed", n_units=64, n_patterns=4)
    _, j_s, j_a, cue, _ = memories(case)
    d = design(case.params, j_s, j_a, cue, load_chip("loihi2"))
    program = to_program(d, seed=3)
    assert program.groups["neurons"].n == 128
    assert program.groups["astrocytes"].decay_c == d.decay_astro.stored
    out_weights = program.groups["astrocyte output (gain * J_a)"]
    np.testing.assert_array_equal(out_weights.weights, d.astro_out.mantissa)
    loaded = ChipProgram.load(program.save(tmp_path / "astro.gliaprog"))
    assert loaded.metadata["seed"] == 3
    assert loaded.content_hash() == program.content_hash()


@pytest.mark.slow
def test_rate_timing_full_sweep():
    cases = timing.timing_cases("rate", n_units=1000, seeds=range(2))
    summary = timing.summarize(run_cases(cases, progress=False))
    low, high = timing.FIRST_DWELL_RANGE
    ratios = []
    for gain in timing.GAINS:
        entry = summary["rate/1000"][str(gain)]
        assert entry["fit"]["r2"] > timing.MIN_R2
        assert entry["fit"]["intercept"] < 5 * 0.01
        for ratio in entry["first_dwell_over_mean_field"]:
            assert low <= ratio <= high
        assert low <= entry["first_dwell_slope_over_mean_field"] <= high
        ratios.append(np.mean(entry["period_over_tau"]))
    assert ratios[0] > ratios[1] > ratios[2]


@pytest.mark.slow
def test_rate_atrophy_full_sweep():
    cases = atrophy.atrophy_cases("rate", "random", 1000, 2.0, 0.256, 5.0)
    entry = atrophy.summarize(run_cases(cases, progress=False))["rate/random/1000"]
    assert 0.5 <= entry["critical_fraction"] <= 0.7
    assert entry["width"] is not None
    assert entry["width"] <= 0.1 + 1e-9


@pytest.mark.slow
@pytest.mark.parametrize("tau_a", [0.256, 0.512, 0.6827])
def test_lava_fixed_timing_n256(tau_a):
    cases = [
        Case(
            b,
            n_units=256,
            n_patterns=4,
            gain=2.0,
            tau_a=tau_a,
            seed=1,
            duration=round(timing.duration_for(2.0, tau_a, 4), 3),
        )
        for b in ("lava-float", "lava-fixed")
    ]
    comparison = timing.compare_fixed(
        run_cases(cases, workers=1, progress=False), "lava-float", "lava-fixed"
    )
    assert comparison["unmatched"] == 0
    assert comparison["max_rel_diff"] <= timing.FIXED_TOLERANCE


def _timing_pair(float_backend, fixed_backend, n_units, gain, seed, tau_a=0.512):
    """Run one timing point (P = 4) on a float and a fixed level."""
    cases = [
        Case(
            b,
            n_units=n_units,
            n_patterns=4,
            gain=gain,
            tau_a=tau_a,
            seed=seed,
            duration=round(timing.duration_for(gain, tau_a, 4), 3),
        )
        for b in (float_backend, fixed_backend)
    ]
    records = run_cases(cases, workers=1, progress=False)
    return records, timing.compare_fixed(records, float_backend, fixed_backend)


def _assert_recalls_within_gate(records, comparison):
    """Check that both levels recall the chain and their dwells agree."""
    assert comparison["unmatched"] == 0
    assert comparison["max_rel_diff"] <= timing.FIXED_TOLERANCE
    for record in records:
        assert record["quality"] == 1.0, record["backend"]


def test_loihi1_gain15_switch_matches_float():
    # without the astrocytes' head starts, nengo-loihi's weight grid left
    # about 11 distinct astrocyte rates here, groups of pairs fired in the
    # same steps, and the fixed point left memory 0 19 % before float
    records, comparison = _timing_pair(
        "nengo", "emulator-loihi1", 256, 1.5, seed=2, tau_a=0.6827
    )
    _assert_recalls_within_gate(records, comparison)


@pytest.mark.slow
def test_nengo_loihi_fixed_timing_n256():
    # before the astrocyte rates were spread over units, the pairs fired in
    # volleys and one pair per unit failed this gate at N = 256 (15-73 %)
    _, comparison = _timing_pair("nengo", "nengo-loihi", 256, 2.0, seed=1)
    assert comparison["unmatched"] == 0
    assert comparison["max_rel_diff"] <= timing.FIXED_TOLERANCE


def test_emulator_matches_lava_fixed_bit_exact():
    from glia_neuromorphic.emulator.engine import emulate
    from glia_neuromorphic.hwconfig import load_chip
    from glia_neuromorphic.models.astro_sequence.cases import memories
    from glia_neuromorphic.models.astro_sequence.lava_graph import run_lava
    from glia_neuromorphic.models.astro_sequence.network import design
    from glia_neuromorphic.models.astro_sequence.program import to_program

    case = Case("emulator", memories="digits", n_units=64, gain=1.5, tau_a=0.512)
    _, j_s, j_a, cue, _ = memories(case)
    d = design(case.params, j_s, j_a, cue, load_chip("loihi2"))
    emulated = emulate(to_program(d), 400, "loihi2")["neurons.spikes"]
    lava = run_lava(d, "fixed", 400)["neurons.spikes"]
    assert emulated.sum() > 0
    np.testing.assert_array_equal(emulated.astype(int), lava.astype(int))


@pytest.mark.slow
@pytest.mark.parametrize("gain", [1.5, 2.0, 3.0])
def test_loihi1_fixed_timing_n1000(gain):
    """nengo-loihi's discretization (on the emulator) against Nengo float."""
    # before the astrocytes' head starts, the fixed point switched 10 % (gain
    # 2) and 23 % (gain 1.5) before float here
    records, comparison = _timing_pair("nengo", "emulator-loihi1", 1000, gain, 0)
    _assert_recalls_within_gate(records, comparison)
    # the first dwell against T1 is checked on seed means and on the slope over
    # tau_a (test_astro_sequence_data.py), because one seed reaches 1.03 T1 here


@pytest.mark.slow
def test_emulator_timing_n1000_matches_lava_float():
    # with 4 payload levels (before the payload floor) this point differed
    # by 33 % (first dwell)
    _, comparison = _timing_pair("lava-float", "emulator", 1000, 1.5, seed=0)
    assert comparison["unmatched"] == 0
    assert comparison["max_rel_diff"] <= timing.FIXED_TOLERANCE


@pytest.mark.slow
def test_emulator_matches_lava_fixed_bit_exact_n1000():
    from glia_neuromorphic.emulator.engine import emulate
    from glia_neuromorphic.hwconfig import load_chip
    from glia_neuromorphic.models.astro_sequence.cases import memories
    from glia_neuromorphic.models.astro_sequence.lava_graph import run_lava
    from glia_neuromorphic.models.astro_sequence.network import design
    from glia_neuromorphic.models.astro_sequence.program import to_program

    case = Case("emulator", n_units=1000, n_patterns=4, gain=1.5, tau_a=0.256)
    _, j_s, j_a, cue, _ = memories(case)
    d = design(case.params, j_s, j_a, cue, load_chip("loihi2"))
    emulated = emulate(to_program(d), 300, "loihi2")["neurons.spikes"]
    lava = run_lava(d, "fixed", 300)["neurons.spikes"]
    assert emulated.sum() > 0
    np.testing.assert_array_equal(emulated.astype(int), lava.astype(int))


def test_entry_points_survive_submodule_imports():
    """Loading a submodule must not replace the package's build/sweep/verify."""
    import importlib
    import pkgutil

    import glia_neuromorphic.models.astro_sequence as package

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")
    for name in ("build", "sweep", "verify"):
        assert callable(getattr(package, name)), name
