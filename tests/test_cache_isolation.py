"""The fast suite cannot write the user's caches: every test gets temporary ones, the session's
MNIST lives in a temporary cache, and the guard in conftest sees any write to a watched folder."""

from __future__ import annotations

import os

from cache_watch import REAL_CACHE, REAL_KERAS_CACHE, snapshot

from mnist_mlp.notebook import data


def test_every_test_gets_its_own_empty_caches(isolated_caches):
    assert data.cache_path() == isolated_caches / "mnist_mlp" / "mnist.npz"
    assert data.keras_cache_path() == isolated_caches / "keras" / "datasets" / "mnist.npz"
    assert data.cache_path() != REAL_CACHE and data.keras_cache_path() != REAL_KERAS_CACHE
    assert not data.cache_path().exists() and "MNIST_MLP_DATA" not in os.environ


def test_session_mnist_is_cached_outside_the_real_cache(mnist):
    assert mnist.cache_path != REAL_CACHE and mnist.cache_path.is_file()
    assert REAL_CACHE.parent not in mnist.cache_path.parents


def test_the_guard_sees_a_new_file_a_rewrite_and_an_atomic_replace(tmp_path):
    folder = tmp_path / "cache"
    empty = snapshot([folder])
    assert empty == {str(folder): None}
    folder.mkdir()
    (folder / "mnist.npz").write_bytes(b"a")
    written = snapshot([folder])
    assert written != empty
    os.utime(folder / "mnist.npz", ns=(0, 0))
    touched = snapshot([folder])
    assert touched != written
    (folder / "new.npz").write_bytes(b"b")
    os.replace(folder / "new.npz", folder / "mnist.npz")  # same size, new inode
    assert snapshot([folder]) != touched
