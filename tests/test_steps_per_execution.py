"""``steps_per_execution`` is a speed knob and nothing else: whatever the number of steps per
compiled call, the same seed trains the same model, bit for bit (losses, metrics, weights). The
BatchNormalization + Dropout model carries every kind of state a step updates: Adam's moments,
BN's moving statistics and the Dropout seed generator."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_mlp.compat import backend_name, keras
from mnist_mlp.notebook.recipe import Recipe
from mnist_mlp.training.train import train_and_evaluate

MODEL = "arch1_bn_dropout"


def trained(dataset, folder, steps_per_execution: int):
    """The result and the saved weights of two seeded epochs."""
    recipe = Recipe(epochs=2, seed=0, steps_per_execution=steps_per_execution)
    result = train_and_evaluate(MODEL, dataset, recipe, folder)
    model = keras.models.load_model(folder / MODEL / "model.keras")
    return result, [np.asarray(w) for w in model.get_weights()]


@pytest.fixture(scope="module")
def reference_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("spe8")


@pytest.fixture(scope="module")
def reference(small_dataset, reference_folder):
    return trained(small_dataset, reference_folder, 8)


# small_dataset: 2,048 training images, 16 steps an epoch. 1: the notebook's; 3: 16 = 5 x 3 + 1,
# a call of one step at each epoch's end; 64: one call for the whole epoch.
@pytest.mark.skipif(backend_name() == "torch", reason="PyTorch runs one step per call whatever the value")
@pytest.mark.parametrize("steps_per_execution", [1, 3, 64])
def test_every_steps_per_execution_trains_the_same_model_bit_for_bit(small_dataset, tmp_path, reference,
                                                                     steps_per_execution):
    result, weights = trained(small_dataset, tmp_path, steps_per_execution)
    expected_result, expected_weights = reference
    assert result.epochs == tuple(
        type(e)(e.loss, e.accuracy, e.val_loss, e.val_accuracy, r.seconds)
        for e, r in zip(expected_result.epochs, result.epochs))  # every metric but the time
    assert result.test_loss == expected_result.test_loss
    assert result.test_accuracy == expected_result.test_accuracy
    assert len(weights) == len(expected_weights) == 14  # 3 Dense x 2, 2 BN x 4
    for got, expected in zip(weights, expected_weights):
        np.testing.assert_array_equal(got, expected)


def test_a_finished_run_is_reused_whatever_its_steps_per_execution(small_dataset, reference, reference_folder,
                                                                    capsys):
    """The same math, so the same run: asking for another value reuses the result (and a
    checkpoint resumes) instead of refusing it as another recipe's."""
    again = train_and_evaluate(MODEL, small_dataset, Recipe(epochs=2, seed=0, steps_per_execution=32),
                               reference_folder)
    assert "finished earlier" in capsys.readouterr().out
    assert again == reference[0]
