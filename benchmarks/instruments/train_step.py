"""``model.fit``'s compiled train function, called as fit calls it: the step the benchmarks time.

The private Keras API it needs (JAX's training state, Keras 2's steps per execution) is reached
through ``mnist_mlp.compat``, the one seam to Keras internals; tests/test_train_step_instrument.py
fails loudly when a Keras release moves it.
"""

from __future__ import annotations

import numpy as np

from mnist_mlp.compat import backend_name, jax_train_state, put_jax_state, steps_per_execution


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
        return (lambda: model.train_function(iterator)), steps_per_execution(model), _no_sync
    if backend == "jax":
        import itertools

        import jax

        batch = (jax.numpy.asarray(x), jax.numpy.asarray(y), None)
        state = [jax_train_state(model, batch)]

        def call():
            logs, state[0] = model.train_function(state[0], itertools.repeat(batch))
            return jax.block_until_ready((logs, state[0]))

        return call, model.steps_per_execution, lambda: put_jax_state(model, state[0])
    if backend == "torch":
        import torch

        batch = [(torch.from_numpy(x), torch.from_numpy(y))]  # fit's one-step data: a list of one
        return (lambda: model.train_function(batch)), 1, _no_sync
    raise NotImplementedError(f"no compiled train step for the {backend} backend")
