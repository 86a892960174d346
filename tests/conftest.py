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
from hypothesis import settings

from mnist_mlp import data

# Hypothesis (tests/test_fuzz_readers.py): a few hundred cases per reader in the fast suite,
# 10,000 with HYPOTHESIS_PROFILE=fuzz (tox -e fuzz); no example database (nothing written).
settings.register_profile("default", max_examples=200, database=None)
settings.register_profile("fuzz", max_examples=10_000, database=None)
settings.register_profile("fuzz-short", max_examples=2_000, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# Tests never write the user's JAX compilation cache, not even from a module-scoped fixture that
# trains before ``isolated_caches`` applies: off for the whole session (tests/test_compile_cache.py
# turns it on in its own folders).
os.environ["MNIST_MLP_COMPILE_CACHE"] = "0"

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
    from mnist_mlp.train import Dataset

    return Dataset.from_mnist(mnist.as_keras_tuple())


@pytest.fixture(scope="session")
def small_dataset(dataset):
    """2,048 training and 512 test images: one epoch trains in about a second."""
    from mnist_mlp.train import Dataset

    return Dataset(dataset.x_train[:2048], dataset.y_train[:2048], dataset.x_test[:512], dataset.y_test[:512])


def make_result(
    name: str,
    *,
    epochs: int = 20,
    train_loss: float = 0.02,
    gap: float = 0.07,
    reach_epoch: int | None = 5,
    test_accuracy: float = 0.981,
    seed: int | None = 0,
    backend: str = "tensorflow",
    keras: str = "3.15.0",
):
    """A plausible RunResult for ``name`` (the one fake result of the test suite): train loss
    falls to ``train_loss``, validation loss ends ``gap`` above it, validation accuracy first
    reaches 97.5 % at ``reach_epoch`` (None: never) and ends at ``test_accuracy`` when that is
    above 97.5 %. Parameter counts are the notebook's (golden/architectures.json)."""
    import numpy as np

    from mnist_mlp import golden
    from mnist_mlp.recipe import Recipe
    from mnist_mlp.results import PARAM_KEYS, EpochRecord, RunResult

    epoch = np.arange(1, epochs + 1)
    loss = train_loss + (0.25 - train_loss) * np.exp(-(epoch - 1) / 3)
    val_loss = np.linspace(0.12, loss[-1] + gap, epochs)
    reached = epoch >= (reach_epoch or epochs + 1)
    val_accuracy = np.where(
        reached,
        np.linspace(0.976, max(test_accuracy, 0.976), epochs),
        np.linspace(0.95, 0.974, epochs),
    )
    counts = golden.load("architectures")["models"][name]
    return RunResult(
        model=name,
        params={key: counts[key] for key in PARAM_KEYS},
        recipe=Recipe(epochs=epochs, seed=seed),
        epochs=tuple(
            EpochRecord(float(a), float(1 - a / 4), float(b), float(c), 3.0)
            for a, b, c in zip(loss, val_loss, val_accuracy)
        ),
        test_loss=float(val_loss[-1]),
        test_accuracy=test_accuracy,
        step_ms=6.5,
        environment={
            "python": "3.11.9", "keras": keras, "backend": backend,
            "tensorflow": "2.21.0", "numpy": "2.4.6", "machine": "x86_64",
            "cpu": "Crafted CPU @ 2.0GHz", "cpu_count": 2,
        },
        train_seconds=3.0 * epochs,
        finished="2026-01-01T00:00:00+00:00",
    )


def write_run(run_dir, results) -> None:
    """Save RunResults as a run folder's ``<model>/result.json`` files, as training does."""
    import json

    for result in results:
        folder = run_dir / result.model
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "result.json").write_text(json.dumps(result.to_json()), "utf-8")


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
