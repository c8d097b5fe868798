"""CLI options and commands that must fail with one clear error, writing nothing."""

import pytest

from glia_neuromorphic.cli import main


def run(argv, capsys):
    """Run the CLI; return (exit code, stdout, stderr with lines joined)."""
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, " ".join(out.err.split())


def test_contracting_rnn_has_no_sweep(tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = run(["sweep", "contracting-rnn", "--out", str(out)], capsys)
    assert code == 3
    assert (
        "error: contracting-rnn has no sweep; models with sweeps: astro-sequence" in err
    )
    assert not out.exists()


@pytest.mark.parametrize(
    "option, message",
    [
        (["--seeds", "0"], "--seeds is 0; it must be >= 1"),
        (["--workers", "-1"], "--workers is -1; it must be >= 1 (omit it to use"),
        (["--workers", "0"], "--workers is 0; it must be >= 1 (omit it to use"),
    ],
)
def test_bad_sweep_option(tmp_path, capsys, option, message):
    out = tmp_path / "out"
    code, _, err = run(["sweep", "astro-sequence", *option, "--out", str(out)], capsys)
    assert code == 3
    assert f"error: {message}" in err
    assert not out.exists()


def test_sweep_out_is_a_file(tmp_path, capsys):
    out = tmp_path / "file"
    out.write_text("keep")
    code, _, err = run(["sweep", "astro-sequence", "--out", str(out)], capsys)
    assert code == 3
    assert "error: --out is" in err
    assert "is a file; give a directory path" in err
    assert out.read_text() == "keep"


def test_sweep_help_lists_every_backend(capsys):
    code, out, _ = run(["sweep", "--help"], capsys)
    assert code == 0
    assert "emulator" in " ".join(out.split())


def test_report_with_missing_keys(tmp_path, capsys):
    (tmp_path / "report.json").write_text(
        '{"schema": "glia-fidelity-report", "schema_version": 1}'
    )
    code, _, err = run(["report", str(tmp_path)], capsys)
    assert code == 6
    assert "lacks the key 'created' (missing: created, model, passed," in err
    assert not (tmp_path / "report.html").exists()


def test_report_with_missing_nested_key(tmp_path, capsys):
    import json

    report = {
        "schema": "glia-fidelity-report",
        "schema_version": 1,
        "created": "2026-01-01T00:00:00+00:00",
        "model": "m",
        "passed": True,
        "target": "loihi2",
        "backend": "lava",
        "seed": 0,
        "steps": 5,
        "dt": 0.001,
        "metrics": [{"name": "x"}],
        "runs": {},
    }
    (tmp_path / "report.json").write_text(json.dumps(report))
    code, _, err = run(["report", str(tmp_path)], capsys)
    assert code == 6
    assert "is damaged: it lacks the key" in err


def test_failed_verify_exits_with_fidelity_code(tmp_path, capsys, monkeypatch):
    import types

    from glia_neuromorphic import models
    from glia_neuromorphic.errors import FidelityError

    failing = types.SimpleNamespace(
        verify=lambda **options: types.SimpleNamespace(passed=False)
    )
    monkeypatch.setattr(models, "load_model", lambda name: failing)
    code, _, _ = run(["verify", "m", "--out", str(tmp_path)], capsys)
    assert code == FidelityError.exit_code == 10


def test_root_help_lists_debug(capsys):
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    assert "--debug" in out


@pytest.mark.parametrize(
    "steps, nearest", [("500", "use 480 or 640"), ("100", "use 160")]
)
def test_contracting_rnn_steps_per_digit(tmp_path, capsys, steps, nearest):
    out = tmp_path / "out"
    argv = ["verify", "contracting-rnn", "--steps", steps, "--out", str(out)]
    code, _, err = run(argv, capsys)
    assert code == 3
    assert (
        f"error: --steps is {steps}; for contracting-rnn it counts the spiking "
        "steps per digit, a multiple of 160 (8 sequence items of 20 rate-model "
        f"steps); {nearest}"
    ) in err
    assert not out.exists()


def test_contracting_rnn_steps_set_time_scale():
    from glia_neuromorphic.models.contracting_rnn.verification import (
        TIME_SCALE,
        steps_unit,
        time_scale_of_steps,
    )

    unit, items = steps_unit()
    assert (unit, items) == (160, 8)
    assert time_scale_of_steps(640) == 4 == TIME_SCALE
    assert time_scale_of_steps(160) == 1


def _contracting_rnn_numbers():
    import numpy as np

    from glia_neuromorphic.contraction import fit_decay_rate

    distance = 10.0 * np.exp(-0.05 * np.arange(400)) + 1e-3
    cert = {"margin": 0.1, "contracting": True, "bound": 0.99}
    return {
        "model": "contracting-rnn",
        "target": {"target": "loihi2", "assumed": []},
        "backend": "emulator",
        "seed": 3,
        "test_digits": 2,
        "certificate": cert,
        "certificate_quantized": cert,
        "euler_certificate": cert,
        "quantization": {
            "euler_quantized": cert,
            "feedback_residual_float": 0.0,
            "feedback_residual_quantized": 1e-3,
            "weight_bits": 8,
        },
        "spiking": {"steps_per_digit": 640},
        "accuracy": {"float_rate_model": 0.9, "float_spiking": 0.9, "fixed_spiking": 1},
        "wall_seconds": {"float_spiking": 1.0, "fixed_point": 1.0, "convergence": 1},
        "convergence": {
            "rate": distance,
            "fixed": distance,
            "rate_fit": fit_decay_rate(distance),
            "fixed_fit": fit_decay_rate(distance),
        },
        "certified_rate_per_step": 0.005,
        "certified_rate_quantized_per_step": 0.005,
        "checks": {"certificate float": True},
        "passed": True,
        "seconds": 2.0,
    }


def test_glia_report_renders_contracting_rnn_report(tmp_path, capsys):
    import json

    from glia_neuromorphic.models.contracting_rnn import report as files

    files.write_reports(_contracting_rnn_numbers(), tmp_path, "fixed point")
    report = json.loads((tmp_path / "report.json").read_text())
    assert (report["schema"], report["schema_version"]) == (
        "glia-contracting-rnn-report",
        1,
    )
    first = (tmp_path / "report.html").read_text()
    (tmp_path / "report.html").unlink()
    code, out, _ = run(["report", str(tmp_path)], capsys)
    assert code == 0
    assert "report.html" in out
    assert (tmp_path / "report.html").read_text() == first

    (tmp_path / "convergence.png").unlink()
    code, _, err = run(["report", str(tmp_path)], capsys)
    assert code == 6
    assert "convergence.png' not found; report.html embeds it" in err

    report["schema_version"] = 2
    (tmp_path / "report.json").write_text(json.dumps(report))
    code, _, err = run(["report", str(tmp_path)], capsys)
    assert code == 6
    assert "has schema version 2, this toolchain reads version 1" in err
