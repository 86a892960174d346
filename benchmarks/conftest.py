"""Session set-up for the training-speed benchmarks (``pytest benchmarks``; the fast suite never
collects this folder: pyproject's ``testpaths`` is ``tests``).

Why it looks like this:

* The backend defaults to TensorFlow (``KERAS_BACKEND`` overrides; ``tox -e bench`` runs the
  suite once per backend: tensorflow, jax, torch). It is set before ``mnist_mlp.compat`` imports
  Keras, which is also why nothing here imports TensorFlow first (that would import Keras with
  keras.json's backend behind compat's back).
* Thread counts are fixed here, at import, because TensorFlow, XLA (JAX) and OpenBLAS read them
  once when their runtimes start (PyTorch's can be set at any time). Both sides of the step/floor ratio run with the
  same count, ``MNIST_MLP_BENCH_THREADS`` (default 1). One thread is the default because the ratio
  is the portable number, and on a shared machine multithreaded OpenBLAS busy-waits for a busy
  core: on this project's loaded 2-core box the arch1 floor went from 3.7 ms (1 thread) to 30 ms
  (2 threads), while one thread stays steady.
* ``--benchmark-compare-fail`` on a fresh clone (no saved run yet) is a usage error in
  pytest-benchmark (exit 4), while ``--benchmark-compare`` alone only warns. ``pytest_configure``
  below drops the comparison when the storage holds no run for this machine, so ``tox -e bench``
  passes its first time and that (autosaved) run becomes the baseline.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

THREADS = int(os.environ.get("MNIST_MLP_BENCH_THREADS", "1"))
BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

if "numpy" in sys.modules:  # too late for the env vars: numpy's BLAS pool already exists
    warnings.warn("numpy was imported before benchmarks/conftest.py; BLAS thread count not set")
for _var in BLAS_THREAD_VARS:
    os.environ[_var] = str(THREADS)
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
if THREADS == 1:  # XLA's CPU client (JAX) reads this once, at start-up
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                          "intra_op_parallelism_threads=1")

import pytest

from mnist_mlp import data
from mnist_mlp.compat import backend_name, versions
from mnist_mlp.recipe import NOTEBOOK
from mnist_mlp.train import Dataset


def _set_backend_threads() -> dict:
    """Pin the backend's thread pools (before its runtime starts) and say what they are."""
    if backend_name() == "jax":
        return {"xla_flags": os.environ.get("XLA_FLAGS", "")}
    if backend_name() == "torch":
        import torch

        torch.set_num_threads(THREADS)
        return {"torch_threads": torch.get_num_threads()}
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(THREADS)
    return {
        "tf_intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "tf_inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
    }


THREAD_COUNTS = {**_set_backend_threads(), "blas": THREADS}


def pytest_configure(config):
    """Skip ``--benchmark-compare[-fail]`` (with a warning) while there is nothing to compare to."""
    if not config.getoption("benchmark_compare_fail", None):
        return
    if config.getoption("benchmark_compare") is not True:
        return  # a named run: the user asked for it, so pytest-benchmark's own error stands
    storage = config.getoption("benchmark_storage")
    if "://" in storage and not storage.startswith("file://"):
        return  # elasticsearch: leave it to pytest-benchmark
    from pytest_benchmark.utils import get_machine_id

    folder = Path(storage.removeprefix("file://")) / get_machine_id()
    if not any(folder.glob("[0-9][0-9][0-9][0-9]_*.json")):
        config.option.benchmark_compare = []
        config.option.benchmark_compare_fail = None
        config.issue_config_time_warning(
            pytest.PytestWarning(f"no saved benchmark run in {folder}: nothing to compare with; "
                                 "this run (with --benchmark-autosave) becomes the baseline"),
            stacklevel=2,
        )


@pytest.fixture(scope="session")
def environment() -> dict:
    """What every benchmark records in ``extra_info``: software, machine and thread counts."""
    # A forced OpenBLAS kernel (this project's sandbox sets Haswell) halves the floor's speed on
    # an AVX-512 CPU; tox does not pass it on, so the golden budgets saw the auto-detected one.
    coretype = os.environ.get("OPENBLAS_CORETYPE", "auto")
    return {**versions(), "threads": THREAD_COUNTS, "openblas_coretype": coretype}


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    """All of MNIST, preprocessed exactly as the training harness does it."""
    return Dataset.from_mnist(data.load_mnist())


@pytest.fixture(scope="session")
def batch(dataset) -> tuple:
    """The fixed batch every step benchmark trains on: the first 128 real training samples."""
    return dataset.x_train[: NOTEBOOK.batch_size], dataset.y_train[: NOTEBOOK.batch_size]
