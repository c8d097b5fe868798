"""pytest plugin: verify a model's fixed-point fidelity from a user's own test suite.

Installed as the ``glia`` entry point of ``pytest11``, so it loads in every
project that has glia_neuromorphic installed. A test marks the model it
verifies and calls the ``glia_verify`` fixture::

    @pytest.mark.fidelity(build=my_model.build, golden=True)
    def test_my_model(glia_verify):
        verdict = glia_verify()
        assert verdict.judgement.results[0].value > 0.99

Command-line options: ``--glia-target`` and ``--glia-backend`` choose where
the fixed-point run is made, ``--glia-update-golden`` records golden files
instead of comparing with them, ``--glia-golden DIR`` sets their directory and
``--glia-report-dir DIR`` writes a report per test.
"""

from __future__ import annotations

import importlib
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from glia_neuromorphic.fidelity.harness import FidelityCase, Verdict

# The toolchain (numpy, matplotlib, rich) is imported inside the fixture, so
# the plugin costs nothing in sessions that do not verify a model.

MARKER = "fidelity"
DEFAULT_TARGET = "loihi2"
MARKER_HELP = (
    f"{MARKER}(build=None, targets=None, backends=None, steps=None, seed=0, "
    "golden=False): verify a model with the glia_verify fixture; build is a "
    "callable returning a FidelityCase (or 'module:function'); the test is "
    "skipped when --glia-target or --glia-backend is not in targets/backends"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the --glia-* options and their ini defaults."""
    group = parser.getgroup("glia", "glia_neuromorphic fidelity")
    group.addoption(
        "--glia-target",
        default=None,
        help=f"hw_configs target of fixed-point runs (default {DEFAULT_TARGET}).",
    )
    group.addoption(
        "--glia-backend",
        default=None,
        help="Backend of fixed-point runs (default: the reference of the "
        "target's chip, nengo-loihi for Loihi 1 and lava for Loihi 2).",
    )
    group.addoption(
        "--glia-update-golden",
        action="store_true",
        default=False,
        help="Record golden files from this run instead of comparing with them.",
    )
    group.addoption(
        "--glia-golden",
        default=None,
        metavar="DIR",
        help="Directory of golden files (default: 'golden' beside each test file).",
    )
    group.addoption(
        "--glia-report-dir",
        default=None,
        metavar="DIR",
        help="Write report.json and report.html per test into DIR/<test name>.",
    )
    parser.addini("glia_target", "Default --glia-target.", default=DEFAULT_TARGET)
    parser.addini("glia_backend", "Default --glia-backend.", default="")
    parser.addini("glia_golden_dir", "Default --glia-golden, relative to rootdir.")


def pytest_configure(config: pytest.Config) -> None:
    """Declare the fidelity marker."""
    config.addinivalue_line("markers", MARKER_HELP)


def _option(config: pytest.Config, name: str) -> str:
    value = config.getoption(f"--glia-{name}")
    if value is None:
        value = config.getini(f"glia_{name}")
    if name == "backend" and not value:
        from glia_neuromorphic.hwconfig import default_backend

        value = default_backend(_option(config, "target"))
    return value


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Skip marked tests whose targets or backends exclude the selected ones."""
    for item in items:
        marker = item.get_closest_marker(MARKER)
        if marker is None:
            continue
        for name in ("target", "backend"):
            allowed = marker.kwargs.get(f"{name}s")
            chosen = _option(config, name)
            if allowed is not None and chosen not in allowed:
                reason = f"model runs on {name}s {list(allowed)}, not {chosen!r}"
                item.add_marker(pytest.mark.skip(reason=reason))
                break


@pytest.fixture
def glia_target(request: pytest.FixtureRequest) -> str:
    """Return the target selected with --glia-target (or the ini default)."""
    return _option(request.config, "target")


@pytest.fixture
def glia_backend(request: pytest.FixtureRequest) -> str:
    """Return the backend selected with --glia-backend (or the ini default)."""
    return _option(request.config, "backend")


@pytest.fixture
def glia_verify(
    request: pytest.FixtureRequest, glia_target: str, glia_backend: str
) -> Callable[..., Verdict]:
    """Return a function that verifies a model and fails the test when it fails.

    Call it as ``glia_verify(build=None, *, steps=None, seed=None,
    golden=None)``; arguments left out come from the test's ``fidelity``
    marker. It returns the :class:`Verdict` when every gate passed and the
    golden file (if checked) matched; otherwise the test fails with the
    results table.
    """
    marker = request.node.get_closest_marker(MARKER)
    defaults = dict(marker.kwargs) if marker is not None else {}

    def verify(build: Any = None, **overrides: Any) -> Verdict:
        from rich.console import Console

        from glia_neuromorphic.errors import GliaError
        from glia_neuromorphic.fidelity.harness import verify_case

        options = {**defaults, **overrides}
        case = _load_case(build if build is not None else options.get("build"))
        golden_dir = None
        if options.get("golden", False):
            golden_dir = _golden_dir(request)
        out = _report_dir(request)
        buffer = io.StringIO()
        console = Console(file=buffer, width=120, color_system=None)
        try:
            verdict = verify_case(
                case,
                target=glia_target,
                backend=glia_backend,
                steps=options.get("steps"),
                seed=options.get("seed", 0) or 0,
                out=out,
                console=console,
                golden_dir=golden_dir,
                update_golden=request.config.getoption("--glia-update-golden"),
            )
        except GliaError as exc:
            pytest.fail(f"{type(exc).__name__}: {exc}", pytrace=False)
        if not verdict.passed:
            pytest.fail(
                f"fidelity check of {case.signature.name!r} failed on "
                f"{glia_backend}/{glia_target}:\n{buffer.getvalue()}",
                pytrace=False,
            )
        return verdict

    return verify


def _load_case(build: Any) -> FidelityCase:
    from glia_neuromorphic.fidelity.harness import FidelityCase

    if build is None:
        raise pytest.UsageError(
            "glia_verify: no model given; pass build= to the fixture or to "
            "@pytest.mark.fidelity(build=...)"
        )
    if isinstance(build, str):
        module_name, _, attr = build.partition(":")
        build = getattr(importlib.import_module(module_name), attr or "build")
    if not isinstance(build, FidelityCase) and hasattr(build, "build"):
        build = build.build
    case = build() if callable(build) else build
    if not isinstance(case, FidelityCase):
        raise pytest.UsageError(
            f"glia_verify: build returned {type(case).__name__}, expected a "
            "FidelityCase"
        )
    return case


def _golden_dir(request: pytest.FixtureRequest) -> Path:
    config = request.config
    chosen = config.getoption("--glia-golden") or config.getini("glia_golden_dir")
    if chosen:
        path = Path(chosen)
        return path if path.is_absolute() else Path(config.rootpath) / path
    return Path(request.node.path).parent / "golden"


def _report_dir(request: pytest.FixtureRequest) -> Path | None:
    base = request.config.getoption("--glia-report-dir")
    if not base:
        return None
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
    return Path(base) / name
