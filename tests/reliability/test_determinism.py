"""Same seed, same result: across runs and across separate Python processes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]

#: Compile a Lava model with stochastic rounding and run a small program on
#: Lava's bit-accurate fixed-point models; print the hashes of both results.
SCRIPT = """
import hashlib
import json
import sys

import numpy as np

sys.path.insert(0, {fidelity!r})
import tiny_lif

from glia_neuromorphic.compiler import compile_model, load_model_object

_, model = load_model_object({model!r}, seed=7)
result = compile_model(model, "loihi2", seed=7, rounding="stochastic")
program = tiny_lif.make_program("loihi2", steps=40, chain=True)
run = tiny_lif.run_lava(program, 40, seed=7)
spikes = np.ascontiguousarray(run["lif.spikes"], dtype=np.int8)
print(json.dumps({{
    "program": result.program.content_hash(),
    "spikes": hashlib.sha256(spikes.tobytes()).hexdigest(),
    "n_spikes": int(spikes.sum()),
}}))
"""


def run_in_subprocesses(n: int) -> list[dict]:
    code = SCRIPT.format(
        fidelity=str(REPO / "tests" / "fidelity"),
        model=str(REPO / "tests" / "compile_models" / "small_lava.py"),
    )
    procs = []
    for index in range(n):
        # different hash seeds: nothing may depend on set or dict-of-str order
        env = dict(os.environ, PYTHONHASHSEED=str(index + 1))
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", code],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.mark.slow  # two processes that import Lava and run it: about a minute
def test_same_seed_same_results_across_processes():
    first, second = run_in_subprocesses(2)
    assert first["n_spikes"] > 0  # a silent network would make the check empty
    assert first["program"] == second["program"]
    assert first["spikes"] == second["spikes"]


def test_stochastic_rounding_depends_on_seed(small_lava):
    from glia_neuromorphic.compiler import compile_model, load_model_object

    _, model = load_model_object(str(small_lava), seed=7)
    hashes = {
        seed: compile_model(
            model, "loihi2", seed=seed, rounding="stochastic"
        ).program.content_hash()
        for seed in (7, 7, 8)
    }
    again = compile_model(model, "loihi2", seed=7, rounding="stochastic")
    assert again.program.content_hash() == hashes[7]
    assert hashes[7] != hashes[8]


#: Quantize random weights with stochastic rounding and save the program; print
#: the SHA-256 of the file. Needs neither Lava nor Nengo, so it starts quickly.
QUANTIZE_SCRIPT = """
import hashlib
import sys

import numpy as np

from glia_neuromorphic.hwconfig import load_chip
from glia_neuromorphic.program import ChipProgram, CompartmentGroup, SynapseGroup
from glia_neuromorphic.quantize import quantize_weights

rng = np.random.default_rng(11)
weights = rng.normal(0.0, 40.0, (20, 30))
q = quantize_weights(
    weights, load_chip("loihi2"), rounding="stochastic", rng=np.random.default_rng(11)
)
program = ChipProgram(metadata={"seed": 11})
program.add(CompartmentGroup("pre", n=30))
program.add(CompartmentGroup("post", n=20))
program.add(SynapseGroup("w", pre="pre", post="post", weights=q.mantissa,
                         weight_exp=q.exp))
path = program.save(sys.argv[1])
print(hashlib.sha256(path.read_bytes()).hexdigest())
"""


def test_saved_program_identical_across_processes(tmp_path):
    digests = []
    for index in range(2):
        env = dict(os.environ, PYTHONHASHSEED=str(index + 1))
        done = subprocess.run(
            [sys.executable, "-c", QUANTIZE_SCRIPT, str(tmp_path / f"p{index}")],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        digests.append(done.stdout.strip())
    assert digests[0] == digests[1]


def test_emulator_repeats_and_matches_lava(small_lava):
    """A stochastically rounded program: two emulator runs and Lava agree."""
    from glia_neuromorphic.backends.lava import run_lava
    from glia_neuromorphic.compiler import compile_model, load_model_object
    from glia_neuromorphic.emulator import emulate

    _, model = load_model_object(str(small_lava), seed=7)
    program = compile_model(model, "loihi2", seed=7, rounding="stochastic").program
    for group in ("hidden", "output"):
        program.probe(group, "spikes")
        program.probe(group, "v")
    steps = 40
    first = emulate(program, steps, "loihi2", seed=7)
    second = emulate(program, steps, "loihi2", seed=7)
    lava = run_lava(program, steps, "loihi2", seed=7)
    assert int(first["hidden.spikes"].sum()) > 0  # silence would prove nothing
    for key in first.data:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)
        np.testing.assert_array_equal(first[key], lava[key], err_msg=key)
