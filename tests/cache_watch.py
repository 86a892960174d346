"""The user's real cache folders, read before any test changes the environment, and a snapshot
of them: conftest's ``isolated_caches`` fails a test that changed one."""

from __future__ import annotations

import os

from mnist_mlp.notebook import data

# The user's real cache locations, read before any test changes the environment.
REAL_CACHE = data.cache_path()
REAL_KERAS_CACHE = data.keras_cache_path()
REAL_DATA = os.environ.get("MNIST_MLP_DATA")
WATCHED = (REAL_CACHE.parent, REAL_KERAS_CACHE.parent)


def snapshot(folders=WATCHED) -> dict[str, tuple | None]:
    """Each folder's entries with (inode, size, mtime_ns); None for a folder that does not exist."""
    state = {}
    for folder in folders:
        if not folder.is_dir():
            state[str(folder)] = None
            continue
        for entry in sorted(folder.iterdir()):
            info = entry.lstat()
            state[str(entry)] = (info.st_ino, info.st_size, info.st_mtime_ns)
    return state
