"""The pytest plugin, used from a temporary user project through pytester."""

import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = textwrap.dedent(
    """
    import pytest

    import user_model


    def broken_build():
        case = user_model.build()
        # neuron 2 gets input only through this weight
        case.program.groups["in"].weights[2, 1] = 0
        return case


    @pytest.mark.fidelity(build="user_model:build", golden=True)
    def test_model_passes(glia_verify):
        verdict = glia_verify()
        assert verdict.judgement.results[0].value > 0.95
        assert verdict.golden is not None


    @pytest.mark.fidelity(build=broken_build)
    def test_broken_quantization(glia_verify):
        glia_verify()


    @pytest.mark.fidelity(build=user_model.build, targets=["loihi1"])
    def test_loihi1_only(glia_verify):
        glia_verify()


    def test_selected_target_and_backend(glia_target, glia_backend):
        assert (glia_target, glia_backend) == ("loihi2", "lava")
    """
)


@pytest.fixture
def project(pytester):
    """Return a user project with the tiny model and tests using the plugin."""
    source = Path(__file__).with_name("tiny_lif.py").read_text()
    pytester.makepyfile(user_model=source, test_user=USER_TESTS)
    pytester.makepyprojecttoml(
        """
        [tool.pytest.ini_options]
        addopts = "-p no:nengo"
        """
    )
    return pytester


def test_plugin_options_are_registered(project):
    result = project.runpytest("--help")
    result.stdout.fnmatch_lines(
        ["*--glia-target=GLIA_TARGET*", "*--glia-update-golden*", "*--glia-golden=DIR*"]
    )


def test_plugin_records_then_checks_golden(project):
    golden_dir = project.path / "golden"
    result = project.runpytest("--glia-update-golden", "-rs")
    result.assert_outcomes(passed=2, failed=1, skipped=1)
    assert (golden_dir / "tiny-lif-loihi2.golden.npz").is_file()
    # the broken model fails with the results table naming the metric
    result.stdout.fnmatch_lines(
        [
            "*fidelity check of 'tiny-lif' failed on lava/loihi2*",
            "*spike_count_agreement*FAIL*",
        ]
    )
    result.stdout.fnmatch_lines(["SKIPPED*test_user.py*targets*loihi1*not 'loihi2'"])

    # second run compares with the recorded file and writes a report
    result = project.runpytest("-k", "passes", "--glia-report-dir", "reports")
    result.assert_outcomes(passed=1, deselected=3)
    reports = list((project.path / "reports").glob("*/report.html"))
    assert len(reports) == 1
    assert "test_model_passes" in reports[0].parent.name


def test_plugin_missing_golden_fails_with_hint(project):
    result = project.runpytest("-k", "passes")
    result.assert_outcomes(failed=1, deselected=3)
    result.stdout.fnmatch_lines(["*ProgramFileError*--glia-update-golden*"])


def test_plugin_backend_option_reaches_model(project):
    result = project.runpytest(
        "--glia-backend", "emulator", "-k", "passes", "--glia-update-golden"
    )
    result.assert_outcomes(failed=1, deselected=3)
    result.stdout.fnmatch_lines(["*BackendError*not 'emulator' on 'loihi2'*"])


def test_plugin_target_option_selects_marked_tests(project):
    result = project.runpytest("--glia-target", "loihi1", "-k", "loihi1 or selected")
    # the loihi1-only test now runs on the Loihi 1 reference (and its runner
    # rejects it); the fixture test receives the selected target
    result.assert_outcomes(failed=2, deselected=2)
    result.stdout.fnmatch_lines(["*BackendError*'nengo-loihi' on 'loihi1'*"])
