"""Interrupted runs: Ctrl-C or SIGKILL keeps previous outputs and a rerun works."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SMALL_LAVA = REPO / "tests" / "compile_models" / "small_lava.py"

#: A model whose build() creates a marker file and then blocks, so a signal
#: arrives while the CLI is mid-run.
BLOCKING_MODEL = """
import time
from pathlib import Path

MARKER = Path({marker!r})


def build(seed=0):
    MARKER.write_text("building")
    time.sleep(60)
"""

#: Write one output, then block between writing its temporary file and the
#: rename, which is where a kill leaves a temporary file behind.
KILLED_WRITER = """
import os
import time
from pathlib import Path

from glia_neuromorphic.program import atomic_write_bytes

marker = Path({marker!r})


def blocked_replace(src, dst):
    marker.write_text(src)
    time.sleep(60)


os.replace = blocked_replace
atomic_write_bytes(Path({target!r}), b"half of a new program")
"""


def start(args, tmp_path):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(marker: Path, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"process ended early: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("process never reached the marker")
        time.sleep(0.05)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def compile_args(model, out):
    return [
        "-m",
        "glia_neuromorphic.cli",
        "compile",
        str(model),
        "--target",
        "loihi2",
        "--out",
        str(out),
    ]


@pytest.fixture(scope="module")
def previous_outputs(tmp_path_factory):
    """Compile the small model once; return the output directory."""
    out = tmp_path_factory.mktemp("previous") / "out"
    done = subprocess.run(
        [sys.executable, *compile_args(SMALL_LAVA, out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"]
)
def test_compile_interrupt_keeps_outputs(previous_outputs, tmp_path, sig):
    out = tmp_path / "out"
    out.mkdir()
    for name, data in snapshot(previous_outputs).items():
        (out / name).write_bytes(data)
    before = snapshot(out)
    marker = tmp_path / "building"
    model = tmp_path / "blocking.py"
    model.write_text(BLOCKING_MODEL.format(marker=str(marker)))

    proc = start(compile_args(model, out), tmp_path)
    wait_for(marker, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)

    if sig == signal.SIGINT:
        assert proc.returncode == 130
        assert "interrupted" in err
        assert "Traceback" not in err
    else:
        assert proc.returncode == -signal.SIGKILL
    assert snapshot(out) == before


def test_killed_write_cleaned_by_rerun(previous_outputs, tmp_path, cli):
    out = tmp_path / "out"
    out.mkdir()
    for name, data in snapshot(previous_outputs).items():
        (out / name).write_bytes(data)
    before = snapshot(out)
    marker = tmp_path / "replacing"
    script = tmp_path / "writer.py"
    script.write_text(
        KILLED_WRITER.format(marker=str(marker), target=str(out / "program.gliaprog"))
    )

    proc = start([str(script)], tmp_path)
    wait_for(marker, proc)
    proc.kill()
    proc.communicate(timeout=30)

    temporary = Path(marker.read_text())
    assert temporary.exists()  # the kill left it, as a real one would
    assert snapshot(out) == {**before, temporary.name: temporary.read_bytes()}

    code, _, err = cli("compile", SMALL_LAVA, "--target", "loihi2", "--out", out)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == sorted(before)


def test_emulate_interrupt_keeps_outputs(tmp_path, cli):
    from glia_neuromorphic.program import ChipProgram, CompartmentGroup

    program = ChipProgram(metadata={"target": "loihi2", "dt": 0.001})
    program.add(CompartmentGroup("lif", n=4, vth=10, bias_mant=3))
    program.probe("lif", "spikes")
    path = program.save(tmp_path / "program")
    out = tmp_path / "out"
    code, _, err = cli("emulate", path, "--steps", "5", "--out", out)
    assert code == 0, err
    before = snapshot(out)

    # far more steps than can finish before the signal
    proc = start(
        [
            "-m",
            "glia_neuromorphic.cli",
            "emulate",
            str(path),
            "--steps",
            "50000000",
            "--out",
            str(out),
        ],
        tmp_path,
    )
    time.sleep(8)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert snapshot(out) == before

    code, _, err = cli("emulate", path, "--steps", "7", "--out", out)
    assert code == 0, err
    assert sorted(snapshot(out)) == sorted(before)


@pytest.mark.slow  # two astro-sequence verifications on Lava: about a minute
def test_verify_interrupt_keeps_report(tmp_path):
    out = tmp_path / "out"
    args = [
        "-m",
        "glia_neuromorphic.cli",
        "verify",
        "astro-sequence",
        "--steps",
        "60",
        "--studies",
        "none",
        "--out",
        str(out),
    ]
    first = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=300
    )
    assert first.returncode in (0, 10), first.stderr
    before = snapshot(out)
    assert "report.json" in before

    # a longer run, so the signal arrives while Lava is running
    proc = start([*args[:5], "5000", *args[6:]], tmp_path)
    time.sleep(8)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert snapshot(out) == before

    rerun = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=300
    )
    assert rerun.returncode == first.returncode, rerun.stderr
    assert sorted(snapshot(out)) == sorted(before)
