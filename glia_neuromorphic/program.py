"""The chip program: one integer description of a network that every backend runs.

A :class:`ChipProgram` holds groups of a registered *kind* (LIF compartments,
synapses, astrocytes, spike sources, bias schedules; more kinds can be added
with :func:`register_group`), the probes to record, and the float values each
integer came from, so a quantization error can be traced to its source.

It is saved as one zip file (``.gliaprog``): ``manifest.json`` (format
version, groups, their scalar fields and the SHA-256 of every array) and one
``.npy`` member per array. The zip comment holds the SHA-256 of every byte
before it, so a change anywhere in the file (zip headers and timestamps
included, which the zip CRCs do not cover) is detected. Loading checks that
digest, the format version, the zip CRCs and every array hash, so a truncated,
corrupt or tampered file is rejected.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse

from glia_neuromorphic.errors import ProgramFileError, ValidationError
from glia_neuromorphic.fileutil import CORRUPT_FILE_ERRORS

FORMAT = "glia-chip-program"
#: Version written by :meth:`ChipProgram.save`. Version 2 added the
#: compartment fields ``reset_mode``, ``u_init`` and ``v_init``.
FORMAT_VERSION = 2
#: Versions :meth:`ChipProgram.load` reads. A version 1 file has none of the
#: version 2 fields, so its groups get the defaults: reset to zero, start at 0.
READABLE_FORMAT_VERSIONS = (1, 2)
#: Voltage reset modes of a compartment group: ``zero`` sets v to 0 after a
#: spike, ``subtract`` subtracts the threshold ``vth << vth_shift`` from v.
RESET_MODES = ("zero", "subtract")
SUFFIX = ".gliaprog"
#: Prefix of the zip comment that holds the file's SHA-256 (hex).
_DIGEST_PREFIX = b"glia-sha256:"
_COMMENT_LENGTH = len(_DIGEST_PREFIX) + 64

_GROUP_KINDS: dict[str, type[Group]] = {}


def register_group(cls: type[Group]) -> type[Group]:
    """Register a group kind so programs holding it can be saved and loaded."""
    if cls.kind in _GROUP_KINDS and _GROUP_KINDS[cls.kind] is not cls:
        raise ValueError(f"group kind {cls.kind!r} is already registered")
    _GROUP_KINDS[cls.kind] = cls
    return cls


def group_kinds() -> list[str]:
    """Return the registered group kinds."""
    return sorted(_GROUP_KINDS)


@dataclasses.dataclass
class Group:
    """Base of every program group; ``name`` is unique within a program.

    Fields holding numpy arrays or scipy sparse matrices are stored as arrays,
    every other field as JSON. ``float_params`` maps a parameter name to the
    float value (scalar or array) it was quantized from.
    """

    kind: ClassVar[str] = "group"
    #: Variables a probe can record on this kind of group.
    probe_variables: ClassVar[tuple[str, ...]] = ()
    name: str

    def validate(self, program: ChipProgram) -> None:
        """Raise ValidationError if the group is inconsistent."""

    @property
    def size(self) -> int:
        """Return the number of units (compartments, astrocytes, sources)."""
        if not hasattr(self, "n"):
            raise ValidationError(f"group {self.name!r} ({self.kind}) has no size")
        return int(self.n)


def _integers(name: str, field: str, value: Any) -> np.ndarray:
    """Return ``value`` as int64, or raise naming the first non-integer entry.

    A plain ``astype`` would turn NaN or inf into an arbitrary integer.
    """
    arr = np.asarray(value)
    if np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool:
        return arr.astype(np.int64)
    try:
        floats = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"group {name!r}: {field} must hold integers, got dtype {arr.dtype}"
        ) from exc
    bad = ~np.isfinite(floats) | (floats != np.round(floats))
    if bad.any():
        first = np.unravel_index(int(np.flatnonzero(bad)[0]), floats.shape)
        where = f"[{', '.join(str(int(i)) for i in first)}]" if floats.ndim else ""
        raise ValidationError(
            f"group {name!r}: {field}{where} is {floats[first]}; it must be an "
            "integer (quantize float values before building the program)"
        )
    return floats.astype(np.int64)


def _as_int_array(name: str, field: str, value: Any, n: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim == 0:
        arr = np.full(n, arr)
    if arr.shape != (n,):
        raise ValidationError(
            f"group {name!r}: {field} has shape {arr.shape}, expected ({n},)"
        )
    return _integers(name, field, arr)


def _check_size(name: str, kind: str, n: Any) -> int:
    """Return group size ``n`` as int, or raise unless it is an integer >= 1."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise ValidationError(
            f"{kind} {name!r}: n is {n!r}; it must be an integer >= 1"
        )
    if n < 1:
        raise ValidationError(
            f"{kind} {name!r}: n is {n}; it needs at least 1 unit (remove the "
            "group instead)"
        )
    return int(n)


@register_group
@dataclasses.dataclass
class CompartmentGroup(Group):
    """LIF compartments with integer Loihi parameters, one entry per compartment.

    Attributes
    ----------
    n : int
        Number of compartments.
    decay_u, decay_v : (n,) int arrays
        Stored current and voltage decays (the chip adds its decay offsets).
    vth : (n,) int array
        Threshold mantissa; the chip compares v with ``vth << vth_shift``.
    bias_mant, bias_exp : (n,) int arrays
        Bias as ``bias_mant * 2**bias_exp``.
    refract_delay : (n,) int array
        Refractory period in steps (1 = none).
    vmin, vmax : int or None
        Voltage clip bounds of the group; None means the chip's full signed
        ``v_bits`` range. nengo-loihi sets them per block (a LIF with
        ``min_voltage=0`` has ``vmin = 0``). The voltage is clipped to them
        after the subthreshold update and before the spike test; ``vmin <= 0
        <= vmax``.
    reset_mode : {"zero", "subtract"}
        What a spike does to v: set it to 0, or subtract ``vth << vth_shift``
        (keeping the overshoot above threshold).
    u_init, v_init : (n,) int arrays or None
        Current and voltage at step 0; None means 0.
    """

    kind: ClassVar[str] = "lif"
    probe_variables: ClassVar[tuple[str, ...]] = ("spikes", "u", "v")
    n: int = 0
    decay_u: np.ndarray = None
    decay_v: np.ndarray = None
    vth: np.ndarray = None
    bias_mant: np.ndarray = None
    bias_exp: np.ndarray = None
    refract_delay: np.ndarray = None
    float_params: dict = dataclasses.field(default_factory=dict)
    vmin: int | None = None
    vmax: int | None = None
    reset_mode: str = "zero"
    u_init: np.ndarray | None = None
    v_init: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.n = _check_size(self.name, "compartment group", self.n)
        self._check_voltage_limits()
        if self.reset_mode not in RESET_MODES:
            raise ValidationError(
                f"compartment group {self.name!r}: reset_mode is "
                f"{self.reset_mode!r}; use one of {list(RESET_MODES)}"
            )
        for field in ("u_init", "v_init"):
            value = getattr(self, field)
            if value is not None:
                setattr(self, field, _as_int_array(self.name, field, value, self.n))
        defaults = {
            "decay_u": 0,
            "decay_v": 0,
            "vth": 1,
            "bias_mant": 0,
            "bias_exp": 0,
            "refract_delay": 1,
        }
        for field, default in defaults.items():
            value = getattr(self, field)
            value = default if value is None else value
            setattr(self, field, _as_int_array(self.name, field, value, self.n))

    def _check_voltage_limits(self) -> None:
        for field in ("vmin", "vmax"):
            value = getattr(self, field)
            if value is not None:
                setattr(self, field, int(_integers(self.name, field, value)))
        if self.vmin is not None and self.vmin > 0:
            raise ValidationError(
                f"compartment group {self.name!r}: vmin is {self.vmin}; it must "
                "be <= 0 so that the reset voltage 0 lies inside the clip range"
            )
        if self.vmax is not None and self.vmax < 0:
            raise ValidationError(
                f"compartment group {self.name!r}: vmax is {self.vmax}; it must "
                "be >= 0 so that the reset voltage 0 lies inside the clip range"
            )


@register_group
@dataclasses.dataclass
class SynapseGroup(Group):
    """Synapses from group ``pre`` to group ``post`` with integer weights.

    ``weights`` has shape ``(post.n, pre.n)`` (Lava's and nengo's convention),
    dense or CSR. The charge one spike adds to the post compartment's input is
    ``weights * 2**weight_exp`` before the chip's activation shift. ``delays``
    (same shape, optional) are synaptic delays in steps. ``num_message_bits``
    is 0 for binary spikes and the payload width for graded spikes.
    """

    kind: ClassVar[str] = "synapse"
    pre: str = ""
    post: str = ""
    weights: Any = None
    weight_exp: int = 0
    delays: np.ndarray | None = None
    num_message_bits: int = 0
    sign_mode: str = "mixed"
    float_weights: Any = None

    def __post_init__(self) -> None:
        if self.weights is None:
            raise ValidationError(f"synapse group {self.name!r}: weights missing")
        if not scipy.sparse.issparse(self.weights):
            self.weights = np.asarray(self.weights)
            if self.weights.ndim != 2:
                raise ValidationError(
                    f"synapse group {self.name!r}: weights must be 2-D "
                    f"(post, pre), got shape {self.weights.shape}"
                )
            self.weights = _integers(self.name, "weights", self.weights)
        else:
            self.weights = scipy.sparse.csr_matrix(self.weights)
            self._check_sparse_integers()
        if 0 in self.weights.shape:
            raise ValidationError(
                f"synapse group {self.name!r}: weights have shape "
                f"{self.weights.shape}; both sizes must be >= 1"
            )
        if self.delays is not None:
            self.delays = _integers(self.name, "delays", self.delays)
        self.weight_exp = int(_integers(self.name, "weight_exp", self.weight_exp))
        self.num_message_bits = int(
            _integers(self.name, "num_message_bits", self.num_message_bits)
        )

    def _check_sparse_integers(self) -> None:
        data = self.weights.data
        if np.issubdtype(data.dtype, np.integer):
            return
        bad = np.flatnonzero(~np.isfinite(data) | (data != np.round(data)))
        if bad.size:
            self.weights.sort_indices()
            data = self.weights.data
            bad = np.flatnonzero(~np.isfinite(data) | (data != np.round(data)))
            k = int(bad[0])
            row = int(np.searchsorted(self.weights.indptr, k, side="right") - 1)
            raise ValidationError(
                f"group {self.name!r}: weights[{row}, {self.weights.indices[k]}] is "
                f"{data[k]}; it must be an integer (quantize float values before "
                "building the program)"
            )
        self.weights = self.weights.astype(np.int64)

    @property
    def shape(self) -> tuple[int, int]:
        """Return ``(n_post, n_pre)``."""
        return tuple(self.weights.shape)

    def validate(self, program: ChipProgram) -> None:
        """Check that both ends exist and match the weight shape."""
        for end in ("pre", "post"):
            ref = getattr(self, end)
            if ref not in program.groups:
                raise ValidationError(
                    f"synapse group {self.name!r}: {end} group {ref!r} not found; "
                    f"known groups: {sorted(program.groups)}"
                )
        n_post, n_pre = self.shape
        pre_n = program.groups[self.pre].size
        post_n = program.groups[self.post].size
        if (n_post, n_pre) != (post_n, pre_n):
            raise ValidationError(
                f"synapse group {self.name!r}: weights have shape "
                f"{(n_post, n_pre)}, expected (post, pre) = {(post_n, pre_n)} "
                f"from {self.post!r} and {self.pre!r}; transpose or fix the matrix"
            )
        if self.delays is not None and np.shape(self.delays) != self.shape:
            raise ValidationError(
                f"synapse group {self.name!r}: delays have shape "
                f"{np.shape(self.delays)}, expected {self.shape}"
            )


@register_group
@dataclasses.dataclass
class AstrocyteGroup(Group):
    """Astrocytes: a slow integer calcium trace per astrocyte with graded output.

    Fixed-point update per step (the same arithmetic as the compartment
    current, with the chip's current-decay offset)::

        c <- sign(c) * ((|c| * (2**decay_bits - decay_c - offset)) >> decay_bits)
             + (a_in << act_shift)
        c is clipped to c_bits (signed)
        out = c >> out_shift          (graded spike sent every step)
    """

    kind: ClassVar[str] = "astrocyte"
    probe_variables: ClassVar[tuple[str, ...]] = ("c",)
    n: int = 0
    decay_c: int = 0
    out_shift: int = 0
    c_bits: int = 24
    float_params: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.n = _check_size(self.name, "astrocyte group", self.n)
        for field in ("decay_c", "out_shift", "c_bits"):
            value = _integers(self.name, field, getattr(self, field))
            setattr(self, field, int(value))


@register_group
@dataclasses.dataclass
class SpikeSource(Group):
    """External spikes: source ``indices[k]`` fires at step ``steps[k]`` (1-based)."""

    kind: ClassVar[str] = "spike_source"
    probe_variables: ClassVar[tuple[str, ...]] = ("spikes",)
    n: int = 0
    steps: np.ndarray = None
    indices: np.ndarray = None

    def __post_init__(self) -> None:
        self.n = _check_size(self.name, "spike source", self.n)
        self.steps = _integers(
            self.name, "steps", [] if self.steps is None else self.steps
        )
        self.indices = _integers(
            self.name, "indices", [] if self.indices is None else self.indices
        )
        if self.steps.shape != self.indices.shape:
            raise ValidationError(
                f"spike source {self.name!r}: steps and indices differ in length"
            )
        if self.steps.size and self.steps.min() < 1:
            raise ValidationError(
                f"spike source {self.name!r}: step {self.steps.min()} is before "
                "step 1 (steps count from 1); shift the spike times"
            )
        if self.indices.size and (
            self.indices.min() < 0 or self.indices.max() >= self.n
        ):
            raise ValidationError(
                f"spike source {self.name!r}: an index is outside [0, {self.n})"
            )


@register_group
@dataclasses.dataclass
class BiasSchedule(Group):
    """Piecewise-constant bias mantissas for compartment group ``target``.

    From step ``start_steps[k]`` on (1-based, inclusive) the group's
    ``bias_mant`` is ``bias_mant[k]``; before the first entry it keeps the
    group's own bias.
    """

    kind: ClassVar[str] = "bias_schedule"
    target: str = ""
    start_steps: np.ndarray = None
    bias_mant: np.ndarray = None
    float_bias: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.start_steps = _integers(self.name, "start_steps", self.start_steps)
        self.start_steps = self.start_steps.ravel()
        self.bias_mant = np.atleast_2d(
            _integers(self.name, "bias_mant", self.bias_mant)
        )
        if self.bias_mant.shape[0] != self.start_steps.size:
            raise ValidationError(
                f"bias schedule {self.name!r}: {self.start_steps.size} start steps "
                f"but {self.bias_mant.shape[0]} bias rows"
            )
        if np.any(np.diff(self.start_steps) <= 0):
            raise ValidationError(
                f"bias schedule {self.name!r}: start_steps must increase"
            )

    def validate(self, program: ChipProgram) -> None:
        """Check that the target exists and the rows match its size."""
        group = program.groups.get(self.target)
        if not isinstance(group, CompartmentGroup):
            raise ValidationError(
                f"bias schedule {self.name!r}: target {self.target!r} is not a "
                "compartment group of this program"
            )
        if self.bias_mant.shape[1] != group.n:
            raise ValidationError(
                f"bias schedule {self.name!r}: rows have {self.bias_mant.shape[1]} "
                f"entries, target {self.target!r} has {group.n} compartments"
            )


@dataclasses.dataclass(frozen=True)
class ProbeSpec:
    """A variable to record every step: ``spikes``, ``u``, ``v`` or ``c``."""

    target: str
    variable: str


@dataclasses.dataclass
class ChipProgram:
    """An integer network for one target: groups, probes and metadata.

    ``metadata`` is JSON: the target name, dt in seconds, the seed, the model
    name, the quantization settings and anything a backend must know.
    """

    groups: dict[str, Group] = dataclasses.field(default_factory=dict)
    probes: list[ProbeSpec] = dataclasses.field(default_factory=list)
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    def add(self, group: Group) -> Group:
        """Add ``group`` and return it; names must be unique."""
        if not isinstance(group, Group):
            raise ValidationError(f"{group!r} is not a program group")
        if group.name in self.groups:
            raise ValidationError(f"a group named {group.name!r} already exists")
        self.groups[group.name] = group
        return group

    def probe(self, target: str, variable: str) -> ProbeSpec:
        """Record ``variable`` of group ``target`` every step."""
        spec = ProbeSpec(target, variable)
        self.probes.append(spec)
        return spec

    def of_kind(self, cls: type[Group]) -> Iterator[Group]:
        """Yield the groups that are instances of ``cls``, in insertion order."""
        return (g for g in self.groups.values() if isinstance(g, cls))

    def validate(self) -> ChipProgram:
        """Check references, shapes and probes; return self."""
        for group in self.groups.values():
            group.validate(self)
        for spec in self.probes:
            if spec.target not in self.groups:
                raise ValidationError(
                    f"probe on {spec.target!r}: group not found; known groups: "
                    f"{sorted(self.groups)}"
                )
            group = self.groups[spec.target]
            if spec.variable not in group.probe_variables:
                allowed = list(group.probe_variables)
                hint = f"use one of {allowed}" if allowed else "probe its post group"
                raise ValidationError(
                    f"probe '{spec.target}.{spec.variable}': a {group.kind} group "
                    f"records no {spec.variable!r}; {hint}"
                )
        return self

    # --- serialization ---------------------------------------------------

    def _entries(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        manifest_groups = []
        arrays: dict[str, np.ndarray] = {}
        for group in self.groups.values():
            fields: dict[str, Any] = {}
            for field in dataclasses.fields(group):
                if field.name == "name":
                    continue
                value = getattr(group, field.name)
                key = f"{group.name}/{field.name}"
                fields[field.name] = _encode(value, key, arrays)
            manifest_groups.append(
                {"name": group.name, "kind": group.kind, "fields": fields}
            )
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "groups": manifest_groups,
            "probes": [dataclasses.asdict(p) for p in self.probes],
            "metadata": self.metadata,
            "array_sha256": {
                k: hashlib.sha256(_array_bytes(v)).hexdigest()
                for k, v in sorted(arrays.items())
            },
        }
        return manifest, arrays

    def content_hash(self) -> str:
        """Return a SHA-256 over the program's groups, probes and arrays.

        Metadata that does not change what runs (creation time, library
        versions) is left out so equal programs hash equal.
        """
        manifest, _ = self._entries()
        manifest = dict(manifest)
        meta = {k: v for k, v in manifest.pop("metadata").items() if k != "created"}
        manifest["metadata"] = meta
        text = json.dumps(manifest, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def save(self, path: str | Path) -> Path:
        """Write the program atomically to ``path`` (suffix ``.gliaprog`` added)."""
        self.validate()
        path = Path(path)
        if path.suffix != SUFFIX:
            path = path.with_name(path.name + SUFFIX)
        manifest, arrays = self._entries()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            manifest_text = json.dumps(manifest, indent=1, default=str)
            zf.writestr(_member("manifest.json"), manifest_text)
            for key, arr in sorted(arrays.items()):
                out = io.BytesIO()
                np.lib.format.write_array(out, arr, allow_pickle=False)
                zf.writestr(_member(f"arrays/{key}.npy"), out.getvalue())
        atomic_write_bytes(path, _seal(buffer.getvalue()))
        return path

    @classmethod
    def load(cls, path: str | Path) -> ChipProgram:
        """Read a program written by :meth:`save`, checking version and hashes."""
        path = Path(path)
        if path.is_dir():
            raise ProgramFileError(
                f"chip program {str(path)!r} is a directory; pass the .gliaprog "
                "file inside it (glia compile writes DIR/program.gliaprog)"
            )
        if not path.is_file():
            raise ProgramFileError(
                f"chip program {str(path)!r} not found; create it with "
                "`glia compile MODEL --out DIR`"
            )
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ProgramFileError(
                f"chip program {str(path)!r} cannot be read ({exc}); check its "
                "permissions or recompile it"
            ) from exc
        damaged = _seal_problem(path, data)
        if damaged is not None:
            # a readable manifest of another version explains the mismatch
            # better (a newer format may seal differently); otherwise the
            # digest message stands
            _check_version_if_readable(path, data)
            raise ProgramFileError(damaged)
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                manifest = json.loads(zf.read("manifest.json"))
                _check_version(path, manifest)
                arrays = {}
                for key in manifest["array_sha256"]:
                    raw = io.BytesIO(zf.read(f"arrays/{key}.npy"))
                    arrays[key] = np.lib.format.read_array(raw, allow_pickle=False)
        except ProgramFileError:
            raise
        except CORRUPT_FILE_ERRORS as exc:
            raise ProgramFileError(
                f"chip program {str(path)!r} is corrupt or truncated ({exc}); "
                "recompile it"
            ) from exc
        for key, digest in manifest["array_sha256"].items():
            if hashlib.sha256(_array_bytes(arrays[key])).hexdigest() != digest:
                raise ProgramFileError(
                    f"chip program {str(path)!r}: array {key!r} does not match its "
                    "recorded SHA-256 (the file was modified); recompile it"
                )
        try:
            return cls._from_manifest(manifest, arrays)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ProgramFileError(
                f"chip program {str(path)!r}: malformed manifest ({exc}); recompile it"
            ) from exc

    @classmethod
    def _from_manifest(cls, manifest: dict, arrays: dict) -> ChipProgram:
        program = cls(metadata=manifest.get("metadata", {}))
        for entry in manifest["groups"]:
            kind = entry["kind"]
            if kind not in _GROUP_KINDS:
                raise ProgramFileError(
                    f"group {entry['name']!r} has kind {kind!r}, which this "
                    f"toolchain does not know (known: {group_kinds()}); upgrade "
                    "glia_neuromorphic"
                )
            fields = {k: _decode(v, arrays) for k, v in entry["fields"].items()}
            program.add(_GROUP_KINDS[kind](name=entry["name"], **fields))
        program.probes = [ProbeSpec(**p) for p in manifest["probes"]]
        return program.validate()


def _member(name: str) -> zipfile.ZipInfo:
    """Return a zip entry with a fixed timestamp, so equal programs save equal."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _seal(data: bytes) -> bytes:
    """Return zip ``data`` (without comment) with its SHA-256 as the zip comment.

    The digest covers every byte up to the comment-length field of the
    end-of-central-directory record, which is the last field before the comment.
    """
    body = data[:-2]
    comment = _DIGEST_PREFIX + hashlib.sha256(body).hexdigest().encode()
    return body + len(comment).to_bytes(2, "little") + comment


def _seal_problem(path: Path, data: bytes) -> str | None:
    """Return why ``data`` lacks a matching digest comment, or None if it has one."""
    comment = data[-_COMMENT_LENGTH:]
    length = data[-_COMMENT_LENGTH - 2 : -_COMMENT_LENGTH]
    if (
        len(data) < _COMMENT_LENGTH + 22
        or length != _COMMENT_LENGTH.to_bytes(2, "little")
        or not comment.startswith(_DIGEST_PREFIX)
    ):
        return (
            f"chip program {str(path)!r} is corrupt or truncated (no SHA-256 file "
            "digest at its end); recompile it"
        )
    digest = hashlib.sha256(data[: -_COMMENT_LENGTH - 2]).hexdigest().encode()
    if comment[len(_DIGEST_PREFIX) :] != digest:
        return (
            f"chip program {str(path)!r} does not match its recorded SHA-256 (the "
            "file was modified or damaged); recompile it"
        )
    return None


def _check_version_if_readable(path: Path, data: bytes) -> None:
    """Run :func:`_check_version` on the manifest, if it can be read at all."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            manifest = json.loads(zf.read("manifest.json"))
    except Exception:  # noqa: BLE001 - only a better message is lost; the caller raises
        return
    if isinstance(manifest, dict):
        _check_version(path, manifest)


def _check_version(path: Path, manifest: dict) -> None:
    if manifest.get("format") != FORMAT:
        raise ProgramFileError(
            f"{str(path)!r} is not a glia chip program (format "
            f"{manifest.get('format')!r})"
        )
    version = manifest.get("format_version")
    if version not in READABLE_FORMAT_VERSIONS:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        hint = "upgrade glia_neuromorphic" if newer else "recompile the model"
        raise ProgramFileError(
            f"chip program {str(path)!r} has format version {version!r}, this "
            f"toolchain reads versions {list(READABLE_FORMAT_VERSIONS)}; {hint}"
        )


def _array_bytes(arr: np.ndarray) -> bytes:
    header = f"{arr.dtype.str}{arr.shape}".encode()
    return header + np.ascontiguousarray(arr).tobytes()


def _encode(value: Any, key: str, arrays: dict[str, np.ndarray]) -> Any:
    """Turn a field value into JSON, moving arrays into ``arrays``."""
    if isinstance(value, np.ndarray):
        arrays[key] = value
        return {"__array__": key}
    if scipy.sparse.issparse(value):
        csr = scipy.sparse.csr_matrix(value)
        for part in ("data", "indices", "indptr"):
            arrays[f"{key}.{part}"] = getattr(csr, part)
        return {"__csr__": key, "shape": list(csr.shape)}
    if isinstance(value, dict):
        return {str(k): _encode(v, f"{key}.{k}", arrays) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _decode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, dict):
        if "__array__" in value:
            return arrays[value["__array__"]]
        if "__csr__" in value:
            key = value["__csr__"]
            parts = [arrays[f"{key}.{p}"] for p in ("data", "indices", "indptr")]
            return scipy.sparse.csr_matrix(tuple(parts), shape=tuple(value["shape"]))
        return {k: _decode(v, arrays) for k, v in value.items()}
    return value


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    An interrupted write leaves the previous file (or none) in place, never a
    partial one. A killed process cannot remove its temporary file, so each
    write first deletes the temporary files of ``path`` left by processes
    that no longer run (their PID is part of the name).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp"
    )
    try:
        # mkstemp creates the file as 0600; give it the mode a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Delete temporary files of ``path`` whose writing process has exited.

    Returns the deleted paths. Temporary files of running processes are kept,
    so concurrent writers do not disturb each other.
    """
    path = Path(path)
    removed = []
    for candidate in path.parent.glob(f".{path.name}.*.tmp"):
        pid_text = candidate.name[len(path.name) + 2 :].split(".", 1)[0]
        if not pid_text.isdigit() or _process_running(int(pid_text)):
            continue
        candidate.unlink(missing_ok=True)
        removed.append(candidate)
    return removed


def _process_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists but belongs to another user
    return True


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) atomically; see :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))
