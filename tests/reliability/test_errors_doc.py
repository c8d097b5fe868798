"""docs/errors.md matches the CLI: each row's exit code and message prefix."""

import io
import json
import re
import shlex
import zipfile
from pathlib import Path

import pytest

from glia_neuromorphic.program import ChipProgram, CompartmentGroup

DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"

LAVA_HEAD = """
import numpy as np
from lava.proc.dense.process import Dense
from lava.proc.io.source import RingBuffer as SourceBuffer
from lava.proc.lif.process import LIF


def lif(**overrides):
    params = dict(shape=(3,), du=0.1, dv=0.1, vth=1.0, name="l")
    params.update(overrides)
    return LIF(**params)


def fed(weights, data=None):
    data = np.ones((weights.shape[1], 10)) if data is None else data
    source = SourceBuffer(data=data)
    target = lif(shape=(weights.shape[0],))
    dense = Dense(weights=weights, name="d")
    source.s_out.connect(dense.s_in)
    dense.a_out.connect(target.a_in)
    return [source, target]


def build(seed=0):
    return {body}
"""

#: Description in MODEL(...) -> body of build()
MODEL_BODIES = {
    "nan weight at [0, 1]": "fed(np.array([[1.0, np.nan], [1.0, 1.0], [1.0, 1.0]]))",
    "inf weight at [2, 0]": "fed(np.array([[1.0, 1.0], [1.0, 1.0], [np.inf, 1.0]]))",
    "inf bias at [1]": "[lif(bias_mant=np.array([0.0, np.inf, 0.0]))]",
    "du = nan": "[lif(du=np.nan)]",
    "dv = -0.1": "[lif(dv=-0.1)]",
    "vth = inf": "[lif(vth=np.inf)]",
    "input NaN at [1, 7]": (
        "fed(np.ones((3, 2)), "
        "np.where(np.arange(20).reshape(2, 10) == 17, np.nan, 1.0))"
    ),
    "LIF of shape (0,)": "[lif(shape=(0,))]",
    "vth = -1": "[lif(vth=-1.0)]",
    "weight 1e6 at [2, 3] among weights of 1": (
        "fed(np.where(np.arange(16).reshape(4, 4) == 11, 1e6, 1.0))"
    ),
    "5000 inputs to one LIF": "fed(np.ones((1, 5000)) * 0.01)",
}


def parse_rows() -> list[dict[str, str]]:
    """Return the rows of the "Bad inputs" table."""
    text = DOC.read_text().split("## Bad inputs", 1)[1]
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[1].startswith("`glia "):
            continue
        rows.append(
            {
                "case": cells[0],
                "command": cells[1].strip("`"),
                "exit": int(cells[2]),
                "message": cells[3].strip("`"),
            }
        )
    return rows


ROWS = parse_rows()


def small_program() -> ChipProgram:
    program = ChipProgram(metadata={"target": "loihi2", "dt": 0.001})
    program.add(CompartmentGroup("lif", n=2, vth=[10, 20]))
    program.probe("lif", "spikes")
    return program


def prepare_file(description: str, base: Path) -> Path:
    """Create, under ``base``, what FILE(description) stands for; return its path."""
    report = {"schema": "glia-fidelity-report", "schema_version": 1, "passed": True}
    base.mkdir(exist_ok=True)
    json_path = base / "report.json"
    if description == "missing .py":
        return base / "missing.py"
    if description == "missing directory":
        return base / "nothing"
    if description == "missing program":
        return base / "missing.gliaprog"
    if description == "report.json cut in half":
        text = json.dumps(report)
        json_path.write_text(text[: len(text) // 2])
        return base
    if description == "report.json with schema_version 99":
        json_path.write_text(json.dumps({**report, "schema_version": 99}))
        return base
    if description == "report.json of another schema":
        json_path.write_text(json.dumps({**report, "schema": "something-else"}))
        return base
    if description == "board of chip 'loihi9'":
        board = base / "board.toml"
        board.write_text(
            'schema_version = 1\nname = "fake_board"\nkind = "board"\n'
            'description = "board naming a chip that does not exist"\n'
            'chip = "loihi9"\nchips = { value = 2, source = "assumed" }\n'
        )
        return board
    path = small_program().save(base / "program.gliaprog")
    data = bytearray(path.read_bytes())
    if description == "program":
        pass
    elif description == "program cut in half":
        data = data[: len(data) // 2]
    elif description == "program with one byte changed":
        data[len(data) // 3] ^= 0x10
    elif description == "program of format version 3":
        with zipfile.ZipFile(path) as zf:
            members = {name: zf.read(name) for name in zf.namelist()}
        manifest = json.loads(members["manifest.json"])
        manifest["format_version"] = 3
        members["manifest.json"] = json.dumps(manifest).encode()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            for name, member in members.items():
                zf.writestr(name, member)
        data = buffer.getvalue()
    else:
        raise AssertionError(f"no preparation for FILE({description})")
    path.write_bytes(bytes(data))
    return path


def expand(command: str, tmp_path: Path, small_lava: Path) -> list[str]:
    """Return the argv for ``command``."""
    argv = []
    # placeholders may hold spaces, so replace them before splitting
    tokens = {}

    def model(match):
        description = match.group(1)
        if description == "small":
            value = str(small_lava)
        else:
            file = tmp_path / f"model_{len(tokens)}.py"
            body = MODEL_BODIES[description]
            file.write_text(LAVA_HEAD.replace("{body}", body))
            value = str(file)
        key = f"@{len(tokens)}@"
        tokens[key] = value
        return key

    def file(match):
        prepared = prepare_file(match.group(1), tmp_path / "files")
        key = f"@{len(tokens)}@"
        tokens[key] = str(prepared)
        return key

    command = re.sub(r"MODEL\(([^)]*\)?)\)", model, command)
    command = re.sub(r"FILE\(([^)]*)\)", file, command)
    for token in shlex.split(command)[1:]:
        token = tokens.get(token, token)
        argv.append(str(tmp_path / "out") if token == "OUT" else token)
    return argv


def test_table_has_rows():
    assert len(ROWS) >= 25


@pytest.mark.parametrize(
    "row", ROWS, ids=[r["case"] + ": " + r["command"][:40] for r in ROWS]
)
def test_row_matches_cli(row, tmp_path, small_lava, cli, list_files):
    argv = expand(row["command"], tmp_path, small_lava)
    code, _, err = cli(*argv)
    message = err.strip().replace(str(tmp_path / "files"), "PATH")
    # Lava numbers unnamed processes globally, so the number depends on test order
    message = re.sub(r"Process_\d+", "Process_N", message)
    assert code == row["exit"], err
    assert message.startswith("error: " + row["message"]), message
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    # a rejected input leaves no output behind
    assert list_files(tmp_path / "out") == []
