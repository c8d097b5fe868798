"""Train-or-load cache for assemblies, keyed by their settings and seed."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from glia_neuromorphic.errors import ProgramFileError
from glia_neuromorphic.fileutil import CORRUPT_FILE_ERRORS
from glia_neuromorphic.models.contracting_rnn.network import Assembly, init_assembly
from glia_neuromorphic.models.contracting_rnn.task import SequenceTask, load_task
from glia_neuromorphic.models.contracting_rnn.training import TrainSettings, train
from glia_neuromorphic.program import atomic_write_bytes

logger = logging.getLogger(__name__)

#: Bump when the saved layout or the training code changes results.
CACHE_VERSION = 2


def _digest(arrays: dict[str, np.ndarray]) -> str:
    """Return a SHA-256 over the names, dtypes, shapes and bytes of ``arrays``.

    Reading an ``.npz`` member does not always reach the zip CRC check, so a
    changed byte in the weights would otherwise load silently.
    """
    sha = hashlib.sha256()
    for name in sorted(arrays):
        value = np.ascontiguousarray(arrays[name])
        sha.update(f"{name}:{value.dtype.str}{value.shape}".encode())
        sha.update(value.tobytes())
    return sha.hexdigest()


def save_assembly(assembly: Assembly, path: str | Path, extra: dict | None = None):
    """Write the assembly (arrays and settings) atomically as one ``.npz`` file."""
    buffer = io.BytesIO()
    parameters = assembly.parameters()
    meta = {
        "version": CACHE_VERSION,
        "config": assembly.config(),
        "sha256": _digest(parameters),
        **(extra or {}),
    }
    np.savez(buffer, meta=np.array(json.dumps(meta)), **parameters)
    atomic_write_bytes(path, buffer.getvalue())


def load_assembly(path: str | Path) -> tuple[Assembly, dict[str, Any]]:
    """Read an assembly written by :func:`save_assembly`.

    Raises
    ------
    ProgramFileError
        If the file is missing, unreadable or of another cache version.
    """
    try:
        with np.load(Path(path), allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {k: data[k] for k in data.files if k != "meta"}
    except CORRUPT_FILE_ERRORS as exc:
        raise ProgramFileError(
            f"assembly file {path}: cannot be read ({exc}); delete it to retrain"
        ) from exc
    if meta.get("version") != CACHE_VERSION:
        raise ProgramFileError(
            f"assembly file {path}: version {meta.get('version')}, expected "
            f"{CACHE_VERSION}; delete it to retrain"
        )
    if meta.get("sha256") != _digest(arrays):
        raise ProgramFileError(
            f"assembly file {path}: arrays do not match their recorded SHA-256 "
            "(the file was modified or damaged); delete it to retrain"
        )
    config = dict(meta["config"])
    config["sizes"] = tuple(config["sizes"])
    return Assembly(**arrays, **config), meta


def train_or_load(
    seed: int,
    cache_dir: str | Path | None = None,
    task_name: str = "rows",
    sizes: tuple[int, ...] = (16, 16, 16, 16),
    epochs: int = 30,
    **settings: Any,
) -> tuple[Assembly, SequenceTask, dict[str, Any]]:
    """Return a trained assembly, from ``cache_dir`` when an identical run exists.

    Parameters
    ----------
    seed : int
        Seeds the split, the initial weights and the batch order.
    cache_dir : path, optional
        Directory for the cached ``.npz``; no caching when None.
    settings
        :func:`init_assembly` keywords (``module_kind``, ``tau``, ...).

    Returns
    -------
    assembly, task, info
        ``info`` contains the seed, the settings, the loss history and whether the
        assembly came from the cache.
    """
    task = load_task(task_name, seed)
    key = {"seed": seed, "task": task_name, "sizes": list(sizes), "epochs": epochs}
    key.update(settings)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    path = Path(cache_dir) / f"assembly-{digest}.npz" if cache_dir else None
    if path is not None and path.is_file():
        try:
            assembly, meta = load_assembly(path)
        except (ProgramFileError, TypeError) as exc:
            # a cache can be rebuilt, so a damaged one is replaced, not fatal
            logger.warning("ignoring the cached assembly: %s", exc)
        else:
            logger.info("loaded assembly from %s", path)
            return assembly, task, {**meta.get("train", {}), "cached": True}

    rng = np.random.default_rng(seed)
    assembly = init_assembly(tuple(sizes), task.n_inputs, 10, rng, **settings)
    history = train(
        assembly,
        task.x_train,
        task.y_train,
        rng,
        TrainSettings(epochs=epochs, batch_size=128, learning_rate=0.02),
    )
    info = {"settings": key, "loss": history}
    if path is not None:
        save_assembly(assembly, path, {"train": info})
    return assembly, task, {**info, "cached": False}
