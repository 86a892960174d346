"""Atomic file writes: a reader never sees a half-written file, a crash never loses the old one.

Every write goes to a temporary file beside the target, is flushed to the disk (fsync), then
renamed over the target. JSON is strict: NaN and infinities are refused (``ValueError``).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


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
