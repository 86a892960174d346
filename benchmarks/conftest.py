"""Session set-up for the training-speed benchmarks (``pytest benchmarks``; the fast suite never
collects this folder: pyproject's ``testpaths`` is ``tests``).

Why it looks like this:

* The backend defaults to TensorFlow (``KERAS_BACKEND`` overrides; ``tox -m bench`` runs the
  suite once per backend: bench-jax, bench-tensorflow, bench-torch). It is set before
  ``mnist_mlp.compat`` imports Keras, which is also why nothing here imports TensorFlow first.
* The same hardware on every side: at import, before any runtime starts its pools, the process
  pins itself to ``MNIST_MLP_BENCH_CPUS`` (default: one core, the first usable;
  ``instruments.cpus``), OpenBLAS/OpenMP are sized to the set, and so are TensorFlow's and torch's
  pools. XLA (JAX) has no supported thread setting; it sizes its pool from the affinity. Every
  benchmark records ``cpus`` and ``busy_threads`` (threads that burned CPU in its timed loop), and
  asserts the latter is no larger than the former.
* The instruments (``benchmarks/instruments/``) are this tree's, whatever ``mnist_mlp`` is under
  test: pyproject's ``pythonpath`` puts this folder first, and every benchmark records where both
  were imported from (``extra_info``: ``mnist_mlp``, ``instruments``).
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import pytest
import turns
from instruments import cpus as cpu_set

try:
    CPUS = cpu_set.pin(cpu_set.from_env())
except cpu_set.CpuSetError as exc:
    pytest.exit(str(exc), returncode=2)
if "numpy" in sys.modules:  # too late for the env vars: numpy's BLAS pool already exists
    warnings.warn("numpy was imported before benchmarks/conftest.py; its BLAS pool follows the "
                  "affinity only", stacklevel=1)
os.environ.update(cpu_set.blas_env(len(CPUS)))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import instruments
from instruments import roofline
from instruments.library import data, recipe, train

import mnist_mlp
from mnist_mlp.compat import backend_name, versions

DEFAULT_RECIPE, Dataset = recipe.DEFAULT_RECIPE, train.Dataset

POOLS = {**cpu_set.size_pools(backend_name(), len(CPUS)), "blas": len(CPUS)}


@pytest.fixture(scope="session")
def environment() -> dict:
    """What every benchmark records in ``extra_info``: software, machine, CPU set and pools, and
    where the library under test and the instruments measuring it were imported from."""
    return {**versions(), "threads": POOLS, "cpus": list(CPUS),
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "auto"),
            "mnist_mlp": str(Path(mnist_mlp.__file__).parent),
            "instruments": str(Path(instruments.__file__).parent)}


@pytest.fixture(scope="session")
def machine() -> dict:
    """The machine the floors are made of, measured in this process on ``CPUS``: the best large
    float32 GEMM of numpy and of the backend (FLOP/s) and the streaming memory bandwidth. Under
    benchmarks/ab.py it first waits for this process's first turn, so no other build shares the
    CPUs meanwhile."""
    if turns.THIS_PROCESS:
        turns.THIS_PROCESS.wait()
    peaks = roofline.measure_peaks(backend_name())
    peak, source = roofline.best_peak(peaks)
    return {"peak_flops": peak, "peak_source": source, "peaks_gflops": {
        k: round(v / 1e9, 1) for k, v in peaks.items()},
        "bandwidth": roofline.bandwidth_bytes_per_s(), "cpus": sorted(os.sched_getaffinity(0))}


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    """All of MNIST, preprocessed exactly as the training harness does it."""
    return Dataset.from_mnist(data.load_mnist())


@pytest.fixture(scope="session")
def batch(dataset) -> tuple:
    """The fixed batch every step benchmark trains on: the first 128 real training samples."""
    return dataset.x_train[: DEFAULT_RECIPE.batch_size], dataset.y_train[: DEFAULT_RECIPE.batch_size]
