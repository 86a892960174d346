"""Training plumbing on a 2,048-image slice: schema, determinism, resume, no retraining."""

from __future__ import annotations

import csv
import json

import pytest
from keras_callbacks import CountEpochs, StopAfterEpoch

from mnist_mlp.compat import keras
from mnist_mlp.notebook import golden
from mnist_mlp.notebook.recipe import DEFAULT_RECIPE, Recipe, RecipeError
from mnist_mlp.training import checkpoint, results
from mnist_mlp.training.train import train_and_evaluate

SHORT = Recipe(epochs=2, seed=0)






def test_notebook_recipe_is_the_default():
    recipe = DEFAULT_RECIPE
    assert (recipe.epochs, recipe.batch_size, recipe.learning_rate) == (20, 128, 0.001)


@pytest.mark.parametrize("field", ["epochs", "batch_size"])
@pytest.mark.parametrize("value", [0, -3])
def test_recipe_rejects_values_below_one(field, value):
    with pytest.raises(RecipeError, match=field):
        Recipe(**{field: value})


def test_result_schema_and_files(small_dataset, tmp_path):
    result = train_and_evaluate("arch1_bn", small_dataset, SHORT, tmp_path)
    folder = tmp_path / "arch1_bn"
    assert sorted(p.name for p in folder.iterdir()) == ["history.csv", "model.keras", "result.json",
                                                        "trained_config.json"]
    raw = json.loads((folder / "result.json").read_text())
    # the keys every result.json has had, then the resume record and who drew the run
    assert list(raw) == ["schema", "model", "params", "recipe", "seed", "history", "test_loss",
                         "test_accuracy", "epoch_seconds", "step_ms", "train_seconds",
                         "environment", "finished", "data", "resumed", "draws"]
    assert list(raw["history"]) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    saved = results.read_result(folder / "result.json")
    assert saved == result
    assert saved.params == {"total": 534910, "trainable": 533510, "non_trainable": 1400}
    assert len(saved.epochs) == 2 and saved.step_ms > 0
    assert raw["seed"] == saved.seed == 0 and saved.recipe.batch_size == 128
    assert raw["data"] == {"train_images": 2048, "test_images": 512} and raw["resumed"] is False
    assert raw["draws"] == "numpy-v1"
    assert {"python", "tensorflow", "keras", "backend", "cpu"} <= saved.environment.keys()
    assert 0.5 < saved.test_accuracy <= 1.0
    # The test set is the validation set, so the last val_accuracy is the test accuracy.
    assert saved.test_accuracy == pytest.approx(saved.epochs[-1].val_accuracy, abs=1e-6)
    with open(folder / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["val_loss"]) for r in rows] == saved.metric("val_loss")
    reloaded = keras.models.load_model(folder / "model.keras")
    assert reloaded.count_params() == golden.load("architectures")["models"]["arch1_bn"]["total"]


def test_same_seed_gives_identical_histories(small_dataset, tmp_path):
    first = train_and_evaluate("arch1_bn_dropout", small_dataset, SHORT, tmp_path / "a")
    second = train_and_evaluate("arch1_bn_dropout", small_dataset, SHORT, tmp_path / "b")
    other = train_and_evaluate("arch1_bn_dropout", small_dataset, Recipe(epochs=2, seed=1), tmp_path / "c")
    assert all(first.metric(k) == second.metric(k) for k in results.HISTORY_KEYS)
    assert first.test_loss == second.test_loss
    assert first.metric("loss") != other.metric("loss")


def test_interrupted_run_resumes_where_it_stopped(small_dataset, tmp_path):
    recipe = Recipe(epochs=3, seed=0)
    with pytest.raises(KeyboardInterrupt):
        train_and_evaluate("arch1_relu", small_dataset, recipe, tmp_path, callbacks=[StopAfterEpoch(1)])
    folder = tmp_path / "arch1_relu"
    assert not (folder / "result.json").exists()
    saved = checkpoint.read(folder / checkpoint.LATEST)
    assert saved.epoch == 1 and sorted(saved.history) == [0, 1]

    counter = CountEpochs()
    result = train_and_evaluate("arch1_relu", small_dataset, recipe, tmp_path, callbacks=[counter])
    assert counter.started == [2]  # only the epoch that was left
    assert result.metric("loss")[:2] == [saved.history[e]["loss"] for e in (0, 1)]
    assert len(result.epochs) == 3 and result.resumed is True
    assert sorted(p.name for p in folder.iterdir()) == ["history.csv", "model.keras", "result.json",
                                                        "trained_config.json"]


def test_finished_model_is_not_retrained(small_dataset, tmp_path, capsys):
    first = train_and_evaluate("softmax", small_dataset, SHORT, tmp_path)
    stamp = (tmp_path / "softmax" / "result.json").stat().st_mtime_ns
    counter = CountEpochs()
    again = train_and_evaluate("softmax", small_dataset, SHORT, tmp_path, callbacks=[counter])
    assert counter.started == [] and again == first
    assert (tmp_path / "softmax" / "result.json").stat().st_mtime_ns == stamp
    assert "not retrained" in capsys.readouterr().out
    # A different recipe in the same folder is refused; restart=True retrains.
    with pytest.raises(checkpoint.ResumeMismatchError, match="epochs 2.*epochs 1"):
        train_and_evaluate("softmax", small_dataset, Recipe(epochs=1, seed=0), tmp_path)
    retrained = train_and_evaluate("softmax", small_dataset, Recipe(epochs=1, seed=0), tmp_path, restart=True)
    assert len(retrained.epochs) == 1
