"""Golden files: a fixed-point run stored with what produced it, compared bit for bit.

A golden file is one ``.npz`` archive (zip, deflate-compressed) written
atomically. Member ``manifest`` contains JSON bytes: the format name and version,
the chip program's content hash, the library versions, the seed, target,
backend, number of steps, and per probe its shape, dtype, encoding and the
SHA-256 of the decoded array. Spike rasters are stored with ``np.packbits``
along the neuron axis (a spike raster is 0/1, so this is exact); every other
probe is stored as its own array.

When a later run differs, :func:`compare` says which recorded input changed
(program hash, a library version, the seed) and where the outputs first
diverge (step, neuron, probe).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from glia_neuromorphic.errors import ProgramFileError, ValidationError
from glia_neuromorphic.fidelity import metrics
from glia_neuromorphic.fileutil import CORRUPT_FILE_ERRORS
from glia_neuromorphic.program import atomic_write_bytes
from glia_neuromorphic.runs import RunResult

FORMAT = "glia-golden"
FORMAT_VERSION = 1
SUFFIX = ".golden.npz"

#: Distributions whose versions are recorded (display name -> distribution).
LIBRARIES = {
    "numpy": "numpy",
    "nengo": "nengo",
    "nengo_loihi": "nengo-loihi",
    "lava": "lava-nc",
    "glia_neuromorphic": "glia_neuromorphic",
}


def library_versions() -> dict[str, str]:
    """Return the installed version of each library in :data:`LIBRARIES`."""
    versions = {}
    for name, dist in LIBRARIES.items():
        try:
            versions[name] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def golden_path(directory: str | Path, model: str, target: str) -> Path:
    """Return the golden file path of ``model`` on ``target`` inside ``directory``.

    The seed and backend are not part of the name: a run with another seed or
    on another bit-exact backend is compared with the same file, and the
    comparison names the input that changed.
    """
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{model}-{target}")
    return Path(directory) / f"{stem}{SUFFIX}"


@dataclasses.dataclass
class Golden:
    """A stored fixed-point run and the inputs that produced it.

    Attributes
    ----------
    data : dict of str -> ndarray
        Probe key -> ``(steps, n)`` array, as recorded.
    program_hash : str
        ``ChipProgram.content_hash()`` of the program that ran.
    versions : dict of str -> str
        Library versions at recording time (see :data:`LIBRARIES`).
    seed : int
        Seed of the run.
    target, backend : str
        Where the run was made.
    dt : float
        Step length in seconds.
    input_latency : int
        Documented input latency of the backend.
    """

    data: dict[str, np.ndarray]
    program_hash: str
    versions: dict[str, str]
    seed: int
    target: str
    backend: str
    dt: float
    input_latency: int = 1

    @classmethod
    def from_run(cls, run: RunResult, program_hash: str) -> Golden:
        """Return a golden record of ``run`` with the current library versions."""
        return cls(
            data={k: np.asarray(v) for k, v in run.data.items()},
            program_hash=program_hash,
            versions=library_versions(),
            seed=int(run.seed),
            target=str(run.target),
            backend=run.backend,
            dt=float(run.dt),
            input_latency=int(run.input_latency),
        )

    @property
    def n_steps(self) -> int:
        """Return the number of recorded steps."""
        return next((v.shape[0] for v in self.data.values()), 0)

    def to_run(self) -> RunResult:
        """Return the stored outputs as a RunResult."""
        return RunResult(
            data=dict(self.data),
            dt=self.dt,
            backend=self.backend,
            target=self.target,
            seed=self.seed,
            input_latency=self.input_latency,
            metadata={"program_hash": self.program_hash, "golden": True},
        )


def save(golden: Golden, path: str | Path) -> Path:
    """Write ``golden`` atomically to ``path`` and return the path."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    probes: dict[str, dict[str, Any]] = {}
    for index, (key, value) in enumerate(sorted(golden.data.items())):
        value = np.asarray(value)
        member = f"probe{index}"
        packed = _is_raster(key, value)
        arrays[member] = np.packbits(value != 0, axis=-1) if packed else value
        probes[key] = {
            "member": member,
            "shape": list(value.shape),
            "dtype": value.dtype.str,
            "encoding": "packbits" if packed else "raw",
            "sha256": _digest(value),
        }
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "program_hash": golden.program_hash,
        "versions": golden.versions,
        "seed": golden.seed,
        "target": golden.target,
        "backend": golden.backend,
        "dt": golden.dt,
        "input_latency": golden.input_latency,
        "steps": golden.n_steps,
        "probes": probes,
    }
    arrays["manifest"] = np.frombuffer(
        json.dumps(manifest, sort_keys=True).encode(), dtype=np.uint8
    )
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def _is_raster(key: str, value: np.ndarray) -> bool:
    # graded spikes carry payloads, so only 0/1 rasters are bit-packed
    if not key.endswith(metrics.SPIKES_SUFFIX) or value.ndim != 2:
        return False
    return bool(np.all((value == 0) | (value == 1)))


def _digest(value: np.ndarray) -> str:
    header = f"{value.dtype.str}{value.shape}".encode()
    return hashlib.sha256(header + np.ascontiguousarray(value).tobytes()).hexdigest()


def load(path: str | Path) -> Golden:
    """Read a golden file written by :func:`save`.

    Raises
    ------
    ProgramFileError
        If the file is missing, not a golden file, of another format version,
        truncated or corrupt, or if an array does not match its SHA-256.
    """
    path = Path(path)
    if not path.is_file():
        raise ProgramFileError(
            f"golden file {str(path)!r} not found; record it with "
            "--update-golden (CLI) or --glia-update-golden (pytest)"
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            manifest = json.loads(archive["manifest"].tobytes())
            _check_version(path, manifest)
            data = {
                key: _decode(archive[entry["member"]], entry)
                for key, entry in manifest["probes"].items()
            }
    except ProgramFileError:
        raise
    except CORRUPT_FILE_ERRORS as exc:
        raise ProgramFileError(
            f"golden file {str(path)!r} is corrupt or truncated ({exc}); record it "
            "again with --update-golden"
        ) from exc
    for key, entry in manifest["probes"].items():
        if _digest(data[key]) != entry["sha256"]:
            raise ProgramFileError(
                f"golden file {str(path)!r}: probe {key!r} does not match its "
                "recorded SHA-256 (the file was modified); record it again with "
                "--update-golden"
            )
    return Golden(
        data=data,
        program_hash=manifest["program_hash"],
        versions=manifest["versions"],
        seed=manifest["seed"],
        target=manifest["target"],
        backend=manifest["backend"],
        dt=manifest["dt"],
        input_latency=manifest["input_latency"],
    )


def _check_version(path: Path, manifest: Any) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise ProgramFileError(
            f"{str(path)!r} is not a glia golden file (format {found!r})"
        )
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        hint = "upgrade glia_neuromorphic" if newer else "record it again"
        raise ProgramFileError(
            f"golden file {str(path)!r} has format version {version!r}, this "
            f"toolchain reads version {FORMAT_VERSION}; {hint}"
        )


def _decode(stored: np.ndarray, entry: dict[str, Any]) -> np.ndarray:
    shape = tuple(entry["shape"])
    dtype = np.dtype(entry["dtype"])
    if entry["encoding"] == "packbits":
        bits = np.unpackbits(stored, axis=-1, count=shape[-1])
        return bits.astype(dtype).reshape(shape)
    if entry["encoding"] != "raw":
        raise ValueError(f"unknown encoding {entry['encoding']!r}")
    return stored.astype(dtype, copy=False).reshape(shape)


@dataclasses.dataclass
class GoldenComparison:
    """The outcome of comparing a run with its golden file.

    Attributes
    ----------
    identical : bool
        True if every stored probe matches bit for bit over all stored steps
        (changed inputs alone do not make a run differ).
    changed_inputs : list of str
        Inputs that differ from the recording (program hash, a library
        version, seed, target, backend), one sentence each.
    divergence : Divergence or None
        Where the outputs first differ (step, neuron, probe).
    missing_probes : list of str
        Stored probes the new run did not record.
    path : str
        The golden file.
    """

    identical: bool
    changed_inputs: list[str]
    divergence: metrics.Divergence | None
    missing_probes: list[str]
    path: str
    steps_compared: int = 0

    def describe(self) -> str:
        """Return a short explanation: identical, or what changed and where."""
        if self.identical:
            text = f"identical to golden file {self.path} ({self.steps_compared} steps)"
            if self.changed_inputs:
                # same outputs from changed inputs: worth knowing, not a failure
                text += "; outputs unchanged although inputs changed: " + "; ".join(
                    self.changed_inputs
                )
            return text
        parts = [f"differs from golden file {self.path}"]
        if self.divergence is not None:
            parts.append(self.divergence.describe(("golden", "run")))
        if self.missing_probes:
            parts.append(f"probes not recorded by the run: {self.missing_probes}")
        if self.changed_inputs:
            parts.append("changed inputs: " + "; ".join(self.changed_inputs))
        else:
            parts.append(
                "no recorded input changed (same program, libraries and seed), so "
                "the backend is not deterministic or has changed behaviour"
            )
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        out = dataclasses.asdict(self)
        out["description"] = self.describe()
        return out


def changed_inputs(golden: Golden, run: RunResult, program_hash: str) -> list[str]:
    """Return one sentence per input that differs between ``golden`` and ``run``."""
    changes = []
    if golden.program_hash != program_hash:
        changes.append(
            f"program hash {golden.program_hash[:12]} -> {program_hash[:12]} "
            "(the chip program changed: parameters, quantization or probes)"
        )
    now = library_versions()
    for name in sorted(set(golden.versions) | set(now)):
        old, new = golden.versions.get(name, "absent"), now.get(name, "absent")
        if old != new:
            changes.append(f"{name} version {old} -> {new}")
    if golden.seed != int(run.seed):
        changes.append(f"seed {golden.seed} -> {run.seed}")
    if golden.target != str(run.target):
        changes.append(f"target {golden.target} -> {run.target}")
    if golden.backend != run.backend:
        changes.append(f"backend {golden.backend} -> {run.backend}")
    if not np.isclose(golden.dt, run.dt, rtol=1e-12, atol=0):
        changes.append(f"dt {golden.dt} -> {run.dt} s")
    return changes


def compare(
    golden: Golden, run: RunResult, program_hash: str, path: str | Path = ""
) -> GoldenComparison:
    """Compare ``run`` with ``golden`` bit for bit and explain any difference.

    Both are aligned by their documented input latencies first; a run that is
    shorter or longer than the recording counts as a difference.
    """
    changes = changed_inputs(golden, run, program_hash)
    missing = sorted(set(golden.data) - set(run.data))
    recorded = golden.to_run()
    shared = {k: v for k, v in run.data.items() if k in golden.data}
    divergence = None
    steps = 0
    if shared:
        subset = dataclasses.replace(run, data=shared)
        aligned = metrics.align(recorded, subset, labels=("golden", "run"))
        steps = aligned.n_steps
        divergence = metrics.first_divergence(
            aligned.a, aligned.b, step_offset=aligned.offset_a
        )
    length_differs = run.n_steps != golden.n_steps
    if length_differs:
        changes.append(f"steps {golden.n_steps} -> {run.n_steps}")
    identical = divergence is None and not missing and not length_differs
    if not shared and golden.data:
        identical = False
    return GoldenComparison(identical, changes, divergence, missing, str(path), steps)


def check_or_update(
    run: RunResult,
    program_hash: str,
    directory: str | Path,
    model: str,
    update: bool = False,
) -> GoldenComparison:
    """Compare ``run`` with the golden file of ``model``, or record it.

    With ``update`` the run is written as the new golden file and the returned
    comparison is identical by construction.

    Raises
    ------
    ProgramFileError
        If no golden file exists (and ``update`` is False) or it is corrupt.
    ValidationError
        If ``run`` has no target (golden files store fixed-point runs only).
    """
    if not run.target:
        raise ValidationError(
            f"run from {run.backend!r} has no target; golden files store "
            "fixed-point runs, which always name their target"
        )
    path = golden_path(directory, model, run.target)
    if update:
        save(Golden.from_run(run, program_hash), path)
        return GoldenComparison(True, [], None, [], str(path), run.n_steps)
    return compare(load(path), run, program_hash, path)
