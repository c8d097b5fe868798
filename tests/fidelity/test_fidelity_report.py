"""Reports (JSON schema, HTML, rebuild, atomic writes), progress bar and CLI."""

import base64
import io
import json
import os
import re
import time

import numpy as np
import pytest
import tiny_lif
from rich.console import Console

from glia_neuromorphic import cli
from glia_neuromorphic.errors import ProgramFileError
from glia_neuromorphic.fidelity import Signature, Tolerance, judge, report
from glia_neuromorphic.fidelity.progress import DelayedProgress
from glia_neuromorphic.models import MODELS
from glia_neuromorphic.runs import RunResult

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _runs():
    program = tiny_lif.make_program(steps=40)
    reference = tiny_lif.run_float(program, 40)
    # a fixed-point stand-in: the float run with one neuron silenced
    fixed_data = {k: v.copy() for k, v in reference.data.items()}
    fixed_data["lif.spikes"][:, 3] = 0
    fixed = RunResult(fixed_data, reference.dt, "emulator", "loihi2", seed=0)
    return {"float": reference, "fixed": fixed}


def _report(quantization=None):
    runs = _runs()
    judgement = judge(tiny_lif.signature(), runs)
    return report.build_report(
        "tiny-lif",
        judgement,
        runs,
        target="loihi2",
        backend="emulator",
        seed=0,
        steps=40,
        program_hash="abc123",
        quantization=quantization,
    )


def _images(page):
    return [
        base64.b64decode(m) for m in re.findall(r"data:image/png;base64,([^\"]+)", page)
    ]


def test_report_json_schema_fields(tmp_path):
    data = _report(quantization={"in.weights": np.array([0.01, 0.002, 0.0])})
    json_path, html_path = report.write_report(tmp_path, data)
    loaded = json.loads(json_path.read_text())
    assert loaded["schema"] == "glia-fidelity-report"
    assert loaded["schema_version"] == report.SCHEMA_VERSION
    assert loaded["passed"] is False
    for key in ("model", "target", "backend", "seed", "steps", "dt", "versions"):
        assert key in loaded
    first = loaded["metrics"][0]
    assert first["metric"] == "spike_count_agreement"
    assert first["status"] == "FAIL"
    assert first["per_index"][3] == 0.0
    raster = loaded["traces"]["raster"]
    assert raster["probe"] == "lif.spikes"
    assert set(raster["levels"]) == {"float", "fixed"}
    assert loaded["quantization"][0]["name"] == "in.weights"
    assert loaded["runs"]["fixed"]["input_latency"] == 1


def test_report_html_embeds_every_figure(tmp_path):
    data = _report(quantization={"in.weights": [0.01, 0.002, 0.0]})
    _, html_path = report.write_report(tmp_path, data)
    page = html_path.read_text()
    images = _images(page)
    # raster, values, metric bars, quantization histogram
    assert len(images) == 4
    assert all(image.startswith(PNG_MAGIC) for image in images)
    assert "FAILED" in page
    assert "<script" not in page
    assert "http" not in page.replace("http-equiv", "")


def test_report_rebuilt_from_json_alone(tmp_path):
    report.write_report(tmp_path, _report())
    (tmp_path / "report.html").unlink()
    path = report.rebuild_html(tmp_path)
    assert len(_images(path.read_text())) == 3


def test_report_nan_value_written_as_null(tmp_path):
    data = _report()
    data["metrics"][0]["value"] = float("nan")
    json_path, _ = report.write_report(tmp_path, data)
    # strict JSON: no NaN token
    loaded = json.loads(json_path.read_text(), parse_constant=pytest.fail)
    assert loaded["metrics"][0]["value"] is None


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "not valid JSON"),
        ('{"schema": "other"}', "not a glia fidelity report"),
        ('{"schema": "glia-fidelity-report", "schema_version": 7}', "schema version 7"),
    ],
)
def test_load_report_rejects_bad_files(tmp_path, content, match):
    (tmp_path / "report.json").write_text(content)
    with pytest.raises(ProgramFileError, match=match):
        report.load_report(tmp_path)


def test_load_report_missing_file(tmp_path):
    with pytest.raises(ProgramFileError, match="not found"):
        report.load_report(tmp_path / "nowhere")


def test_report_interrupted_write_leaves_old_files(tmp_path, monkeypatch):
    report.write_report(tmp_path, _report())
    before = (tmp_path / "report.json").read_bytes()

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    data = _report()
    data["seed"] = 99
    with pytest.raises(KeyboardInterrupt):
        report.write_report(tmp_path, data)
    assert (tmp_path / "report.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.json"]


def test_report_failed_html_write_keeps_old_pair(tmp_path, fail_rename_to):
    report.write_report(tmp_path, _report())
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    fail_rename_to("report.html")
    data = _report()
    data["seed"] = 99
    with pytest.raises(OSError, match="no space"):
        report.write_report(tmp_path, data)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before


def test_report_failed_html_write_leaves_no_json(tmp_path, fail_rename_to):
    fail_rename_to("report.html")
    with pytest.raises(OSError, match="no space"):
        report.write_report(tmp_path / "out", _report())
    assert list((tmp_path / "out").iterdir()) == []


def test_progress_hidden_on_non_terminal():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False)
    with DelayedProgress(console, 2, "runs", delay=0.0) as bar:
        time.sleep(0.05)
        bar.advance(2)
    assert buffer.getvalue() == ""


def test_progress_shown_after_delay_on_terminal():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=80)
    with DelayedProgress(console, 4, "float run", delay=0.01) as bar:
        time.sleep(0.3)
        bar.advance(1)
        time.sleep(0.2)
    assert "float run" in buffer.getvalue()


def test_progress_not_shown_for_short_run():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=80)
    with DelayedProgress(console, 1, "quick", delay=5.0) as bar:
        bar.advance(1)
    assert "quick" not in buffer.getvalue()


def _cli(argv):
    """Run the CLI in-process and return its exit code (0 when it returns)."""
    try:
        cli.main(argv)
    except SystemExit as exc:
        return exc.code
    return 0


def test_cli_report_rebuilds_html(tmp_path, capsys):
    report.write_report(tmp_path, _report())
    (tmp_path / "report.html").unlink()
    cli.main(["report", str(tmp_path)])
    assert (tmp_path / "report.html").is_file()
    assert "report.html" in capsys.readouterr().out


def test_cli_report_missing_json_exits_with_file_error(tmp_path, capsys):
    assert _cli(["report", str(tmp_path)]) == ProgramFileError.exit_code
    assert "not found" in " ".join(capsys.readouterr().err.split())


def test_cli_verify_golden_options(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(MODELS, "tiny-lif", "tiny_lif")
    golden_dir, out = tmp_path / "golden", tmp_path / "out"
    common = ["verify", "tiny-lif", "--out", str(out), "--golden", str(golden_dir)]
    # no golden file yet: a file error that names the option to record one
    assert _cli(common) == ProgramFileError.exit_code
    assert "--update-golden" in " ".join(capsys.readouterr().err.split())

    assert _cli([*common, "--update-golden"]) == 0
    assert _cli(common) == 0
    assert "identical to golden file" in " ".join(capsys.readouterr().out.split())
    assert (out / "report.html").is_file()

    # the tiny model's input does not depend on the seed: same outputs, and
    # the comparison still names the changed seed
    assert _cli([*common, "--seed", "1"]) == 0
    assert "seed 0 -> 1" in " ".join(capsys.readouterr().out.split())


def test_cli_verify_failed_gate_exits_with_fidelity_code(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(MODELS, "tiny-lif", "tiny_lif")

    original_build = tiny_lif.build

    def broken_build():
        case = original_build()
        case.program.groups["in"].weights[2, 1] = 0
        return case

    monkeypatch.setattr(tiny_lif, "build", broken_build)
    golden_dir = tmp_path / "golden"
    argv = ["verify", "tiny-lif", "--out", str(tmp_path / "out")]
    assert _cli([*argv, "--golden", str(golden_dir), "--update-golden"]) == 10
    out = " ".join(capsys.readouterr().out.split())
    assert "FAILED" in out
    assert "golden file not updated" in out
    assert not golden_dir.exists()
    report_data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report_data["passed"] is False


def test_cli_update_golden_needs_directory(monkeypatch, capsys):
    monkeypatch.setitem(MODELS, "tiny-lif", "tiny_lif")
    assert _cli(["verify", "tiny-lif", "--update-golden"]) == 3
    assert "--golden DIR" in " ".join(capsys.readouterr().err.split())


def test_report_separates_cost_of_spiking(tmp_path):
    runs = _runs()
    rate_v = runs["float"].data["lif.v"] * 1.1
    runs["rate"] = RunResult({"lif.v": rate_v}, runs["float"].dt, "rate-model")
    signature = Signature(
        "tiny-lif",
        [
            Tolerance("spike_count_agreement", ">=", 0.5, probe="lif.spikes"),
            Tolerance(
                "decoded_rmse",
                "<=",
                1.0,
                probe="lif.v",
                levels=("float", "rate"),
                gate=False,
            ),
        ],
    )
    data = report.build_report(
        "tiny-lif",
        judge(signature, runs),
        runs,
        target="loihi2",
        backend="emulator",
        seed=0,
        steps=40,
    )
    page = report.render_html(data)
    main_table, cost_table = page.split("Cost of spiking")
    assert "spike_count_agreement" in main_table
    assert "decoded_rmse" not in main_table
    assert "decoded_rmse" in cost_table
    assert data["passed"] is True
