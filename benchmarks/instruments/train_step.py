"""``model.fit``'s compiled train function, called as fit calls it: the step the benchmarks time.

It needs private Keras 3 API on JAX (``Trainer._symbolic_build``, ``JAXTrainer._get_jax_state``,
``_jax_state`` / ``_jax_state_synced`` and ``jax_state_sync``). They are used here alone, and
tests/test_train_step_instrument.py fails loudly when a Keras release moves them.
"""

from __future__ import annotations

import numpy as np

from mnist_mlp.compat import KERAS_3, backend_name

JAX_PRIVATE_API = ("_symbolic_build", "_get_jax_state", "jax_state_sync", "make_train_function")
JAX_STATE_PARTS = ("trainable_variables", "non_trainable_variables", "optimizer_variables",
                   "metrics_variables")


def _no_sync() -> None:
    """TensorFlow and PyTorch train the model's variables in place: nothing to write back."""


def compiled_train_step(model, x: np.ndarray, y: np.ndarray):
    """``(call, steps, sync)`` for a compiled model: ``call()`` runs the backend's compiled train
    function on (x, y) as ``model.fit`` calls it, which is ``steps`` optimizer steps (fit's unit
    per call, ``steps_per_execution``), and returns only when its results are computed (JAX
    dispatches asynchronously); ``sync()`` writes the trained state back into the model, as fit
    does at the end of an epoch."""
    backend = backend_name()
    model.make_train_function()
    if backend == "tensorflow":
        import tensorflow as tf

        # fit hands train_function an iterator over a distributed tf.data dataset (the default
        # strategy's, here); a repeated one-element dataset yields our fixed batch every time.
        batches = tf.data.Dataset.from_tensors((x, y)).repeat()
        iterator = iter(model.distribute_strategy.experimental_distribute_dataset(batches))
        steps = model.steps_per_execution if KERAS_3 else int(model._steps_per_execution.numpy())
        return (lambda: model.train_function(iterator)), steps, _no_sync
    if backend == "jax":
        import itertools

        import jax

        batch = (jax.numpy.asarray(x), jax.numpy.asarray(y), None)
        model._symbolic_build(data_batch=batch)  # as fit does: builds optimizer and metrics
        state = [model._get_jax_state(trainable_variables=True, non_trainable_variables=True,
                                      optimizer_variables=True, metrics_variables=True,
                                      purge_model_variables=False)]

        def call():
            logs, state[0] = model.train_function(state[0], itertools.repeat(batch))
            return jax.block_until_ready((logs, state[0]))

        def sync():
            model._jax_state = dict(zip(JAX_STATE_PARTS, state[0]))
            model._jax_state_synced = False
            model.jax_state_sync()

        return call, model.steps_per_execution, sync
    if backend == "torch":
        import torch

        batch = [(torch.from_numpy(x), torch.from_numpy(y))]  # fit's one-step data: a list of one
        return (lambda: model.train_function(batch)), 1, _no_sync
    raise NotImplementedError(f"no compiled train step for the {backend} backend")
