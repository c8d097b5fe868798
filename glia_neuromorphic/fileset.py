"""Write a set of files that belong together (report.json and report.html)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from glia_neuromorphic.program import atomic_write_bytes, remove_stale_temporaries


def write_file_set(files: Mapping[str | Path, bytes | str]) -> list[Path]:
    """Write every file of ``files`` (path -> bytes, or text as UTF-8), or none.

    Each file is first written in full, with ``fsync``, to a temporary name
    beside its final path. Only then do renames put the new files in place.
    If any write or rename fails, the files already renamed get their
    previous content back (or are removed if they did not exist), so readers
    find either the old set or the new one.

    NOTE: a process killed during the renames, which take microseconds, can
    still leave a mixed set. The next write to the same paths deletes the
    temporary files such a process left behind.

    Parameters
    ----------
    files : mapping of path -> bytes or str
        Final path of each file and its content; text is encoded as UTF-8.

    Returns
    -------
    list of Path
        The written paths, in the order of ``files``.
    """
    pid = os.getpid()
    entries = []
    for path, data in files.items():
        path = Path(path)
        remove_stale_temporaries(path)
        entries.append(
            (
                path,
                data.encode("utf-8") if isinstance(data, str) else data,
                path.with_name(f".{path.name}.{pid}.new.tmp"),
                path.with_name(f".{path.name}.{pid}.old.tmp"),
            )
        )
    replaced: list[tuple[Path, Path]] = []
    try:
        for _, data, staged, _ in entries:
            atomic_write_bytes(staged, data)
        for path, _, staged, backup in entries:
            if path.exists():
                _keep_copy(path, backup)
            os.replace(staged, path)
            replaced.append((path, backup))
    except BaseException:
        _restore(replaced)
        raise
    finally:
        for _, _, staged, backup in entries:
            staged.unlink(missing_ok=True)
            backup.unlink(missing_ok=True)
    return [path for path, *_ in entries]


def _keep_copy(path: Path, backup: Path) -> None:
    """Make ``backup`` a hard link to ``path`` (a copy where links fail)."""
    backup.unlink(missing_ok=True)
    try:
        os.link(path, backup)
    except OSError:
        shutil.copy2(path, backup)


def _restore(replaced: list[tuple[Path, Path]]) -> None:
    """Put back the previous content of the files already replaced."""
    for path, backup in reversed(replaced):
        if backup.exists():
            os.replace(backup, path)
        else:
            path.unlink(missing_ok=True)
