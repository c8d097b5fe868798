"""docs/errors.md matches the CLI: each row's exit code and message prefix."""

import json
import re
import shlex
from pathlib import Path

import pytest

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


def prepare_file(description: str, tmp_path: Path) -> Path:
    """Create the file or directory that FILE(description) stands for."""
    report = {"schema": "glia-fidelity-report", "schema_version": 1, "passed": True}
    directory = tmp_path / "report"
    if description == "missing .py":
        return tmp_path / "missing.py"
    if description == "missing directory":
        return directory
    directory.mkdir()
    path = directory / "report.json"
    if description == "report.json cut in half":
        text = json.dumps(report)
        path.write_text(text[: len(text) // 2])
    elif description == "report.json with schema_version 99":
        path.write_text(json.dumps({**report, "schema_version": 99}))
    elif description == "report.json of another schema":
        path.write_text(json.dumps({**report, "schema": "something-else"}))
    elif description == "board of chip 'loihi9'":
        board = tmp_path / "board.toml"
        board.write_text(
            'schema_version = 1\nname = "fake_board"\nkind = "board"\n'
            'description = "board naming a chip that does not exist"\n'
            'chip = "loihi9"\nchips = { value = 2, source = "assumed" }\n'
        )
        return board
    else:
        raise AssertionError(f"no preparation for FILE({description})")
    return directory


def expand(command: str, tmp_path: Path, small_lava: Path) -> tuple[list[str], Path]:
    """Return the argv for ``command`` and the directory PATH stands for."""
    argv = []
    path_base = tmp_path
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
        nonlocal path_base
        prepared = prepare_file(match.group(1), tmp_path)
        path_base = tmp_path / "report" if "report" in match.group(1) else tmp_path
        key = f"@{len(tokens)}@"
        tokens[key] = str(prepared)
        return key

    command = re.sub(r"MODEL\(([^)]*\)?)\)", model, command)
    command = re.sub(r"FILE\(([^)]*)\)", file, command)
    for token in shlex.split(command)[1:]:
        token = tokens.get(token, token)
        argv.append(str(tmp_path / "out") if token == "OUT" else token)
    return argv, path_base


def test_table_has_rows():
    assert len(ROWS) >= 25


@pytest.mark.parametrize(
    "row", ROWS, ids=[r["case"] + ": " + r["command"][:40] for r in ROWS]
)
def test_row_matches_cli(row, tmp_path, small_lava, cli, list_files):
    argv, _ = expand(row["command"], tmp_path, small_lava)
    code, _, err = cli(*argv)
    message = err.strip().replace(str(tmp_path / "report"), "PATH")
    message = message.replace(str(tmp_path), "PATH")
    # Lava numbers unnamed processes globally, so the number depends on test order
    message = re.sub(r"Process_\d+", "Process_N", message)
    assert code == row["exit"], err
    assert message.startswith("error: " + row["message"]), message
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    # a rejected input leaves no output behind
    assert list_files(tmp_path / "out") == []
