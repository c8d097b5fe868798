"""The README's plugin example runs as written, from a temporary project."""

import re
from pathlib import Path

pytest_plugins = ["pytester"]

README = Path(__file__).resolve().parents[2] / "README.md"


def _examples():
    """Return file name -> code of each ``<!-- example: NAME -->`` block."""
    text = README.read_text()
    pattern = r"<!-- example: (\S+) -->\s*```python\n(.*?)```"
    return dict(re.findall(pattern, text, flags=re.DOTALL))


def test_readme_plugin_example_runs(pytester):
    examples = _examples()
    assert set(examples) == {"my_model.py", "test_my_model.py"}
    for name, code in examples.items():
        pytester.path.joinpath(name).write_text(code)
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\naddopts = "-p no:nengo"\n')

    result = pytester.runpytest("--glia-update-golden")
    result.assert_outcomes(passed=1)
    assert (pytester.path / "golden" / "bias-lif-loihi2.golden.npz").is_file()

    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
