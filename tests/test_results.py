"""RunResult, the one schema of result.json: its JSON form round-trips, keeps today's keys, and
every malformed file is one ResultError line that names the file and the fix."""

from __future__ import annotations

import json

import pytest

from mnist_mlp.notebook.recipe import Recipe
from mnist_mlp.training.results import EpochRecord, ResultError, RunResult, load_finished, read_result

PATH = "run/arch1_relu/result.json"


@pytest.fixture
def result(make_result):
    return make_result("arch1_relu", epochs=3, test_accuracy=0.9812)


def test_json_round_trip_is_the_same_result(result):
    data = json.loads(json.dumps(result.to_json()))
    assert RunResult.from_json(data, PATH) == result


def test_json_keys_and_layout(result):
    data = result.to_json()
    assert list(data) == ["schema", "model", "params", "recipe", "seed", "history", "test_loss",
                          "test_accuracy", "epoch_seconds", "step_ms", "train_seconds",
                          "environment", "finished", "resumed", "draws"]
    assert data["schema"] == 1 and data["resumed"] is False and "data" not in data and data["seed"] == 0
    assert data["draws"] == "keras"  # a result made in code, not trained: nobody claims numpy's draws
    assert data["recipe"] == {"epochs": 3, "batch_size": 128, "learning_rate": 0.001, "seed": 0,
                              "steps_per_execution": 32, "jit_compile": "auto"}
    assert data["history"]["val_accuracy"] == [e.val_accuracy for e in result.epochs]
    assert data["epoch_seconds"] == [3.0, 3.0, 3.0]


def test_attributes_read_the_json_fields():
    data = {
        "schema": 1, "model": "softmax", "params": {"total": 7850, "trainable": 7850, "non_trainable": 0},
        "recipe": {"epochs": 2, "seed": 4}, "seed": 4,
        "history": {"loss": [0.5, 0.4], "accuracy": [0.8, 0.9], "val_loss": [0.45, 0.41],
                    "val_accuracy": [0.88, 0.91]},
        "test_loss": 0.41, "test_accuracy": 0.91, "epoch_seconds": [2.5, 2], "step_ms": 1,
        "environment": {"backend": "jax"},
    }
    result = RunResult.from_json(data, PATH)
    assert result.epochs == (EpochRecord(0.5, 0.8, 0.45, 0.88, 2.5), EpochRecord(0.4, 0.9, 0.41, 0.91, 2.0))
    assert result.recipe == Recipe(epochs=2, seed=4) and result.seed == 4
    assert (result.backend, result.step_ms, result.train_seconds, result.finished) == ("jax", 1.0, 0.0, "-")
    assert result.metric("val_loss") == [0.45, 0.41]
    assert RunResult.from_json(data | {"environment": {}}, PATH).backend == "tensorflow"
    # Results from before the project drew its own weights and order: the backend drew them.
    assert (result.draws == "keras"
            and RunResult.from_json(data | {"draws": "numpy-v1"}, PATH).draws == "numpy-v1")


def broken(result, **changes) -> dict:
    data = result.to_json()
    for key, value in changes.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    return data


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"test_accuracy": None}, "'test_accuracy' missing"),
        ({"test_accuracy": "0.98"}, "'test_accuracy' missing or not a float"),
        ({"draws": 1}, "'draws' missing or not a str"),
        ({"step_ms": True}, "'step_ms' missing or not a float"),
        ({"model": 3}, "'model' missing or not a str"),
        ({"environment": []}, "'environment' missing or not a dict"),
        ({"params": {"total": 1}}, "'params' needs whole numbers total, trainable, non_trainable"),
        ({"recipe": {"epochs": 0}}, "'recipe': epochs must be a whole number from 1 to 2147483647"),
        ({"recipe": {"optimizer": "sgd"}}, "'recipe': "),
        ({"history": {"loss": [0.1] * 3}}, "'history.accuracy' missing or not a list of numbers"),
        ({"epoch_seconds": [1.0]}, "history and epoch_seconds differ in length"),
        ({"schema": 2}, "schema 2, this version reads 1"),
    ],
    ids=["missing", "string", "draws", "bool", "model", "environment", "params", "recipe-value",
         "recipe-key", "history", "lengths", "schema"],
)
def test_malformed_result_is_one_line_naming_file_and_fix(result, changes, named):
    with pytest.raises(ResultError) as excinfo:
        RunResult.from_json(broken(result, **changes), PATH)
    message = str(excinfo.value)
    assert message.startswith(f"{PATH}: malformed result.json (") and named in message
    assert message.endswith("delete it and retrain that model") and "\n" not in message


def test_not_an_object_is_a_result_error():
    with pytest.raises(ResultError, match="not a JSON object"):
        RunResult.from_json([1, 2], PATH)


def test_read_result_and_load_finished(tmp_path, result, write_run):
    write_run(tmp_path, [result])
    assert read_result(tmp_path / "arch1_relu" / "result.json") == result
    assert load_finished(tmp_path / "arch1_relu") == result  # the identity check is train.py's
    assert load_finished(tmp_path / "softmax") is None
