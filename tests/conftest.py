"""Shared fixtures: real MNIST once per session (verified, from whatever source this machine has),
preprocessed arrays, and a small slice of them for fast training-plumbing tests.

No test may write the user's caches. Every test runs with ``MNIST_MLP_CACHE`` and ``KERAS_HOME``
pointing at its own empty temporary folders (``isolated_caches``, autouse), and fails at teardown
if the real cache folders changed while it ran. The session's MNIST is read once, read-only, from
the real caches (or ``MNIST_MLP_DATA``) and stored in a session temporary cache; a machine with no
cache at all downloads it once per session (``mnist-mlp data`` fills the real cache for next time).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cache_watch import REAL_CACHE, REAL_DATA, REAL_KERAS_CACHE, WATCHED, snapshot
from fake_runs import make_result, write_run
from hypothesis import settings

from mnist_mlp.notebook import data

# Hypothesis (tests/test_fuzz_readers.py): a few hundred cases per reader in the fast suite,
# a few dozen in the per-stack envs (HYPOTHESIS_PROFILE=stack: the readers are the same Python on
# every stack), 10,000 with HYPOTHESIS_PROFILE=fuzz (tox -e fuzz); no example database.
settings.register_profile("default", max_examples=200, database=None)
settings.register_profile("stack", max_examples=25, database=None)
settings.register_profile("fuzz", max_examples=10_000, database=None)
settings.register_profile("fuzz-short", max_examples=2_000, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# Tests never write the user's JAX compilation cache, not even from a module-scoped fixture that
# trains before ``isolated_caches`` applies: off for the whole session (tests/test_compile_cache.py
# turns it on in its own folders).
os.environ["MNIST_MLP_COMPILE_CACHE"] = "0"


@pytest.fixture(autouse=True)
def isolated_caches(tmp_path_factory, monkeypatch):
    """Point every test's caches at empty temporary folders; fail the test that wrote a real one."""
    before = snapshot()
    root = tmp_path_factory.mktemp("caches")
    monkeypatch.setenv("MNIST_MLP_CACHE", str(root / "mnist_mlp"))
    monkeypatch.setenv("KERAS_HOME", str(root / "keras"))
    monkeypatch.delenv("MNIST_MLP_DATA", raising=False)
    yield root
    if snapshot() != before:
        pytest.fail(f"this test wrote the real MNIST cache ({', '.join(map(str, WATCHED))})")


@pytest.fixture(scope="session")
def mnist(tmp_path_factory) -> data.MNIST:
    """Real MNIST, verified; its ``cache_path`` is a session temporary cache, never the user's."""
    cache = tmp_path_factory.mktemp("session-cache")
    source = REAL_DATA or next((str(p) for p in (REAL_CACHE, REAL_KERAS_CACHE) if p.is_file()), None)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MNIST_MLP_CACHE", str(cache / "mnist_mlp"))
        patch.setenv("KERAS_HOME", str(cache / "keras"))
        patch.delenv("MNIST_MLP_DATA", raising=False)
        loaded = data.fetch_mnist(source)  # an explicit file is only read; the copy goes to `cache`
    assert Path(loaded.cache_path).is_relative_to(cache)
    return loaded


@pytest.fixture
def mnist_cache(mnist, monkeypatch) -> Path:
    """Point ``MNIST_MLP_CACHE`` at the session's verified copy, for code that loads MNIST itself."""
    monkeypatch.setenv("MNIST_MLP_CACHE", str(mnist.cache_path.parent))
    return mnist.cache_path


@pytest.fixture(scope="session")
def dataset(mnist):
    from mnist_mlp.training.train import Dataset

    return Dataset.from_mnist(mnist.as_keras_tuple())


@pytest.fixture(scope="session")
def small_dataset(dataset):
    """2,048 training and 512 test images: one epoch trains in about a second."""
    from mnist_mlp.training.train import Dataset

    return Dataset(dataset.x_train[:2048], dataset.y_train[:2048], dataset.x_test[:512], dataset.y_test[:512])


@pytest.fixture
def tiny_cli(monkeypatch, mnist):
    """CLI runs train on the first 2,048 + 512 images (small_dataset's) of the session's MNIST."""
    monkeypatch.setenv("MNIST_MLP_LIMIT", "2048")
    monkeypatch.setenv("MNIST_MLP_CACHE", str(mnist.cache_path.parent))
    monkeypatch.delenv("MNIST_MLP_DATA", raising=False)


@pytest.fixture(scope="session", name="make_result")
def make_result_fixture():
    """The ``make_result`` factory, for tests: ``make_result("arch1_relu", test_accuracy=0.98)``."""
    return make_result


@pytest.fixture(scope="session", name="write_run")
def write_run_fixture():
    return write_run
