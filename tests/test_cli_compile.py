"""`glia compile`: outputs, printed tables and one clear error per bad input."""

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from glia_neuromorphic.cli import main
from glia_neuromorphic.compiler import compile_model, load_model_object
from glia_neuromorphic.program import ChipProgram

MODELS = Path(__file__).parent / "compile_models"


def run(argv, capsys):
    """Run the CLI; return (exit code, stdout, stderr)."""
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def write_model(tmp_path, body):
    path = tmp_path / "model.py"
    path.write_text(body)
    return str(path)


@pytest.mark.parametrize("target", ["loihi1", "loihi2"])
def test_compile_lava_model_writes_outputs(tmp_path, capsys, target):
    model = str(MODELS / "small_lava.py")
    code, out, _ = run(
        ["compile", model, "--target", target, "--out", str(tmp_path), "--seed", "4"],
        capsys,
    )
    assert code == 0
    assert f"Quantization ({target}" in out
    assert f"Resources on {target}" in out
    assert f"compiled small_lava for {target}: 5 groups, 2 cores on 1 chip(s)" in out
    program = ChipProgram.load(tmp_path / "program.gliaprog")
    assert program.metadata["model"] == "small_lava"
    assert program.metadata["seed"] == 4
    assert program.metadata["mapping"]["n_cores"] == 2
    quantization = json.loads((tmp_path / "quantization.json").read_text())
    assert quantization["target"] == target
    assert {p["name"] for p in quantization["params"]} >= {"input_to_hidden"}
    resources = json.loads((tmp_path / "resources.json").read_text())
    assert resources["n_cores"] == 2


def test_compile_on_board_uses_its_chips(tmp_path, capsys):
    model = str(MODELS / "small_lava.py")
    code, out, _ = run(
        ["compile", model, "--target", "kapoho_point", "--out", str(tmp_path)], capsys
    )
    assert code == 0
    resources = json.loads((tmp_path / "resources.json").read_text())
    assert resources["chips_available"] == 8
    assert resources["cores_available"] == 8 * 128


def test_compile_nengo_model(tmp_path, capsys):
    model = str(MODELS / "small_nengo.py")
    code, out, _ = run(
        [
            "compile",
            model,
            "--target",
            "loihi1",
            "--out",
            str(tmp_path),
            "--steps",
            "20",
        ],
        capsys,
    )
    assert code == 0
    program = ChipProgram.load(tmp_path / "program.gliaprog")
    assert program.metadata["frontend"] == "nengo"
    assert program.metadata["input_steps"] == 20


def test_stochastic_rounding_option(tmp_path, capsys):
    model = str(MODELS / "small_lava.py")
    argv = ["compile", model, "--target", "loihi2", "--rounding", "stochastic"]
    code, _, _ = run(argv + ["--out", str(tmp_path)], capsys)
    assert code == 0
    quantization = json.loads((tmp_path / "quantization.json").read_text())
    assert quantization["rounding"] == "stochastic"


def test_missing_model_file(tmp_path, capsys):
    missing = str(tmp_path / "nope.py")
    code, _, err = run(["compile", missing, "--target", "loihi2"], capsys)
    assert code == 3
    assert "not found" in err
    assert "nope.py" in err


def test_model_file_without_build(tmp_path, capsys):
    model = write_model(tmp_path, "x = 1\n")
    code, _, err = run(["compile", model, "--target", "loihi2"], capsys)
    assert code == 3
    assert "defines no build()" in err


def test_build_returning_unsupported_object(tmp_path, capsys):
    model = write_model(tmp_path, "def build():\n    return 42\n")
    code, _, err = run(["compile", model, "--target", "loihi2"], capsys)
    assert code == 3
    assert "unsupported object" in err
    assert "int" in err


def test_build_raising_is_one_error(tmp_path, capsys):
    body = "import nengo\n\ndef build():\n    return nengo.Ensemble(0, 1)\n"
    code, _, err = run(
        ["compile", write_model(tmp_path, body), "--target", "loihi1"], capsys
    )
    assert code == 3
    assert "build() raised ValidationError" in err
    assert "n_neurons" in err


def test_over_capacity_is_capacity_error(tmp_path, capsys):
    body = (
        "from lava.proc.lif.process import LIF\n\n"
        "def build():\n"
        "    return [LIF(shape=(1025,), du=1, dv=1, vth=10, name='big')]\n"
    )
    out_dir = tmp_path / "out"
    argv = ["compile", write_model(tmp_path, body), "--target", "loihi1"]
    code, _, err = run(argv + ["--no-split", "--out", str(out_dir)], capsys)
    assert code == 5
    assert "needs 1025 compartments, core limit 1024" in " ".join(err.split())
    assert not (out_dir / "program.gliaprog").exists()


def test_unknown_target(capsys):
    model = str(MODELS / "small_lava.py")
    code, _, err = run(["compile", model, "--target", "loihi9"], capsys)
    assert code == 2
    assert "unknown target" in err


def test_unknown_model_name(capsys):
    code, _, err = run(["compile", "no-such-model", "--target", "loihi2"], capsys)
    assert code == 3
    assert "unknown model" in err


def test_compile_registered_astro_sequence(tmp_path, capsys):
    argv = ["compile", "astro-sequence", "--target", "loihi2", "--out", str(tmp_path)]
    code, out, _ = run(argv, capsys)
    assert code == 0
    program = ChipProgram.load(tmp_path / "program.gliaprog")
    assert program.metadata["model"] == "astro-sequence"
    assert {g.kind for g in program.groups.values()} == {"lif", "astrocyte", "synapse"}


@pytest.mark.parametrize(
    "body",
    [
        "def build():\n    return []\n",
        "import nengo\n\ndef build():\n    return nengo.Network()\n",
    ],
    ids=["lava", "nengo"],
)
def test_empty_model_compiles_to_empty_program(tmp_path, capsys, body):
    out_dir = tmp_path / "out"
    argv = ["compile", write_model(tmp_path, body), "--target", "loihi1"]
    code, out, _ = run(argv + ["--out", str(out_dir)], capsys)
    assert code == 0
    program = ChipProgram.load(out_dir / "program.gliaprog")
    assert program.groups == {}
    assert program.probes == []
    resources = json.loads((out_dir / "resources.json").read_text())
    assert resources["n_cores"] == 0


def test_unknown_rounding_mode(capsys):
    model = str(MODELS / "small_lava.py")
    argv = ["compile", model, "--target", "loihi2", "--rounding", "up"]
    code, _, err = run(argv, capsys)
    assert code == 3
    assert "unknown rounding mode 'up'" in err


def test_compile_failed_write_keeps_old_outputs(tmp_path, capsys, fail_rename_to):
    model = str(MODELS / "small_lava.py")
    argv = ["compile", model, "--target", "loihi2", "--out", str(tmp_path)]
    assert run([*argv, "--seed", "4"], capsys)[0] == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    fail_rename_to("resources.json")
    code, _, err = run([*argv, "--seed", "5", "--rounding", "stochastic"], capsys)
    assert code != 0
    assert "no space left" in err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


LONG_NAME = "hidden_layer_with_a_deliberately_long_descriptive_name_0123456789"

LONG_NAME_MODEL = f"""
import numpy as np
from lava.proc.dense.process import Dense
from lava.proc.io.source import RingBuffer as SourceBuffer
from lava.proc.lif.process import LIF


def build(seed=0):
    rng = np.random.default_rng(seed)
    source = SourceBuffer(data=(rng.random((4, 20)) < 0.2).astype(float))
    hidden = LIF(shape=(8,), du=0.1, dv=0.05, vth=1.0, name="{LONG_NAME}")
    dense = Dense(weights=rng.normal(0.0, 0.8, (8, 4)), name="{LONG_NAME}_in")
    source.s_out.connect(dense.s_in)
    dense.a_out.connect(hidden.a_in)
    return [source, hidden]
"""


def _column_text(table, column):
    """Render ``table`` 80 characters wide; return one column's body text."""
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(table)
    lines = console.export_text().splitlines()
    cells = [line.split("│")[column + 1] for line in lines if line.startswith("│")]
    return "".join(cell.strip() for cell in cells)


def test_compile_tables_show_full_names(tmp_path):
    _, model = load_model_object(write_model(tmp_path, LONG_NAME_MODEL))
    result = compile_model(model, "loihi2")
    quantization = _column_text(result.quantization.table(), 0)
    assert f"{LONG_NAME}_in" in quantization
    assert f"{LONG_NAME}.vth" in quantization
    assert "…" not in quantization
    decays = _column_text(result.quantization.decay_table(), 0)
    assert f"{LONG_NAME}.du" in decays
    resources = _column_text(result.resources.table(), 2)
    assert LONG_NAME in resources
    for table in (result.quantization.table(), result.resources.table()):
        console = Console(width=80, record=True, file=io.StringIO())
        console.print(table)
        assert "…" not in console.export_text()


NON_FINITE_NENGO = """
import nengo
import numpy as np


def build():
    with nengo.Network(seed=0) as net:
        stim = nengo.Node([0.5, 0.2], label="stim")
        a = nengo.Ensemble(40, 2, label="a")
        b = nengo.Ensemble(40, 2, label="b")
        nengo.Connection(stim, a)
        {connection}
    return net
"""


@pytest.mark.parametrize(
    "connection, message",
    [
        (
            "w = np.eye(40) * 0.01; w[1, 1] = np.nan; "
            "nengo.Connection(a.neurons, b.neurons, transform=w)",
            "<Connection from <Neurons of <Ensemble 'a'>> to <Neurons of "
            "<Ensemble 'b'>>>: transform[1, 1] is nan; every value must be finite",
        ),
        (
            "w = np.ones((40, 2)); w[2, 0] = np.nan; "
            "nengo.Connection(stim, b.neurons, transform=w)",
            "<Connection from <Node 'stim'> to <Neurons of <Ensemble 'b'>>>: "
            "transform[2, 0] is nan; every value must be finite",
        ),
        (
            "nengo.Connection(a, b, transform=[[1, np.inf], [0, 1]])",
            "<Connection from <Ensemble 'a'> to <Ensemble 'b'>>: "
            "transform[0, 1] is inf; every value must be finite",
        ),
    ],
    ids=["nan-neurons", "nan-node", "inf-decoded"],
)
def test_non_finite_nengo_transform_rejected(tmp_path, capsys, connection, message):
    model = write_model(tmp_path, NON_FINITE_NENGO.format(connection=connection))
    out = tmp_path / "out"
    code, _, err = run(
        ["compile", model, "--target", "loihi1", "--out", str(out)], capsys
    )
    assert code == 3
    assert f"error: {message}" in " ".join(err.split())
    assert not out.exists()


def test_reports_are_strict_json():
    from glia_neuromorphic.fileutil import strict_json

    text = strict_json({"float_min": float("nan"), "x": [1.0, float("inf")]})
    assert json.loads(text) == {"float_min": None, "x": [1.0, None]}


def test_compile_contracting_rnn(tmp_path, capsys, monkeypatch):
    import functools

    from glia_neuromorphic.models import contracting_rnn

    # the seeded untrained assembly: same export path, no training time
    untrained = functools.partial(contracting_rnn.build, trained=False)
    monkeypatch.setattr(contracting_rnn, "build", untrained)
    out = tmp_path / "out"
    argv = ["compile", "contracting-rnn", "--target", "loihi2", "--out", str(out)]
    code, stdout, err = run(argv, capsys)
    assert code == 0, err
    text = " ".join(stdout.split())
    assert "compiled contracting-rnn for loihi2: 3 groups, 1 cores" in text
    assert "contraction certificate holds on the integer weights: margin 0.1" in text
    assert "before quantization, 0.09109 on the integer weights" in text
    program = ChipProgram.load(out / "program.gliaprog")
    assert program.metadata["model"] == "contracting-rnn"
    assert program.metadata["certificate"]["holds"] is True
    certificate = json.loads((out / "certificate.json").read_text())
    assert certificate["holds"] is True
    assert certificate["margin_quantized"] < certificate["margin_float"]
    quantization = json.loads((out / "quantization.json").read_text())
    assert [p["name"] for p in quantization["params"]] == ["recurrent", "neurons.vth"]


def test_contracting_rnn_broken_certificate_says_what_to_do():
    from glia_neuromorphic.models.contracting_rnn.build import certificate_lines

    certificate = {
        "holds": False,
        "margin_float": 0.1,
        "margin_quantized": -0.02,
        "euler_quantized": {"bound": 1.001, "contracting": False},
    }
    (line,) = certificate_lines(certificate)
    assert line.startswith(
        "warning: quantization breaks the contraction certificate: margin 0.1 "
        "before quantization, -0.02 on the integer weights"
    )
    assert "smaller spectral radius (max_norm)" in line
    assert "more weight bits" in line
