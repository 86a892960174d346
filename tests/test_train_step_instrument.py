"""The benchmarks' access to Keras internals (benchmarks/instruments/train_step.py): it must keep
working on every backend, and fail here, loudly, the day a Keras release moves what it uses."""

from __future__ import annotations

import importlib
import importlib.util

import numpy as np
import pytest
from instruments import train_step

from mnist_mlp import compat
from mnist_mlp.notebook import models
from mnist_mlp.notebook.recipe import DEFAULT_RECIPE
from mnist_mlp.training.train import compile_model

# backend -> (trainer module, class, the methods the benchmark block calls on a model)
TRAINERS = {
    "jax": ("keras.src.backend.jax.trainer", "JAXTrainer", compat.JAX_PRIVATE_API),
    "tensorflow": ("keras.src.backend.tensorflow.trainer", "TensorFlowTrainer",
                   ("make_train_function",)),
    "torch": ("keras.src.backend.torch.trainer", "TorchTrainer", ("make_train_function",)),
}


@pytest.mark.skipif(not compat.KERAS_3, reason="Keras 2.15 has one (TensorFlow) trainer")
@pytest.mark.parametrize("backend", sorted(TRAINERS))
def test_each_backend_trainer_still_has_what_the_benchmarks_call(backend):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed in this env")
    module, cls, methods = TRAINERS[backend]
    trainer = getattr(importlib.import_module(module), cls)
    missing = [m for m in methods if not callable(getattr(trainer, m, None))]
    assert not missing, f"Keras {compat.keras.__version__} moved {missing} of {cls}: " \
        "update instruments.train_step.compiled_train_step"


def test_the_jax_state_is_the_four_parts_fit_threads_through_train_function():
    assert compat.JAX_STATE_PARTS == ("trainable_variables", "non_trainable_variables",
                                      "optimizer_variables", "metrics_variables")


def test_compiled_train_step_trains_and_syncs_on_this_backend():
    model = compile_model(models.build_model("softmax", seed=0), DEFAULT_RECIPE)
    rng = np.random.default_rng(0)
    x = rng.random((16, 784), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 16)]
    before = compat.to_numpy(model.trainable_weights[0]).copy()
    call, steps, sync = train_step.compiled_train_step(model, x, y)
    expected_steps = 1 if compat.backend_name() == "torch" else DEFAULT_RECIPE.steps_per_execution
    assert steps == expected_steps
    result = call()
    if compat.backend_name() == "jax":
        import jax

        leaves = jax.tree_util.tree_leaves(result)
        assert leaves and all(leaf.is_ready() for leaf in leaves)  # blocked until computed
    sync()
    after = compat.to_numpy(model.trainable_weights[0])
    assert not np.allclose(before, after)
    assert int(compat.to_numpy(model.optimizer.iterations)) == steps
