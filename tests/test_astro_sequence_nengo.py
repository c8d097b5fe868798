"""Sequence memory on Nengo and nengo-loihi, and the no-astrocyte control."""

import json

import numpy as np
import pytest

from glia_neuromorphic.errors import QuantizationError
from glia_neuromorphic.hwconfig import load_chip
from glia_neuromorphic.models.astro_sequence import analysis
from glia_neuromorphic.models.astro_sequence.network import design
from glia_neuromorphic.models.astro_sequence.params import AstroParams
from glia_neuromorphic.models.astro_sequence.patterns import (
    corrupt,
    digit_patterns,
    sequence_weights,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def digits():
    patterns = digit_patterns(64)
    j_s, j_a = sequence_weights(patterns)
    cue = corrupt(patterns[0], 0.1, seed=0)
    return patterns, j_s, j_a, cue


def _recall(spikes, patterns, params):
    states = analysis.unit_activity(spikes, params.tau_n, params.dt)
    return analysis.recall(analysis.overlaps(states, patterns), params.dt)


def test_nengo_build_reports_effective_taus(digits):
    from glia_neuromorphic.models.astro_sequence.nengo_net import build_network

    _, j_s, j_a, cue = digits
    model = build_network(AstroParams(), j_s, j_a, cue, load_chip("loihi1"))
    by_name = {d.name: d for d in model.decays}
    astro = by_name["astrocyte synapse (tau_a)"]
    assert astro.delta == 8
    assert astro.tau_eff == pytest.approx(0.512)
    labels = sorted(e.label for e in model.network.all_ensembles)
    assert labels == ["astrocyte phases", "astrocytes", "cue", "neurons"]


def test_phase_kick_keeps_weight_grid():
    from glia_neuromorphic.models.astro_sequence.nengo_net import (
        ASTRO_PHASE_SPAN,
        _astro_phase_kick,
    )

    steps, kick = _astro_phase_kick(512, 0.24, seed=3)
    # no kick weight exceeds the largest astrocyte input weight, so
    # nengo-loihi keeps the astrocyte block's weight scale
    assert kick.max() <= 0.24
    assert steps == int(np.ceil(ASTRO_PHASE_SPAN / 0.24))
    total = steps * kick
    assert total.min() >= 0.0
    assert total.max() < ASTRO_PHASE_SPAN
    # the head starts cover the span evenly enough to break up volleys
    counts, _ = np.histogram(total % 1.0, bins=4, range=(0.0, 1.0))
    assert counts.min() > 0.15 * total.size
    again_steps, again = _astro_phase_kick(512, 0.24, seed=3)
    assert again_steps == steps
    np.testing.assert_array_equal(again, kick)
    assert not np.array_equal(_astro_phase_kick(512, 0.24, seed=4)[1], kick)


def test_nengo_build_rejects_unrepresentable_tau(digits):
    from glia_neuromorphic.models.astro_sequence.nengo_net import build_network

    _, j_s, j_a, cue = digits
    params = AstroParams(tau_a=0.75)
    with pytest.raises(QuantizationError, match="astrocyte synapse.*tau_eff"):
        build_network(params, j_s, j_a, cue, load_chip("loihi1"))


@pytest.fixture(scope="module")
def verify_loihi1(tmp_path_factory):
    from glia_neuromorphic.models.astro_sequence import verify

    out = tmp_path_factory.mktemp("verify_loihi1")
    return verify(
        target="loihi1",
        backend="nengo-loihi",
        steps=5200,
        seed=0,
        out=out,
        studies="none",
    )


def test_nengo_float_recalls_digit_cycle(verify_loihi1):
    level = verify_loihi1.report["levels"]["float_spiking"]
    assert level["order"][:10] == list(range(10))
    assert level["correct_transitions"] == level["transitions"]
    assert level["transitions"] >= 10


def test_nengo_loihi_matches_nengo_float(verify_loihi1):
    gate = verify_loihi1.report["fixed_vs_float"]
    assert gate["same_order"]
    assert gate["compared_transitions"] >= 9
    assert gate["max_time_rel_diff"] <= 0.10
    assert verify_loihi1.passed


def test_loihi1_report_names_runners(verify_loihi1):
    report = json.loads((verify_loihi1.out / "report.json").read_text())
    assert report["target"]["target"] == "loihi1"
    assert report["runners"]["fixed_point"] == "nengo-loihi emulator"
    html = (verify_loihi1.out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3


@pytest.mark.parametrize("simulator", ["nengo", "nengo-loihi"])
def test_nengo_without_astrocytes_stays(digits, simulator):
    from glia_neuromorphic.models.astro_sequence.nengo_net import (
        build_network,
        run_nengo,
    )

    patterns, j_s, j_a, cue = digits
    params = AstroParams()
    model = build_network(params, j_s, j_a, cue, load_chip("loihi1"), astrocytes=False)
    run = run_nengo(model, simulator, steps=1200)
    rec = _recall(run["neurons.spikes"], patterns, params)
    assert rec.order == [0]
    assert rec.overlaps[-500:, 0].min() >= 0.9


@pytest.mark.parametrize("precision", ["float", "fixed"])
def test_lava_without_astrocytes_stays(digits, precision):
    from glia_neuromorphic.models.astro_sequence.lava_graph import run_lava

    patterns, j_s, j_a, cue = digits
    params = AstroParams(gain=0.0)
    d = design(params, j_s, j_a, cue, load_chip("loihi2"))
    assert not np.any(d.astro_out.mantissa)
    run = run_lava(d, precision, steps=1200)
    rec = _recall(run["neurons.spikes"], patterns, params)
    assert rec.order == [0]
    assert rec.overlaps[-500:, 0].min() >= 0.9


def test_astro_copies_keep_mean_drive(digits):
    from glia_neuromorphic.models.astro_sequence.nengo_net import _astro_transforms

    _, _, j_a, _ = digits
    drive = 30 * 1.5 * j_a
    astro_in, astro_out = _astro_transforms(drive, 0.2, 4)
    assert astro_in.shape == (8 * 64, 128)
    assert astro_out.shape == (128, 8 * 64)
    # unit traces c as on/off activity; astrocyte rates are rectified drives
    c = np.linspace(-1, 1, 64)
    activity = np.concatenate([np.maximum(c, 0), np.maximum(-c, 0)])
    rates = np.maximum(astro_in @ activity, 0)
    current = astro_out @ rates
    np.testing.assert_allclose(current[:64], drive @ c, atol=1e-9)
    np.testing.assert_allclose(current[64:], -drive @ c, atol=1e-9)


def test_unit_rate_spread_keeps_mean_drive(digits):
    from glia_neuromorphic.models.astro_sequence.nengo_net import (
        UNIT_RATE_SPREAD,
        _astro_transforms,
    )

    _, _, j_a, _ = digits
    drive = 30 * 1.5 * j_a
    astro_in, astro_out = _astro_transforms(drive, 0.2, 1, seed=3)
    rates = np.diag(astro_in[:64, :64]) / 0.2
    # every unit gets its own rate, evenly spread and in a seeded order
    np.testing.assert_allclose(
        np.sort(rates), 1 + np.linspace(-UNIT_RATE_SPREAD, UNIT_RATE_SPREAD, 64)
    )
    assert not np.all(np.diff(rates) > 0)
    again, _ = _astro_transforms(drive, 0.2, 1, seed=3)
    np.testing.assert_array_equal(again, astro_in)
    c = np.linspace(-1, 1, 64)
    activity = np.concatenate([np.maximum(c, 0), np.maximum(-c, 0)])
    current = astro_out @ np.maximum(astro_in @ activity, 0)
    np.testing.assert_allclose(current[:64], drive @ c, atol=1e-9)


def test_cue_weight_headroom_and_grid():
    from glia_neuromorphic.models.astro_sequence.nengo_net import (
        CUE_WEIGHT,
        cue_weight,
    )

    chip = load_chip("loihi1")
    for gain in (1.5, 2.0, 3.0):
        params = AstroParams(gain=gain)
        unit = params.beta / 1000
        w = cue_weight(params, chip, unit)
        w_scale = (2**chip.synapse.weight_mant_bits - 1) / w
        # the recurrent step is a whole number of weight steps
        assert unit * w_scale == pytest.approx(round(unit * w_scale), abs=1e-9)
        assert round(unit * w_scale) >= 2
        # threshold of a neuron times the peak drive stays in the u register
        vth = (params.tau_n / params.dt) * 2**chip.neuron.act_shift * w_scale
        assert vth * params.beta * (1 + gain) < 2 ** (chip.neuron.u_bits - 1)
    # the cue keeps the rate model's drive when larger weights set the scale
    assert cue_weight(AstroParams(), chip, None, other_max=50.0) == 30.0
    assert cue_weight(AstroParams(), chip, None, other_max=10.0) == 10.0
    # and never falls below the weight that makes a cued neuron fire every step
    assert cue_weight(AstroParams(), chip, 30 / 16) >= CUE_WEIGHT


def _wrapped(counters):
    """Return the registers that wrapped (v clipping at vmin = 0 is by design)."""
    return {
        key: entry["count"]
        for key, entry in counters.items()
        if entry.get("policy") == "wrap" and entry["count"]
    }


def test_emulator_runs_the_loihi1_net_spike_for_spike(digits):
    """The Nengo network as a chip program equals nengo-loihi's emulator."""
    from glia_neuromorphic.models.astro_sequence.nengo_net import (
        build_network,
        run_emulator,
        run_nengo,
    )

    _, j_s, j_a, cue = digits
    params = AstroParams(gain=1.5, tau_a=0.256)
    model = build_network(
        params, j_s, j_a, cue, load_chip("loihi1"), probe_trace=True, seed=2
    )
    reference = run_nengo(model, "nengo-loihi", steps=400, seed=2)
    emulated = run_emulator(model, steps=400, seed=2)
    assert emulated.seed == 2
    for key in ("neurons.spikes", "astrocytes.spikes"):
        assert emulated[key].shape == reference[key].shape
        assert reference[key].sum() > 0
        np.testing.assert_array_equal(emulated[key], reference[key])
    assert not _wrapped(emulated.counters)


@pytest.mark.slow
def test_loihi1_net_n1000_exact_without_wrap():
    from glia_neuromorphic.models.astro_sequence import cases
    from glia_neuromorphic.models.astro_sequence.nengo_net import (
        build_network,
        run_emulator,
        run_nengo,
    )

    case = cases.Case("emulator-loihi1", n_units=1000, gain=3.0, tau_a=0.256)
    patterns, j_s, j_a, cue, _ = cases.memories(case)
    model = build_network(case.params, j_s, j_a, cue, load_chip("loihi1"))
    emulated = run_emulator(model, steps=600)
    assert not _wrapped(emulated.counters)
    reference = run_nengo(model, "nengo-loihi", steps=120)
    np.testing.assert_array_equal(
        emulated["neurons.spikes"][:120], reference["neurons.spikes"]
    )


def test_astro_copies_must_be_positive(digits):
    from glia_neuromorphic.errors import ValidationError
    from glia_neuromorphic.models.astro_sequence.nengo_net import build_network

    _, j_s, j_a, cue = digits
    with pytest.raises(ValidationError, match="astro_copies is 0"):
        build_network(AstroParams(), j_s, j_a, cue, load_chip("loihi1"), astro_copies=0)


def test_cue_takes_one_input_axon_on_the_chip():
    import nengo_loihi

    from glia_neuromorphic.models.astro_sequence.nengo_net import (
        build_network,
        neuron_input_axons,
    )

    n = 16
    patterns = np.where(np.random.default_rng(0).random((3, n)) < 0.5, -1.0, 1.0)
    j_s, j_a = sequence_weights(patterns, cyclic=False, pseudo_inverse=False)
    model = build_network(AstroParams(), j_s, j_a, patterns[0], load_chip("loihi1"))
    with nengo_loihi.Simulator(
        model.network, dt=model.params.dt, target="sim", progress_bar=False
    ) as sim:
        axons = {b.label: sum(s.n_axons for s in b.synapses) for b in sim.model.blocks}
    neuron_axons = [a for label, a in axons.items() if "'neurons'" in label]
    assert neuron_axons == [neuron_input_axons(n, 1)] == [4 * n + 1]


def test_units_over_core_axons_rejected():
    from glia_neuromorphic.errors import CapacityError
    from glia_neuromorphic.models.astro_sequence.nengo_net import (
        build_network,
        max_units,
    )

    chip = load_chip("loihi1")
    n = max_units(chip) + 1
    assert n - 1 == (chip.core.input_axons - 1) // 4
    patterns = np.where(np.random.default_rng(0).random((2, n)) < 0.5, -1.0, 1.0)
    j_s, j_a = sequence_weights(patterns, cyclic=False, pseudo_inverse=False)
    with pytest.raises(CapacityError, match=f"{4 * n + 1} input axons.*N = {n - 1}"):
        build_network(AstroParams(), j_s, j_a, patterns[0], chip)
