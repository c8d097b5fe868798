"""Timing and atrophy studies in the astro-sequence verify report, and the Recorder."""

import json

import numpy as np
import pytest

from glia_neuromorphic.errors import ValidationError
from glia_neuromorphic.models.astro_sequence import studies, verify_studies
from glia_neuromorphic.models.astro_sequence.cases import Case, run_cases
from glia_neuromorphic.models.astro_sequence.verify import Check
from glia_neuromorphic.models.astro_sequence.verify_studies import StudyPlan

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

#: The smallest plan that still runs every level of both studies.
TINY = StudyPlan(
    timing_units=64,
    timing_gains=(2.0,),
    timing_taus=(0.256,),
    timing_seeds=1,
    atrophy_fractions=(0.0, 0.9),
    atrophy_seeds=1,
    atrophy_duration=1.5,
)


@pytest.mark.parametrize("precision", ["float", "fixed"])
def test_recorder_matches_lava_monitor(tmp_path, precision):
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.monitor.process import Monitor

    from glia_neuromorphic.hwconfig import load_chip
    from glia_neuromorphic.models.astro_sequence.cases import memories
    from glia_neuromorphic.models.astro_sequence.lava_graph import build_graph
    from glia_neuromorphic.models.astro_sequence.network import design
    from glia_neuromorphic.processes.recorder import Recorder

    case = Case("lava-float", n_units=64, n_patterns=4, gain=2.0, tau_a=0.256)
    _, j_s, j_a, cue, _ = memories(case)
    graph = build_graph(
        design(case.params, j_s, j_a, cue, load_chip("loihi2")), precision
    )
    monitor = Monitor()
    monitor.probe(graph.neurons.s_out, 120)
    recorder = Recorder(shape=(128,), steps=120, path=tmp_path / "spikes.npy")
    graph.neurons.s_out.connect(recorder.a_in)
    tag = "floating_pt" if precision == "float" else "fixed_pt"
    try:
        for chunk in (50, 70):
            graph.neurons.run(
                condition=RunSteps(num_steps=chunk),
                run_cfg=Loihi2SimCfg(select_tag=tag),
            )
        expected = np.asarray(monitor.get_data()[graph.neurons.name]["s_out"])
        recorded = recorder.data()
    finally:
        graph.neurons.stop()
    assert recorded.shape == (120, 128)
    assert expected.sum() > 0
    np.testing.assert_array_equal(recorded, expected)


def test_recorder_rejects_bad_shape(tmp_path):
    from glia_neuromorphic.processes.recorder import Recorder

    with pytest.raises(ValidationError, match=r"\(2, 3\)"):
        Recorder(shape=(2, 3), steps=5, path=tmp_path / "x.npy")
    with pytest.raises(ValidationError, match="steps is 0"):
        Recorder(shape=(3,), steps=0, path=tmp_path / "x.npy")


def test_plan_sizes():
    compact = verify_studies.plan_for("compact", "lava")
    large = verify_studies.plan_for("large", "lava")
    assert compact.timing_gains == (2.0,)
    assert len(compact.timing_taus) >= 3
    assert large.timing_gains == (1.5, 2.0, 3.0)
    assert large.timing_seeds > 1
    assert verify_studies.plan_for("compact", "nengo-loihi").timing_units == 256
    with pytest.raises(ValidationError, match="no studies for backend 'nengo'"):
        verify_studies.plan_for("compact", "nengo")
    assert verify_studies.plan_for("none", "lava") is None
    assert verify_studies.plan_for(TINY, "lava") is TINY
    with pytest.raises(ValidationError, match="'huge'"):
        verify_studies.plan_for("huge", "lava")


def _record(backend, seed, first, period, tau=0.256):
    return {
        "backend": backend,
        "gain": 2.0,
        "tau_a": tau,
        "seed": seed,
        "first_dwell": first,
        "period": period,
    }


def test_mean_differences_average_over_seeds():
    records = [
        _record("nengo", 0, 0.10, 0.20),
        _record("nengo", 1, 0.20, 0.30),
        _record("nengo-loihi", 0, 0.13, 0.20),
        _record("nengo-loihi", 1, 0.18, 0.25),
    ]
    (row,) = verify_studies.mean_differences(records, "nengo", "nengo-loihi")
    assert row["first_dwell_rel_diff"] == pytest.approx(0.155 / 0.15 - 1)
    assert row["period_rel_diff"] == pytest.approx(0.225 / 0.25 - 1)
    records.append(_record("nengo-loihi", 2, None, 0.2))
    (row,) = verify_studies.mean_differences(records, "nengo", "nengo-loihi")
    assert row["first_dwell_rel_diff"] is None


def _study_result(means, fcs):
    return {
        "plan": {"timing_seeds": 2},
        "float_backend": "nengo",
        "fixed_backend": "nengo-loihi",
        "timing": {"fixed_vs_float_means": means},
        "atrophy": {"critical_fraction": fcs},
    }


def test_study_checks_gate_timing_and_critical_fraction():
    good = [{"first_dwell_rel_diff": 0.04, "period_rel_diff": -0.09}]
    fcs = {"rate": 0.7, "nengo": 0.68, "nengo-loihi": 0.62}
    checks = verify_studies.study_checks(_study_result(good, fcs), Check, 0.1, 0.1)
    assert [c.passed for c in checks if c.gate] == [True, True]
    assert checks[0].value == 0.09

    slow = [{"first_dwell_rel_diff": 0.12, "period_rel_diff": 0.0}]
    missing = [{"first_dwell_rel_diff": None, "period_rel_diff": 0.0}]
    far = {"rate": 0.7, "nengo": 0.75, "nengo-loihi": 0.6}
    for means, fc, failed in ((slow, fcs, 0), (missing, fcs, 0), (good, far, 1)):
        checks = verify_studies.study_checks(_study_result(means, fc), Check, 0.1, 0.1)
        assert not checks[failed].passed


def test_load_sweeps_reads_and_rejects(tmp_path):
    records = run_cases(
        [Case("rate", n_units=64, n_patterns=3, duration=0.6)], progress=False
    )
    studies.write_report("timing", records, tmp_path)
    (sweep,) = verify_studies.load_sweeps([tmp_path / "timing.json"])
    assert sweep["study"] == "timing"
    assert sweep["records"][0]["seed"] == 0
    figures = verify_studies.study_figures(None, [sweep])
    assert len(figures) == 1

    other = tmp_path / "other.json"
    other.write_text(json.dumps({"model": "x"}))
    with pytest.raises(ValidationError, match="not a 'glia sweep' result"):
        verify_studies.load_sweeps([other])
    with pytest.raises(ValidationError, match="cannot read"):
        verify_studies.load_sweeps([tmp_path / "missing.json"])


@pytest.mark.slow  # six Lava runs and the emulator: about 40 s on 2 shared cores
def test_verify_report_shows_studies(tmp_path):
    from glia_neuromorphic.models.astro_sequence import verify

    records = run_cases(
        [Case("rate", n_units=64, n_patterns=3, duration=0.6)], progress=False
    )
    studies.write_report("timing", records, tmp_path / "sweep")
    result = verify(
        target="loihi2",
        backend="lava",
        steps=600,
        out=tmp_path / "out",
        studies=TINY,
        sweep_json=[tmp_path / "sweep" / "timing.json"],
    )
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    names = [c["name"] for c in report["checks"]]
    assert any(n.startswith("timing study") for n in names)
    assert any(n.startswith("atrophy study: critical fraction, fixed") for n in names)
    assert report["studies"]["fixed_backend"] == "emulator"
    assert {r["backend"] for r in report["studies"]["timing"]["records"]} == {
        "rate",
        "lava-float",
        "emulator",
    }
    assert report["sweeps"][0]["study"] == "timing"
    assert report["wall_time_s"]["timing_study"] > 0
    html = (tmp_path / "out" / "report.html").read_text()
    # three run figures, timing and atrophy studies, one embedded sweep
    assert html.count("data:image/png;base64,") == 6
    assert "Timing study" in html
    assert "Atrophy study" in html
    assert result.passed


def test_cli_rejects_unknown_studies_size(tmp_path, capsys):
    from glia_neuromorphic.cli import main

    with pytest.raises(SystemExit) as exc:
        main(
            [
                "verify",
                "astro-sequence",
                "--studies",
                "huge",
                "--out",
                str(tmp_path),
            ]
        )
    assert exc.value.code != 0
    assert "'huge'" in capsys.readouterr().err


def test_study_cases_copies_and_fractions():
    cases = studies.study_cases(
        "atrophy",
        ["rate", "nengo"],
        64,
        1,
        memories="digits",
        astro_copies=4,
        fractions=[0.0, 0.7],
    )
    assert sorted({c.atrophy for c in cases}) == [0.0, 0.7]
    assert {c.astro_copies for c in cases if c.backend == "nengo"} == {4}
    assert {c.astro_copies for c in cases if c.backend == "rate"} == {1}
    with pytest.raises(ValidationError, match="atrophy study only"):
        studies.study_cases("timing", ["rate"], 64, 1, fractions=[0.5])
    with pytest.raises(ValidationError, match="astro_copies is 0"):
        studies.study_cases("timing", ["nengo"], 64, 1, astro_copies=0)


def test_scale_study_takes_chain_lengths():
    cases = studies.study_cases("scale", ["rate"], 128, 1, patterns=[8, 4, 64])
    random_cases = [c for c in cases if c.memories == "random"]
    # P = 64 is above N / 4 at N = 64 and 128, so it is left out
    assert sorted({(c.n_units, c.n_patterns) for c in random_cases}) == [
        (64, 4),
        (64, 8),
        (128, 4),
        (128, 8),
    ]
    assert {c.memories for c in cases} == {"random", "digits"}
    largest = studies.study_cases("scale", ["rate"], 1000, 1, patterns=[4])
    assert sorted({c.n_units for c in largest}) == [64, 128, 256, 512, 1000]
    with pytest.raises(ValidationError, match="scale study only"):
        studies.study_cases("timing", ["rate"], 64, 1, patterns=[4])
    with pytest.raises(ValidationError, match=r"\[1\]"):
        studies.study_cases("scale", ["rate"], 64, 1, patterns=[1, 4])
