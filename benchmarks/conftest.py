"""Session set-up for the training-speed benchmarks (``pytest benchmarks``; the fast suite never
collects this folder: pyproject's ``testpaths`` is ``tests``).

Why it looks like this:

* The backend defaults to TensorFlow (``KERAS_BACKEND`` overrides; ``tox -m bench`` runs the
  suite once per backend: bench-jax, bench-tensorflow, bench-torch). It is set before ``mnist_mlp.compat`` imports
  Keras, which is also why nothing here imports TensorFlow first.
* The same hardware on every side: at import, before any runtime starts its pools, the process
  pins itself to ``MNIST_MLP_BENCH_CPUS`` (default: one core, the first usable;
  ``mnist_mlp.cpus``), OpenBLAS/OpenMP are sized to the set, and so are TensorFlow's and torch's
  pools. XLA (JAX) has no supported thread setting; it sizes its pool from the affinity. Every
  benchmark records ``cpus`` and ``busy_threads`` (threads that burned CPU in its timed loop), and
  asserts the latter is no larger than the former.
* ``--benchmark-compare-fail`` on a fresh clone (no saved run yet) is a usage error in
  pytest-benchmark (exit 4), while ``--benchmark-compare`` alone only warns. ``pytest_configure``
  below drops the comparison when the storage holds no run for this machine.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import pytest
import turns

from mnist_mlp import cpus as cpu_set

try:
    CPUS = cpu_set.pin(cpu_set.from_env())
except cpu_set.CpuSetError as exc:
    pytest.exit(str(exc), returncode=2)
if "numpy" in sys.modules:  # too late for the env vars: numpy's BLAS pool already exists
    warnings.warn("numpy was imported before benchmarks/conftest.py; its BLAS pool follows the "
                  "affinity only", stacklevel=1)
os.environ.update(cpu_set.blas_env(len(CPUS)))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import mnist_mlp
from mnist_mlp import data, roofline
from mnist_mlp.compat import backend_name, versions
from mnist_mlp.recipe import NOTEBOOK
from mnist_mlp.train import Dataset

POOLS = {**cpu_set.size_pools(backend_name(), len(CPUS)), "blas": len(CPUS)}


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
    """What every benchmark records in ``extra_info``: software, machine, CPU set and pools."""
    return {**versions(), "threads": POOLS, "cpus": list(CPUS),
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "auto"),
            "mnist_mlp": str(Path(mnist_mlp.__file__).parent)}


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
    return dataset.x_train[: NOTEBOOK.batch_size], dataset.y_train[: NOTEBOOK.batch_size]
