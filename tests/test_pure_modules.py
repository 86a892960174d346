"""The pure modules on crafted inputs, fast enough to run against every mutant (tox -e mutation):
preprocessing, the recipe's validation, result-file reading. Expected values are written out."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fake_runs import make_result

from mnist_mlp.notebook.models import INPUT_DIM, NUM_CLASSES
from mnist_mlp.notebook.preprocess import flatten, one_hot, preprocess, scale
from mnist_mlp.notebook.recipe import DEFAULT_RECIPE, Recipe, RecipeError
from mnist_mlp.training import results


def test_preprocess_flattens_scales_and_one_hots_a_crafted_batch():
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[1, 27, 27], images[2, 1, 2] = 255, 51, 1
    x, y = preprocess(images, np.array([0, 9, 4], dtype=np.uint8))
    assert (INPUT_DIM, NUM_CLASSES) == (784, 10)
    assert x.shape == (3, 784) and x.dtype == np.float32
    assert (x[0, 0], x[1, 783], x[2, 30]) == (1.0, np.float32(0.2), np.float32(1 / 255))
    assert np.count_nonzero(x) == 3
    assert y.dtype == np.float32 and y.tolist() == [
        [1, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0, 0, 0, 0]]


def test_flatten_keeps_row_major_order_and_scale_divides_by_255():
    images = np.arange(2 * 784, dtype=np.int64).reshape(2, 28, 28) % 256
    assert flatten(images).tolist() == (np.arange(2 * 784) % 256).reshape(2, 784).tolist()
    assert scale(np.array([0, 255, 128], dtype=np.uint8)).tolist() == [0.0, 1.0, np.float32(128 / 255)]
    assert one_hot(np.array([3])).shape == (1, 10)


def test_notebook_recipe_fields():
    assert DEFAULT_RECIPE.as_dict() == {"epochs": 20, "batch_size": 128, "learning_rate": 0.001, "seed": 0,
                                  "steps_per_execution": 32, "jit_compile": "auto"}


@pytest.mark.parametrize(("field", "value"), [("epochs", 0), ("batch_size", -1), ("batch_size", 1.5),
                                              ("steps_per_execution", 0), ("learning_rate", 0.0),
                                              ("learning_rate", -0.1)])
def test_recipe_refuses_values_that_cannot_train(field, value):
    with pytest.raises(RecipeError, match=field):
        Recipe(**{field: value})


@pytest.mark.parametrize(("field", "value"), [("epochs", 1), ("batch_size", 1),
                                              ("steps_per_execution", 1), ("learning_rate", 1e-30)])
def test_recipe_accepts_the_smallest_valid_values(field, value):
    assert getattr(Recipe(**{field: value}), field) == value


def valid_result(name: str = "arch1_relu", **changes) -> dict:
    return make_result(name, **changes).to_json()


def write(folder, name: str, content) -> None:
    (folder / name).mkdir(parents=True, exist_ok=True)
    text = content if isinstance(content, str) else json.dumps(content)
    (folder / name / "result.json").write_text(text)


def test_load_finished_reads_the_saved_result_or_none(tmp_path):
    assert results.load_finished(tmp_path / "arch1_relu") is None
    write(tmp_path, "arch1_relu", valid_result(test_accuracy=0.98))
    assert results.load_finished(tmp_path / "arch1_relu").test_accuracy == 0.98


def test_load_run_is_in_registry_order_and_ignores_other_folders(tmp_path):
    for name in ("softmax", "arch2_relu", "arch1_relu"):
        write(tmp_path, name, valid_result(name))
    (tmp_path / "figures").mkdir()
    assert list(results.load_run(tmp_path)) == ["arch1_relu", "arch2_relu", "softmax"]


def test_load_run_of_an_empty_or_missing_folder_says_what_to_run(tmp_path):
    with pytest.raises(results.ResultError, match="no such run folder"):
        results.load_run(tmp_path / "absent")
    with pytest.raises(results.ResultError, match="mnist-mlp reproduce --out"):
        results.load_run(tmp_path)
