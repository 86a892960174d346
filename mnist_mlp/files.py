"""Atomic file writes: a reader never sees a half-written file, a crash never loses the old one.

Every write goes to a temporary file beside the target, is flushed to the disk (fsync), then
renamed over the target. JSON is strict: NaN and infinities are refused (``ValueError``).
A write killed before its rename leaves its temporary file; ``sweep_temporaries`` removes them
(``sweep_folders`` in several folders of a run, never through a symbolic link).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mnist_mlp.errors import MnistMlpError

# What atomic_path names a temporary file: ".<target>." + mkstemp's 8 random characters +
# ".tmp" + the writer's suffix (".model.keras.k2j4h5g7.tmp.keras", ".result.json.a1b2c3d4.tmp").
TEMPORARY = re.compile(r"\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp(?:\.[A-Za-z0-9]+)?")


class LinkedFolderError(MnistMlpError, ValueError):
    """A folder of a run that is a symbolic link: writing or sweeping through it would leave the run."""


def real_folder(path: str | os.PathLike) -> Path:
    """``path``, refused when it is a symbolic link: a run writes, and sweeps, only inside itself."""
    path = Path(path)
    if path.is_symlink():
        raise LinkedFolderError(f"{path} is a symbolic link; a run writes only inside its own folder: "
                                "replace the link with a real folder (or remove it) and rerun")
    return path


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` if the block succeeds.

    The temporary file lives in the same folder, so the final ``os.replace`` is atomic.
    ``suffix`` keeps an extension that a writer insists on (``.npz``, ``.keras``, ``.png``).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{suffix}", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)  # mkstemp makes 0600; results and caches are meant to be shared
        _fsync(tmp_path)
        os.replace(tmp_path, target)
        _fsync(target.parent)
    except OSError as exc:
        raise _naming(exc, target) from None
    finally:
        tmp_path.unlink(missing_ok=True)


def sweep_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files that killed ``atomic_path`` writes left in ``folder`` (named as
    ``TEMPORARY``; a link so named is removed itself, never what it points to, and a folder is
    kept); return them. Call it only while holding the folder (its run lock): a live writer's
    temporary file looks the same. ``folder`` is taken as named: ``sweep_folders`` enters no link."""
    try:
        with os.scandir(folder) as entries:
            found = sorted((e for e in entries if TEMPORARY.fullmatch(e.name)), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []
    swept = []
    for entry in found:
        if not entry.is_dir(follow_symlinks=False):
            Path(entry.path).unlink(missing_ok=True)
            swept.append(Path(entry.path))
    return swept


def sweep_folders(root: str | os.PathLike, *subfolders: str) -> list[Path]:
    """``sweep_temporaries`` of ``root`` and of each of its ``subfolders`` ("figures",
    "seed-3/arch1_relu"), skipping one that is (or lies under) a symbolic link: a sweep never
    leaves the folder it was given. Return what was removed."""
    root = Path(root)
    swept = sweep_temporaries(root)
    for sub in subfolders:
        folder, inside = root, True
        for part in Path(sub).parts:
            folder = folder / part
            inside = inside and not folder.is_symlink()
        if inside:
            swept += sweep_temporaries(folder)
    return swept


def _fsync(path: Path) -> None:
    """Flush ``path`` (a file or a folder's entries) to the disk, so a rename survives a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _naming(exc: OSError, target: Path) -> OSError:
    """The same error, naming the file the user knows (not our temporary one)."""
    if exc.errno is None:
        return exc
    return type(exc)(exc.errno, exc.strerror, str(target))


def write_text(target: str | os.PathLike, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(target: str | os.PathLike, data: Any) -> None:
    write_text(target, json.dumps(data, indent=2, sort_keys=False, allow_nan=False) + "\n")


def write_or_print(text: str, target: str | os.PathLike | None) -> None:
    """A measurement script's output: written atomically to ``target`` (its --write), else printed."""
    if target:
        write_text(target, text)
    else:
        print(text, end="")
