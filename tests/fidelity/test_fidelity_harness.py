"""verify_case: checks on runners and cases, golden handling, without Lava."""

import dataclasses

import numpy as np
import pytest
import tiny_lif

from glia_neuromorphic.errors import ConfigError, ValidationError
from glia_neuromorphic.fidelity import FidelityCase, verify_case
from glia_neuromorphic.runs import RunResult

STEPS = 40


def _fixed_from_float(program, steps, seed, silence=None):
    """Return the float run relabelled as a fixed-point run (optionally broken)."""
    run = tiny_lif.run_float(program, steps, seed)
    data = {k: v.copy() for k, v in run.data.items()}
    if silence is not None:
        data["lif.spikes"][:, silence] = 0
    return dataclasses.replace(run, data=data, backend="emulator", target="loihi2")


def _case(fixed=None, **kw):
    program = tiny_lif.make_program(steps=STEPS)

    def reference(*, steps, seed, target, backend):
        return tiny_lif.run_float(program, steps, seed)

    def default_fixed(*, steps, seed, target, backend):
        return _fixed_from_float(program, steps, seed)

    runners = {"float": reference, "fixed": fixed or default_fixed}
    options = {"steps": STEPS, "program": program, **kw}
    return FidelityCase(tiny_lif.signature(), runners, **options)


def test_verify_case_passes_matching_runs():
    verdict = verify_case(_case(), target="loihi2", backend="emulator")
    assert verdict.passed
    assert set(verdict.runs) == {"float", "fixed"}
    assert verdict.golden is None
    assert verdict.report_json is None


def test_case_needs_runner_for_every_gate_level():
    program = tiny_lif.make_program(steps=STEPS)
    with pytest.raises(ValidationError, match=r"runners for levels \['fixed'\]"):
        FidelityCase(
            tiny_lif.signature(),
            {"float": lambda **kw: tiny_lif.run_float(program, STEPS)},
            steps=STEPS,
        )


@pytest.mark.parametrize(
    ("result", "match"),
    [
        (lambda run: run.data, "expected a RunResult"),
        (lambda run: dataclasses.replace(run, seed=7), "recorded seed 7"),
        (
            lambda run: RunResult(
                {k: v[:-1] for k, v in run.data.items()}, run.dt, "emulator", "loihi2"
            ),
            "has 39 steps, 40 were requested",
        ),
    ],
)
def test_verify_case_rejects_bad_runner_output(result, match):
    program = tiny_lif.make_program(steps=STEPS)

    def fixed(*, steps, seed, target, backend):
        return result(_fixed_from_float(program, steps, seed))

    with pytest.raises(ValidationError, match=match):
        verify_case(_case(fixed), target="loihi2", backend="emulator")


def test_verify_case_unknown_target_fails_before_running():
    calls = []

    def fixed(**kw):
        calls.append(kw)
        raise AssertionError("must not run")

    with pytest.raises(ConfigError, match="unknown target 'loihi9'"):
        verify_case(_case(fixed), target="loihi9", backend="emulator")
    assert calls == []


def test_verify_case_golden_needs_program_hash(tmp_path):
    case = _case(program=None)
    with pytest.raises(ValidationError, match="program's hash"):
        verify_case(
            case,
            target="loihi2",
            backend="emulator",
            golden_dir=tmp_path,
            update_golden=True,
        )


def test_verify_case_uses_program_hash_from_run_metadata(tmp_path):
    program = tiny_lif.make_program(steps=STEPS)

    def fixed(*, steps, seed, target, backend):
        run = _fixed_from_float(program, steps, seed)
        run.metadata["program_hash"] = program.content_hash()
        return run

    case = _case(fixed, program=None)
    options = {"target": "loihi2", "backend": "emulator", "golden_dir": tmp_path}
    assert verify_case(case, update_golden=True, **options).passed
    verdict = verify_case(case, **options)
    assert verdict.golden.identical
    assert verdict.golden.changed_inputs == []


def test_verify_case_failed_gates_do_not_update_golden(tmp_path):
    program = tiny_lif.make_program(steps=STEPS)

    def broken(*, steps, seed, target, backend):
        return _fixed_from_float(program, steps, seed, silence=2)

    verdict = verify_case(
        _case(broken),
        target="loihi2",
        backend="emulator",
        golden_dir=tmp_path,
        update_golden=True,
    )
    assert not verdict.passed
    assert verdict.golden is None
    assert list(tmp_path.iterdir()) == []


def test_verify_case_golden_mismatch_fails_verdict(tmp_path):
    options = {"target": "loihi2", "backend": "emulator", "golden_dir": tmp_path}
    assert verify_case(_case(), update_golden=True, **options).passed
    program = tiny_lif.make_program(steps=STEPS)

    def shifted(*, steps, seed, target, backend):
        run = _fixed_from_float(program, steps, seed)
        run.data["lif.v"][10, 1] += 1
        return run

    verdict = verify_case(_case(shifted), **options)
    # the gates still pass, the bit-exact golden check does not
    assert verdict.judgement.passed
    assert not verdict.passed
    assert verdict.golden.divergence.step == 11
    assert verdict.golden.divergence.index == 1
    assert verdict.golden.divergence.probe == "lif.v"
    assert np.isclose(
        verdict.golden.divergence.value_b - verdict.golden.divergence.value_a, 1
    )
