"""The recipe as Keras really ran it, against the notebook's values in golden/notebook/recipe.json.

Not the recorded recipe: the optimizer and loss Keras holds after ``compile_model``, the
BatchNormalization layers of the built models, and what ``fit`` inside ``train_and_evaluate`` did
(steps per epoch, every sample once per epoch, the order of the batches), observed by a Keras
callback passed through its ``callbacks=`` argument.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mnist_mlp.compat import keras, to_numpy
from mnist_mlp.notebook import golden, models
from mnist_mlp.notebook.recipe import DEFAULT_RECIPE, Recipe
from mnist_mlp.training.train import Dataset, compile_model, train_and_evaluate

RECIPE = golden.load("recipe")
BN_MODELS = [name for name in models.names() if "_bn" in name]


def test_golden_recipe_is_the_notebooks_literal_values():
    """Typed from the notebook (batch_size = 128, nb_epoch = 20, 'adam', 'categorical_crossentropy')
    and Keras's documented defaults, so an edit of golden/notebook/recipe.json is caught here."""
    assert RECIPE["fit"] == {"batch_size": 128, "epochs": 20, "shuffle": True,
                             "validation_data": "test set"}
    assert RECIPE["loss"] == "categorical_crossentropy"
    optimizer = {k: v for k, v in RECIPE["optimizer"].items() if k != "notebook_code"}
    assert optimizer == {"class": "Adam", "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999,
                         "epsilon": 1e-07, "amsgrad": False}
    assert RECIPE["batch_normalization"] == {"momentum": 0.99, "epsilon": 0.001, "center": True,
                                             "scale": True}


def test_default_recipe_is_the_golden_one():
    assert DEFAULT_RECIPE.batch_size == RECIPE["fit"]["batch_size"]
    assert DEFAULT_RECIPE.epochs == RECIPE["fit"]["epochs"]
    assert DEFAULT_RECIPE.learning_rate == RECIPE["optimizer"]["learning_rate"]


@pytest.fixture(scope="module")
def compiled():
    return compile_model(models.build_model("softmax", seed=0), DEFAULT_RECIPE)


def test_compiled_optimizer_is_adam_with_the_notebooks_hyper_parameters(compiled):
    optimizer = compiled.optimizer
    assert type(optimizer).__name__ == RECIPE["optimizer"]["class"]
    config = optimizer.get_config()
    for key in ("learning_rate", "beta_1", "beta_2", "epsilon"):
        assert config[key] == pytest.approx(RECIPE["optimizer"][key], rel=1e-6), key
    assert config["amsgrad"] is RECIPE["optimizer"]["amsgrad"]
    # The live variable, not only the config: what the update step multiplies by.
    learning_rate = float(to_numpy(optimizer.learning_rate))
    assert learning_rate == pytest.approx(RECIPE["optimizer"]["learning_rate"], rel=1e-6)


def test_compiled_loss_is_categorical_crossentropy_by_name_and_by_value(compiled):
    assert compiled.loss == RECIPE["loss"]
    rng = np.random.default_rng(0)
    x = rng.random((64, 784), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 64)]
    probabilities = compiled.predict(x, verbose=0)
    expected = float(np.mean(-np.log(np.sum(y * probabilities, axis=1))))
    loss = compiled.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    assert loss == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("name", BN_MODELS)
def test_batch_normalization_layers_have_the_notebooks_defaults(name):
    layers = [layer for layer in models.build_model(name).layers
              if type(layer).__name__ == "BatchNormalization"]
    assert len(layers) == len(models.get_spec(name).hidden_units)
    for layer in layers:
        assert {key: getattr(layer, key) for key in RECIPE["batch_normalization"]} == pytest.approx(
            RECIPE["batch_normalization"], rel=1e-9)


class BatchLosses(keras.callbacks.Callback):
    """Per epoch: the steps fit announced and the running mean loss after every batch."""

    def __init__(self):
        super().__init__()
        self.announced_steps = []
        self.running: list[list[float]] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.announced_steps.append(self.params.get("steps"))
        self.running.append([])

    def on_train_batch_end(self, batch, logs=None):
        self.running[-1].append(float(logs["loss"]))

    def batch_means(self, epoch: int) -> np.ndarray:
        """Each batch's own mean loss, from the running means (all batches equally large)."""
        running = np.array(self.running[epoch], dtype=np.float64)
        k = np.arange(1, len(running) + 1)
        return k * running - np.concatenate([[0.0], (k[:-1]) * running[:-1]])


def slice_of(dataset: Dataset, n: int) -> Dataset:
    return Dataset(dataset.x_train[:n], dataset.y_train[:n], dataset.x_test[:256], dataset.y_test[:256])


# Frozen weights (an update of 1e-30 vanishes in float32) make the model a fixed function, so each
# batch's loss says which samples were in it; one step per call reports every batch.
FROZEN = Recipe(epochs=2, seed=0, learning_rate=1e-30, steps_per_execution=1)


@pytest.fixture(scope="module")
def frozen_run(small_dataset, tmp_path_factory):
    folder = tmp_path_factory.mktemp("frozen")
    log = BatchLosses()
    train_and_evaluate("softmax", small_dataset, FROZEN, folder, callbacks=[log])
    model = keras.models.load_model(folder / "softmax" / "model.keras")
    probabilities = model.predict(small_dataset.x_train, verbose=0).astype(np.float64)
    per_sample = -np.log(np.sum(small_dataset.y_train * probabilities, axis=1))
    return log, per_sample


def test_fit_runs_the_golden_batch_size(frozen_run, small_dataset):
    log, _ = frozen_run
    steps = math.ceil(len(small_dataset.x_train) / RECIPE["fit"]["batch_size"])
    assert steps == 16
    assert log.announced_steps == [steps, steps]
    assert [len(epoch) for epoch in log.running] == [steps, steps]


@pytest.mark.parametrize(("samples", "steps"), [(2048, 16), (2049, 17)])
def test_step_count_pins_the_batch_size_exactly(small_dataset, tmp_path, samples, steps):
    """16 steps for 2,048 samples and 17 for 2,049 hold for a batch of 128 and no other size."""
    assert [n for n in range(1, 2050) if math.ceil(2048 / n) == 16 and math.ceil(2049 / n) == 17] \
        == [RECIPE["fit"]["batch_size"]]
    log = BatchLosses()
    data = Dataset(np.concatenate([small_dataset.x_train, small_dataset.x_test[:1]])[:samples],
                   np.concatenate([small_dataset.y_train, small_dataset.y_test[:1]])[:samples],
                   small_dataset.x_test[:256], small_dataset.y_test[:256])
    train_and_evaluate("softmax", data, Recipe(epochs=1, seed=0, steps_per_execution=1), tmp_path,
                       callbacks=[log])
    assert log.announced_steps == [steps] and len(log.running[0]) == steps


def test_every_sample_is_seen_once_per_epoch_under_the_golden_loss(frozen_run):
    """The epoch's mean loss is the mean cross-entropy over all 2,048 samples, whatever the order."""
    log, per_sample = frozen_run
    for epoch in range(2):
        assert log.running[epoch][-1] == pytest.approx(per_sample.mean(), rel=1e-4)
        assert log.batch_means(epoch).mean() == pytest.approx(per_sample.mean(), rel=1e-4)


def test_fit_shuffles_every_epoch(frozen_run):
    log, per_sample = frozen_run
    batch = RECIPE["fit"]["batch_size"]
    in_order = per_sample.reshape(-1, batch).mean(axis=1)  # the batches of an unshuffled epoch
    first, second = log.batch_means(0), log.batch_means(1)
    assert RECIPE["fit"]["shuffle"] is True
    assert not np.allclose(first, in_order, rtol=0, atol=1e-3), "epoch 1 ran in the stored order"
    assert not np.allclose(second, in_order, rtol=0, atol=1e-3), "epoch 2 ran in the stored order"
    assert not np.allclose(first, second, rtol=0, atol=1e-3), "both epochs ran in the same order"
    # The oracle itself: unshuffled batches do differ from each other by more than the tolerance.
    assert np.ptp(in_order) > 0.01


def test_fit_visits_each_epochs_own_seeded_order(frozen_run):
    """Epoch e's batches are the training set in ``default_rng([seed, 1, e]).permutation`` order
    (the derivation mnist_mlp.notebook.draws documents), so a seed is the same batch sequence everywhere."""
    log, per_sample = frozen_run
    batch = RECIPE["fit"]["batch_size"]
    for epoch in range(2):
        order = np.random.default_rng([FROZEN.seed, 1, epoch]).permutation(len(per_sample))
        expected = per_sample[order].reshape(-1, batch).mean(axis=1)
        np.testing.assert_allclose(log.batch_means(epoch), expected, rtol=0, atol=2e-4)
