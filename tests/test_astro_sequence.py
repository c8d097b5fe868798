"""Neuron-astrocyte sequence memory: patterns, rate model, Lava graph and verify."""

import json

import numpy as np
import pytest

from glia_neuromorphic.errors import BackendError, QuantizationError
from glia_neuromorphic.hwconfig import load_chip
from glia_neuromorphic.models.astro_sequence import analysis
from glia_neuromorphic.models.astro_sequence.network import design
from glia_neuromorphic.models.astro_sequence.params import AstroParams
from glia_neuromorphic.models.astro_sequence.patterns import (
    corrupt,
    digit_patterns,
    random_patterns,
    sequence_weights,
)
from glia_neuromorphic.models.astro_sequence.rate import run_rate

NEXT = {mu: (mu + 1) % 10 for mu in range(10)}


@pytest.fixture(scope="module")
def digits():
    patterns = digit_patterns(64)
    j_s, j_a = sequence_weights(patterns)
    cue = corrupt(patterns[0], 0.1, seed=0)
    return patterns, j_s, j_a, cue


def test_digit_patterns_are_centred_signs():
    patterns = digit_patterns(64)
    assert patterns.shape == (10, 64)
    assert set(np.unique(patterns)) == {-1.0, 1.0}
    # centring removes the shared background, so memories overlap little
    overlaps = patterns @ patterns.T / 64
    off_diagonal = overlaps[~np.eye(10, dtype=bool)]
    assert np.abs(off_diagonal).max() < 0.6


def test_projected_digits_have_requested_size():
    patterns = digit_patterns(256, seed=1)
    assert patterns.shape == (10, 256)
    np.testing.assert_array_equal(patterns, digit_patterns(256, seed=1))


def test_transition_weights_map_each_memory_to_next(digits):
    patterns, _, j_a, _ = digits
    mapped = j_a @ patterns.T
    np.testing.assert_allclose(mapped, np.roll(patterns, -1, axis=0).T, atol=1e-9)


def test_rate_model_recalls_digit_cycle(digits):
    patterns, j_s, j_a, cue = digits
    params = AstroParams(gain=1.5)
    run = run_rate(params, j_s, j_a, cue, steps=6000)
    rec = analysis.recall(analysis.overlaps(run.s, patterns), params.dt)
    correct, total = rec.transitions(NEXT)
    assert rec.order[0] == 0
    assert total >= 10
    assert correct >= 9


def test_rate_model_stalls_at_high_gain(digits):
    patterns, j_s, j_a, cue = digits
    params = AstroParams(gain=2.0)
    run = run_rate(params, j_s, j_a, cue, steps=6000)
    rec = analysis.recall(analysis.overlaps(run.s, patterns), params.dt)
    assert len(rec.order) <= 5


def test_without_astrocytes_state_stays_in_first_memory(digits):
    patterns, j_s, j_a, cue = digits
    params = AstroParams(gain=0.0)
    run = run_rate(params, j_s, j_a, cue, steps=3000)
    rec = analysis.recall(analysis.overlaps(run.s, patterns), params.dt)
    assert rec.order == [0]


def test_random_patterns_transition_period_near_mean_field():
    params = AstroParams(gain=2.0)
    patterns = random_patterns(4, 1000, seed=2)
    j_s, j_a = sequence_weights(patterns, cyclic=False, pseudo_inverse=False)
    run = run_rate(params, j_s, j_a, patterns[0], steps=2500)
    rec = analysis.recall(analysis.overlaps(run.s, patterns), params.dt)
    assert rec.order[:3] == [0, 1, 2]
    first_dwell = rec.times[1] - rec.times[0]
    mean_field = params.tau_a * np.log(params.gain / (params.gain - 1.0))
    assert 0.75 * mean_field <= first_dwell <= 1.0 * mean_field


def test_design_quantizes_within_target(digits):
    _, j_s, j_a, cue = digits
    chip = load_chip("loihi2")
    d = design(AstroParams(), j_s, j_a, cue, chip)
    assert d.decay_u.delta == 410
    assert d.decay_u.stored == 409
    assert d.decay_astro.delta == 8
    assert d.decay_astro.tau_eff == pytest.approx(0.512)
    assert np.abs(d.rec.mantissa).max() <= 254
    assert np.abs(d.astro_out.mantissa).max() <= 254
    assert d.rec.report.n_saturated == 0
    assert d.astro_out.report.n_saturated == 0
    summary = d.quantization_summary()
    assert len(summary["weights"]) == 3


@pytest.mark.parametrize("n", [256, 1000])
def test_astrocyte_payload_keeps_sixteen_levels(n):
    from glia_neuromorphic.models.astro_sequence.network import ASTRO_PAYLOAD_LEVELS

    patterns = random_patterns(4, n, seed=0)
    j_s, j_a = sequence_weights(patterns, cyclic=False, pseudo_inverse=False)
    params = AstroParams(gain=1.5, tau_a=0.512)
    chip = load_chip("loihi2")
    d = design(params, j_s, j_a, patterns[0], chip)
    # trace of a unit held at s = 1, in payload units
    act = 2**chip.neuron.act_shift
    c_scale = d.astro_in.float_weights.max() * act * params.tau_a / params.dt
    assert c_scale / 2**d.out_shift >= ASTRO_PAYLOAD_LEVELS
    assert np.abs(d.astro_out.mantissa).max() >= 32
    assert d.astro_out.report.n_saturated == 0


def test_unrepresentable_astrocyte_tau_is_rejected(digits):
    _, j_s, j_a, cue = digits
    with pytest.raises(QuantizationError, match="astrocyte trace.*tau_eff"):
        design(AstroParams(tau_a=0.75), j_s, j_a, cue, load_chip("loihi2"))


def test_verify_rejects_unsupported_pair(tmp_path):
    from glia_neuromorphic.models.astro_sequence import verify

    with pytest.raises(BackendError, match="'loihi1'.*'lava'"):
        verify(target="loihi1", backend="lava", out=tmp_path)


@pytest.fixture(scope="module")
def verify_run(tmp_path_factory):
    from glia_neuromorphic.models.astro_sequence import verify

    out = tmp_path_factory.mktemp("verify")
    return verify(
        target="loihi2", backend="lava", steps=5200, seed=0, out=out, studies="none"
    )


def test_float_spiking_recalls_digit_cycle(verify_run):
    level = verify_run.report["levels"]["float_spiking"]
    assert level["order"][0] == 0
    assert level["transitions"] >= 10
    assert level["correct_transitions"] >= 9


def test_fixed_point_matches_float_spiking(verify_run):
    gate = verify_run.report["fixed_vs_float"]
    assert gate["same_order"]
    assert gate["compared_transitions"] >= 9
    assert gate["max_time_rel_diff"] <= 0.10
    assert verify_run.passed


def test_verify_writes_reports_with_seed(verify_run):
    report = json.loads((verify_run.out / "report.json").read_text())
    assert report["seed"] == 0
    assert report["passed"] is True
    assert report["target"]["target"] == "loihi2"
    html = (verify_run.out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3


def test_golden_file_round_trip_and_seed_change(tmp_path):
    from glia_neuromorphic.models.astro_sequence import verify

    golden = tmp_path / "golden"
    options = dict(
        target="loihi2", backend="lava", steps=500, golden_dir=golden, studies="none"
    )
    recorded = verify(seed=0, out=tmp_path / "a", update_golden=True, **options)
    assert recorded.passed
    assert list(golden.iterdir())

    again = verify(seed=0, out=tmp_path / "b", **options)
    assert again.passed
    assert "identical" in again.checks[-1].value

    changed = verify(seed=1, out=tmp_path / "c", **options)
    assert not changed.passed
    assert "seed 0 -> 1" in changed.checks[-1].value
