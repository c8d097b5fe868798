"""`glia verify`: the backend chosen when --backend is left out."""

import types

import pytest

from glia_neuromorphic import models
from glia_neuromorphic.cli import main
from glia_neuromorphic.hwconfig import default_backend


def _recording_model(calls):
    def verify(**options):
        calls.append(options)
        return types.SimpleNamespace(passed=True)

    return types.SimpleNamespace(verify=verify)


def _exit_code(argv):
    try:
        main(argv)
    except SystemExit as exc:
        return exc.code
    return 0


@pytest.mark.parametrize(
    ("target", "backend"),
    [
        ("loihi1", "nengo-loihi"),
        ("nahuku32", "nengo-loihi"),
        ("kapoho_bay", "nengo-loihi"),
        ("loihi2", "lava"),
        ("oheo_gulch", "lava"),
    ],
)
def test_verify_default_backend_is_target_reference(
    tmp_path, monkeypatch, target, backend
):
    calls = []
    monkeypatch.setattr(models, "load_model", lambda name: _recording_model(calls))
    assert _exit_code(["verify", "m", "--target", target, "--out", str(tmp_path)]) == 0
    assert calls[0]["backend"] == backend


def test_verify_explicit_backend_is_kept(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(models, "load_model", lambda name: _recording_model(calls))
    argv = ["verify", "m", "--target", "loihi1", "--backend", "emulator"]
    assert _exit_code([*argv, "--out", str(tmp_path)]) == 0
    assert calls[0]["backend"] == "emulator"


def test_default_backend_reads_reference_of_chip():
    assert default_backend("kapoho_point") == "lava"
    assert default_backend("kapoho_bay") == "nengo-loihi"


def test_verify_help_documents_default_backend(capsys, monkeypatch):
    # wide enough that the option help is printed on one line
    monkeypatch.setenv("COLUMNS", "400")
    _exit_code(["verify", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "default: the reference of the target's chip" in text
