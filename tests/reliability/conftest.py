"""Helpers shared by the reliability tests: run the CLI, list output files."""

from pathlib import Path

import pytest

from glia_neuromorphic.cli import main

REPO = Path(__file__).resolve().parents[2]
SMALL_LAVA = REPO / "tests" / "compile_models" / "small_lava.py"


def run_cli(argv, capsys):
    """Run the CLI in this process; return (exit code, stdout, stderr)."""
    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def files_in(directory: Path) -> list[str]:
    """Return the names of all files under ``directory`` (hidden ones too)."""
    if not directory.exists():
        return []
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


@pytest.fixture
def list_files():
    """Return :func:`files_in`."""
    return files_in


@pytest.fixture
def small_lava():
    """Return the path of a small float Lava model file."""
    return SMALL_LAVA


@pytest.fixture
def cli(capsys):
    """Return a function that runs the CLI and returns (code, stdout, stderr)."""
    return lambda *argv: run_cli(argv, capsys)
