"""Training speed of every model, in units of its own compute floor, next to the notebook's API.

Per model (grouped so in pytest-benchmark's table, and run one model at a time so a change in
the machine's load hits all of a model's numbers alike):

* ``floor``: only the matrix products of one forward and backward pass in numpy (float32, batch
  128): per Dense layer X@W and dW = X.T@dY, and dX = dY@W.T for all but the first layer. A
  machine's speed cancels out of ``step / floor``, so that ratio is what golden/benchmarks.json
  budgets, not milliseconds.
* ``step``: optimizer steps on a fixed batch of 128 real MNIST samples through the compiled
  train function that ``model.fit`` (so ``train_and_evaluate``) calls. One call runs the
  recipe's ``steps_per_execution`` steps; pytest-benchmark's table shows the time per call,
  ``extra_info`` (``steps_per_call``, ``step_ms``) and bench-check the time per step.
* ``notebook_way``: the same step through ``model.train_on_batch``, the notebook-era API.
* ``epoch`` (arch1_relu only): one epoch of ``model.fit`` over 60,000 samples as
  ``train_and_evaluate`` runs it, minus validation and its file-writing callbacks.

Each benchmark tags ``extra_info`` with ``kind`` and ``model``: that is how ``mnist-mlp
bench-check`` finds them in ``--benchmark-json`` output. Warm-up rounds absorb tracing.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import pytest

from mnist_mlp import models
from mnist_mlp.compat import backend_name
from mnist_mlp.preprocess import INPUT_DIM, NUM_CLASSES
from mnist_mlp.recipe import NOTEBOOK
from mnist_mlp.train import compile_model

ROUNDS, ITERATIONS, WARMUP_ROUNDS = 50, 5, 2
EPOCH_MODEL, EPOCH_ROUNDS = "arch1_relu", 5


def no_sync() -> None:
    """TensorFlow and PyTorch train the model's variables in place: nothing to write back."""


def compiled_train_step(model, x: np.ndarray, y: np.ndarray) -> tuple[Callable, int, Callable]:
    """``(call, steps, sync)``: ``call()`` runs the backend's compiled train function on (x, y)
    the way ``model.fit`` calls it, which is ``steps`` optimizer steps (``steps_per_execution``;
    fit's per-call unit), and waits for the result (JAX dispatches asynchronously); ``sync()``
    writes the trained state back into the model, as fit does at the end of an epoch."""
    backend = backend_name()
    model.make_train_function()
    if backend == "tensorflow":
        import tensorflow as tf

        # fit hands train_function an iterator over a distributed tf.data dataset (the default
        # strategy's, here); a repeated one-element dataset yields our fixed batch every time.
        batches = tf.data.Dataset.from_tensors((x, y)).repeat()
        iterator = iter(model.distribute_strategy.experimental_distribute_dataset(batches))
        return (lambda: model.train_function(iterator)), model.steps_per_execution, no_sync
    if backend == "jax":
        import jax

        # fit threads the model's state through train_function(state, iterator) and writes it
        # back only at the end of an epoch; we do the same, over an endless iterator of our batch.
        batch = (jax.numpy.asarray(x), jax.numpy.asarray(y), None)
        model._symbolic_build(data_batch=batch)  # as fit does: builds optimizer and metrics
        state = [model._get_jax_state(trainable_variables=True, non_trainable_variables=True,
                                      optimizer_variables=True, metrics_variables=True,
                                      purge_model_variables=False)]

        def call():
            logs, state[0] = model.train_function(state[0], itertools.repeat(batch))
            return jax.block_until_ready(logs)

        def sync():
            names = ("trainable_variables", "non_trainable_variables", "optimizer_variables",
                     "metrics_variables")
            model._jax_state = dict(zip(names, state[0]))
            model._jax_state_synced = False
            model.jax_state_sync()

        return call, model.steps_per_execution, sync
    if backend == "torch":
        import torch

        batch = [(torch.from_numpy(x), torch.from_numpy(y))]  # fit's one-step data: a list of one
        return (lambda: model.train_function(batch)), 1, no_sync
    pytest.skip(f"no compiled train step for the {backend} backend yet")


def floor_step(name: str, batch_size: int) -> Callable[[], None]:
    """The matrix products of one forward and backward pass of ``name`` in numpy, into
    preallocated outputs, so only the arithmetic is timed."""
    widths = (INPUT_DIM, *models.get_spec(name).hidden_units, NUM_CLASSES)
    rng = np.random.default_rng(0)

    def array(*shape):
        return rng.standard_normal(shape, dtype=np.float32)

    layers = [
        (i > 0, array(batch_size, n_in), array(n_in, n_out), array(batch_size, n_out),
         array(batch_size, n_out), array(n_in, n_out), array(batch_size, n_in))
        for i, (n_in, n_out) in enumerate(itertools.pairwise(widths))
    ]

    def run() -> None:
        for needs_dx, x, w, dy, y_out, dw_out, dx_out in layers:
            np.matmul(x, w, out=y_out)
            np.matmul(x.T, dy, out=dw_out)
            if needs_dx:
                np.matmul(dy, w.T, out=dx_out)

    return run


def measure(benchmark, run, kind: str, name: str, environment: dict, medians: dict,
            rounds: int = ROUNDS, iterations: int = ITERATIONS,
            warmup_rounds: int = WARMUP_ROUNDS) -> float | None:
    """Time ``run`` with fixed rounds; tag it; return (and remember) its median in seconds
    (None under ``--benchmark-disable``)."""
    benchmark.group = name
    benchmark.extra_info.update(kind=kind, model=name, **environment)
    benchmark.pedantic(run, rounds=rounds, iterations=iterations, warmup_rounds=warmup_rounds)
    median = benchmark.stats.stats.median if benchmark.stats else None
    medians[kind, name] = median
    return median


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator and denominator else None


def ms(seconds: float | None) -> float | None:
    return seconds * 1000 if seconds is not None else None


@pytest.fixture(scope="module", params=models.names())
def name(request) -> str:
    """Module-scoped, so pytest runs floor, step, notebook way (and epoch) one model at a time."""
    return request.param


@pytest.fixture(scope="module")
def model(name):
    """Seed-0 ``name`` compiled with the notebook recipe, shared by the step, notebook-way and
    epoch benchmarks (so its train function is traced once)."""
    return compile_model(models.build_model(name, seed=0), NOTEBOOK)


@pytest.fixture(scope="session")
def medians() -> dict:
    """(kind, model) -> median seconds, for the ratios recorded by later benchmarks."""
    return {}


def test_floor(benchmark, name, batch, environment, medians):
    floor = measure(benchmark, floor_step(name, len(batch[0])), "floor", name, environment, medians)
    benchmark.extra_info["floor_ms"] = ms(floor)


def test_step(benchmark, name, model, batch, environment, medians):
    call, steps, sync = compiled_train_step(model, *batch)
    benchmark.extra_info["steps_per_call"] = steps  # bench-check divides the median by it
    per_call = measure(benchmark, call, "step", name, environment, medians)
    sync()
    step = medians["step", name] = per_call / steps if per_call else None
    floor = medians.get(("floor", name))
    benchmark.extra_info.update(step_ms=ms(step), floor_ms=ms(floor), ratio=ratio(step, floor))


def test_notebook_way(benchmark, name, model, batch, environment, medians):
    x, y = batch
    notebook = measure(
        benchmark, lambda: model.train_on_batch(x, y), "notebook_way", name, environment, medians
    )
    step = medians.get(("step", name))
    benchmark.extra_info.update(
        notebook_ms=ms(notebook), step_ms=ms(step), ours_vs_notebook=ratio(step, notebook)
    )


@pytest.mark.parametrize("name", [EPOCH_MODEL], indirect=True)
def test_epoch(benchmark, name, model, dataset, environment, medians):
    def one_epoch():
        model.fit(dataset.x_train, dataset.y_train, batch_size=NOTEBOOK.batch_size, epochs=1,
                  shuffle=True, verbose=0)

    seconds = measure(benchmark, one_epoch, "epoch", name, environment, medians,
                      rounds=EPOCH_ROUNDS, iterations=1, warmup_rounds=1)
    steps = math.ceil(len(dataset.x_train) / NOTEBOOK.batch_size)
    floor = medians.get(("floor", name))
    floor_s = steps * floor if floor else None
    benchmark.extra_info.update(epoch_s=seconds, steps=steps, floor_s=floor_s,
                                ratio=ratio(seconds, floor_s))
