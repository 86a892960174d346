"""The accuracy gate (marker ``accuracy``): every model, the notebook's full recipe (20 epochs,
batch 128, Adam), seed 0, on real MNIST, against golden/measured/gates.json's thresholds for this backend.

Minutes of training (docs/ci.md). A model that is known to miss its gate on some platform is
declared in gates.json as ``"known_failure": "reason"`` and becomes an xfail, never an ``if``.
"""

from __future__ import annotations

import statistics

import pytest

from mnist_mlp.compat import backend_name
from mnist_mlp.judging.gates.accuracy import MEAN_ROW, describe_statistic, gated_value, rows, section
from mnist_mlp.notebook import golden, models
from mnist_mlp.notebook.recipe import DEFAULT_RECIPE
from mnist_mlp.training import pool
from mnist_mlp.training.train import train_and_evaluate

pytestmark = pytest.mark.accuracy
GATES = section(backend_name())


def gated(name: str):
    reason = GATES["models"][name].get("known_failure")
    return pytest.param(name, id=name, marks=pytest.mark.xfail(reason=reason, strict=True) if reason else ())


@pytest.fixture(scope="session")
def gate_run(mnist, tmp_path_factory):
    """Seed 0 of every model, trained as ``mnist-mlp reproduce`` and the calibration seeds were:
    on the worker pool, one pinned worker per usable core."""
    run_dir = tmp_path_factory.mktemp("gate-run")
    tasks = pool.schedule(models.names(), [DEFAULT_RECIPE.seed], run_dir)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MNIST_MLP_CACHE", str(mnist.cache_path.parent))
        done = pool.run(tasks, DEFAULT_RECIPE, pool.DatasetSource(), jobs=len(pool.usable_cores()),
                        train=train_and_evaluate)
    return {task.model: result for task, result in done.items()}


@pytest.fixture(scope="session")
def gate_rows(gate_run):
    """The gate's rows: each model's gated statistic (GATES' own) against its minimum."""
    return {row.model: row for row in rows(gate_run, GATES)}


@pytest.mark.parametrize("name", [gated(n) for n in models.names()])
def test_gated_statistic_meets_its_gate(gate_rows, name):
    row = gate_rows[name]
    assert row.ours >= GATES["models"][name]["min_test_accuracy"], (
        f"{name}: {describe_statistic(GATES)} {row.ours:.4f} < gate {row.threshold} "
        f"(calibrated seeds: {GATES['models'][name]['measured']})"
    )


def test_mean_over_the_notebook_seven_meets_its_gate(gate_run, gate_rows):
    mean = statistics.fmean(gated_value(gate_run[n], GATES) for n in models.NOTEBOOK_MODELS)
    assert gate_rows[MEAN_ROW].ours == pytest.approx(mean, abs=1e-12)
    assert mean >= GATES["min_mean_test_accuracy"]


@pytest.mark.parametrize("name", models.NOTEBOOK_MODELS)
def test_every_mlp_beats_the_softmax_baseline(gate_run, name):
    assert gate_run[name].test_accuracy > gate_run["softmax"].test_accuracy + 0.03


@pytest.mark.parametrize("name", models.names())
def test_trained_model_kept_the_golden_parameter_counts(gate_run, name):
    counts = golden.load("architectures")["models"][name]
    assert gate_run[name].params == {k: counts[k] for k in ("total", "trainable", "non_trainable")}
    assert len(gate_run[name].epochs) == DEFAULT_RECIPE.epochs
