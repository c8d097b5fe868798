"""Compile a model: front end, quantization report, overflow check and mapping."""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import logging
import tempfile
from pathlib import Path
from typing import Any

from glia_neuromorphic.checks import check_dt, check_seed, check_steps
from glia_neuromorphic.errors import GliaError, ValidationError
from glia_neuromorphic.fileset import write_file_set
from glia_neuromorphic.fileutil import strict_json
from glia_neuromorphic.hwconfig import Target, load_target
from glia_neuromorphic.mapping import Mapping, ResourceReport, map_program
from glia_neuromorphic.program import ChipProgram
from glia_neuromorphic.quantize import QuantizationReport, check_overflow

logger = logging.getLogger(__name__)

#: File names ``write_outputs`` uses inside the output directory.
PROGRAM_FILE = "program.gliaprog"
QUANTIZATION_FILE = "quantization.json"
RESOURCES_FILE = "resources.json"


@dataclasses.dataclass
class CompileResult:
    """A compiled program with its quantization and resource reports.

    ``reports`` contains a model's own JSON reports (name -> JSON-ready dict,
    written as ``<name>.json``) and ``notes`` the lines to print.
    """

    program: ChipProgram
    quantization: QuantizationReport
    mapping: Mapping
    resources: ResourceReport
    reports: dict[str, Any] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class PrebuiltProgram:
    """A model quantized by its own code: a chip program with its reports.

    A registered model whose ``build()`` quantizes itself (contracting-rnn)
    returns this instead of a Nengo network or Lava graph; compiling it
    checks overflow and maps it like any other program. ``reports`` and
    ``notes`` are carried into the :class:`CompileResult`.
    """

    program: ChipProgram
    quantization: QuantizationReport
    reports: dict[str, Any] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)


def _is_lava_process(obj: Any) -> bool:
    try:
        from lava.magma.core.process.process import AbstractProcess
    except ImportError:  # pragma: no cover - lava is a dependency
        return False
    return isinstance(obj, AbstractProcess)


def frontend_of(model: Any) -> str:
    """Return ``"nengo"`` or ``"lava"`` for a model object, or raise.

    A Lava model is one process or a list/tuple of processes (an empty list
    is an empty graph).
    """
    import nengo

    if isinstance(model, PrebuiltProgram):
        return "program"
    if isinstance(model, nengo.Network):
        return "nengo"
    if _is_lava_process(model):
        return "lava"
    if isinstance(model, list | tuple) and all(_is_lava_process(p) for p in model):
        return "lava"
    raise ValidationError(
        f"model object of type {type(model).__name__} is not supported; pass a "
        "nengo.Network, a Lava process, a list of Lava processes or a "
        "PrebuiltProgram"
    )


def to_program(
    model: Any,
    target: Target,
    *,
    seed: int | None = 0,
    rounding: str = "nearest",
    dt: float = 0.001,
    n_steps: int | None = None,
) -> tuple[ChipProgram, QuantizationReport]:
    """Run the front end that matches ``model`` and return program and report."""
    kind = frontend_of(model)
    if kind == "program":
        built_for = model.program.metadata.get("target")
        if built_for != target.chip.name and built_for != target.name:
            raise ValidationError(
                f"the prebuilt program was quantized for {built_for!r}, not for "
                f"target {target.name!r}; build it for that target"
            )
        return model.program, model.quantization
    if kind == "nengo":
        from glia_neuromorphic.frontends.nengo import from_nengo

        return from_nengo(
            model, target, dt=dt, seed=seed, rounding=rounding, n_steps=n_steps
        )
    from glia_neuromorphic.frontends.lava import from_lava

    return from_lava(
        model, target, rounding=rounding, seed=seed, dt=dt, n_steps=n_steps
    )


def compile_model(
    model: Any,
    target: str | Target,
    *,
    seed: int | None = 0,
    rounding: str = "nearest",
    split: bool = True,
    dt: float = 0.001,
    n_steps: int | None = None,
) -> CompileResult:
    """Compile a Nengo network or Lava graph for ``target``.

    The steps are: front end (with quantization), the worst-case fan-in
    overflow check (warnings, listed in the quantization report), and the
    mapping onto cores, which raises CapacityError when the network does not
    fit. The placement is stored in ``program.metadata["mapping"]``.
    """
    dt = check_dt(dt, "dt")
    n_steps = check_steps(n_steps, "n_steps")
    if seed is not None:
        check_seed(seed)
    if isinstance(target, str):
        target = load_target(target)
    program, quantization = to_program(
        model, target, seed=seed, rounding=rounding, dt=dt, n_steps=n_steps
    )
    quantization.overflow = check_overflow(program, target.chip)
    mapping = map_program(program, target, split=split)
    program.metadata["mapping"] = mapping.to_metadata()
    program.metadata["assumed"] = target.assumed
    prebuilt = model if isinstance(model, PrebuiltProgram) else None
    return CompileResult(
        program=program,
        quantization=quantization,
        mapping=mapping,
        resources=ResourceReport.from_mapping(mapping),
        reports=dict(prebuilt.reports) if prebuilt else {},
        notes=list(prebuilt.notes) if prebuilt else [],
    )


def write_outputs(result: CompileResult, out_dir: str | Path) -> dict[str, Path]:
    """Write the program and both JSON reports into ``out_dir``, all or none.

    A failure while writing any of them leaves the previous three files (or
    none) in place, so the reports always describe the program beside them.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # ChipProgram writes its sealed archive only to a file, so it is written
    # to a private directory first and its bytes join the set from there
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".compile.") as staging:
        program_bytes = result.program.save(Path(staging) / PROGRAM_FILE).read_bytes()
        paths = {
            "program": out_dir / PROGRAM_FILE,
            "quantization": out_dir / QUANTIZATION_FILE,
            "resources": out_dir / RESOURCES_FILE,
        }
        files = {
            paths["program"]: program_bytes,
            paths["quantization"]: result.quantization.to_json(),
            paths["resources"]: result.resources.to_json(),
        }
        for name, report in result.reports.items():
            paths[name] = out_dir / f"{name}.json"
            files[paths[name]] = strict_json(report, indent=1)
        write_file_set(files)
    return paths


# --- model loading ---------------------------------------------------------------


def _call_build(build: Any, where: str, options: dict[str, Any]) -> Any:
    """Call ``build`` with the options its signature accepts."""
    if not callable(build):
        raise ValidationError(f"{where}: build is not a function")
    try:
        parameters = inspect.signature(build).parameters
    except (TypeError, ValueError):
        parameters = {}  # builtins without a signature take no options
    kwargs = {k: v for k, v in options.items() if k in parameters and v is not None}
    try:
        return build(**kwargs)
    except GliaError:
        raise
    except Exception as exc:
        raise ValidationError(
            f"{where}: build() raised {type(exc).__name__}: {exc}"
        ) from exc


def _load_file(path: Path) -> Any:
    if not path.is_file():
        raise ValidationError(
            f"model file {str(path)!r} not found; pass an existing .py file or a "
            "registered model name"
        )
    spec = importlib.util.spec_from_file_location(f"glia_user_model_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ValidationError(
            f"model file {str(path)!r} cannot be imported as Python; pass a .py "
            "file that defines build()"
        )
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ValidationError(
            f"model file {str(path)!r} failed to import: {type(exc).__name__}: {exc}"
        ) from exc
    return module


def load_model_object(
    spec: str, *, seed: int | None = 0, target: str | None = None
) -> tuple[str, Any]:
    """Return ``(name, model object)`` for a registry name or a ``.py`` path.

    The module's ``build()`` is called with ``seed=`` and ``target=`` (the
    target name) when its signature accepts them, and must return a Nengo
    network, Lava processes or a :class:`PrebuiltProgram`.
    """
    from glia_neuromorphic.models import MODELS, load_model

    path = Path(spec)
    if spec.endswith(".py") or (path.exists() and spec not in MODELS):
        module = _load_file(path)
        where, name = f"model file {str(path)!r}", path.stem
    else:
        try:
            module = load_model(spec)
        except ImportError as exc:
            raise ValidationError(
                f"model {spec!r} is registered but its module cannot be imported "
                f"({exc})"
            ) from exc
        where, name = f"model {spec!r}", spec
    build = getattr(module, "build", None)
    if build is None:
        raise ValidationError(
            f"{where} defines no build() function; add one that returns a "
            "nengo.Network or Lava processes"
        )
    model = _call_build(build, where, {"seed": seed, "target": target})
    try:
        frontend_of(model)
    except ValidationError as exc:
        raise ValidationError(
            f"{where}: build() returned an unsupported object; {exc}"
        ) from exc
    return name, model
