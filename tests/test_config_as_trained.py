"""The whole configuration as trained (mnist_mlp.judging.trained_config), against
golden/notebook/trained_config.json.

The model with every layer kind trains one epoch on a 2,048-image slice through
``train_and_evaluate`` with a ``DescribeAtTrainBegin`` callback; the description it takes at fit
start is compared WHOLE with the golden one of this Keras major (fit epochs and steps are this
run's: 1 epoch, 2048 / 128) and equals the one taken right after compile, so every model is
compared WHOLE after compile.
Planted changes, made through Keras's public API in fields no other test reads, must each be
named by its dotted path in the diff.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable

import pytest

from mnist_mlp.compat import keras
from mnist_mlp.judging import trained_config
from mnist_mlp.judging.trained_config import DescribeAtTrainBegin, describe, diff, expected, notebook_fit
from mnist_mlp.notebook import golden, models
from mnist_mlp.notebook.recipe import DEFAULT_RECIPE, Recipe
from mnist_mlp.training.train import compile_model, train_and_evaluate

TINY = Recipe(epochs=1, seed=0)
PLANTED_MODEL = "arch1_bn_dropout"  # layers: [0] Input, [1] Dense, [2] BN, [3] Dropout, ... [7] Dense


def expected_for_run(name: str, recipe: Recipe, train_images: int) -> dict:
    """The golden description with this run's epochs and the steps of the golden batch size."""
    want = expected(name)
    steps = math.ceil(train_images / want["fit"]["batch_size"])
    return {**want, "fit": {**want["fit"], "epochs": recipe.epochs, "steps": steps}}


def explain(lines: list[str]) -> str:
    return ("the configuration as trained differs from golden/notebook/trained_config.json:\n  "
            + "\n  ".join(lines))


def described_after_compile(name: str) -> dict:
    """The notebook's build and compile of ``name``, described with the notebook's fit."""
    return describe(compile_model(models.build_model(name, seed=0), DEFAULT_RECIPE), notebook_fit())


@pytest.fixture(scope="module")
def fit_start(small_dataset, tmp_path_factory) -> dict:
    """The description at fit start of the model with every layer kind (Dense, BN, Dropout)."""
    callback = DescribeAtTrainBegin(TINY.batch_size)
    train_and_evaluate(PLANTED_MODEL, small_dataset, TINY, tmp_path_factory.mktemp("fit-start"),
                       callbacks=[callback])
    return callback.description


def test_the_whole_configuration_at_fit_start_is_the_golden_one(fit_start, small_dataset):
    lines = diff(expected_for_run(PLANTED_MODEL, TINY, len(small_dataset.x_train)), fit_start)
    assert not lines, explain(lines)
    # What compile leaves is what fit starts with, so every model (and every planted change) can
    # be described at compile, without training it.
    after_compile = described_after_compile(PLANTED_MODEL)
    assert diff({**fit_start, "fit": {}}, {**after_compile, "fit": {}}) == []


@pytest.mark.parametrize("name", models.names())
def test_every_models_whole_configuration_is_the_golden_one(name):
    assert not (lines := diff(expected(name), described_after_compile(name))), explain(lines)


def test_later_fit_calls_only_advance_the_epochs(small_dataset, tmp_path):
    """``train_and_evaluate`` fits once per epoch: one description, fit.epochs the total."""
    callback = DescribeAtTrainBegin(TINY.batch_size)
    train_and_evaluate("softmax", small_dataset, Recipe(epochs=2, seed=0), tmp_path, callbacks=[callback])
    assert callback.fit_calls == 2
    assert callback.description["fit"] == {"epochs": 2, "steps": 16, "batch_size": 128}
    # ... and is what the run folder keeps beside result.json, for the matrix to diff
    saved = trained_config.load_saved(tmp_path / "softmax")
    assert saved == callback.description
    fit = notebook_fit(Recipe(epochs=2, seed=0), len(small_dataset.x_train))
    assert trained_config.golden_drift("softmax", saved, keras.__version__, fit) == []
    assert trained_config.golden_drift("softmax", saved, keras.__version__) == [
        "fit.epochs: expected 20, got 2", "fit.steps: expected 469, got 16"]


def test_the_golden_values_are_the_notebooks():
    """Cross-checks against golden/notebook/recipe.json and the transcribed architectures."""
    recipe = golden.load("recipe")
    for name in models.names():
        want = expected(name)
        optimizer = {key: want["optimizer"][key] for key in ("learning_rate", "beta_1", "beta_2",
                                                             "epsilon", "amsgrad")}
        assert want["optimizer"]["class_name"] == recipe["optimizer"]["class"] == "Adam"
        assert optimizer == {k: v for k, v in recipe["optimizer"].items() if k in optimizer}
        assert want["compile"]["loss"] == recipe["loss"]
        assert want["compile"]["metrics"] == recipe["metrics"]
        assert want["fit"] == {"batch_size": 128, "epochs": 20, "steps": math.ceil(60000 / 128)}
        assert want["keras"]["floatx"] == want["keras"]["dtype_policy"] == "float32"
        layers = want["model"]["layers"]
        dense = [layer["config"] for layer in layers if layer["class_name"] == "Dense"]
        spec = models.get_spec(name)
        assert [d["units"] for d in dense] == [*spec.hidden_units, 10]
        assert [d["kernel_initializer"]["config"]["stddev"] for d in dense[:-1]] == list(spec.init_stddevs)
        assert {d["kernel_initializer"]["config"]["mean"] for d in dense[:-1]} <= {0.0}
        assert [d["activation"] for d in dense] == ["relu"] * len(spec.hidden_units) + ["softmax"]
        assert dense[-1]["kernel_initializer"]["class_name"] == "GlorotUniform"
        assert all(d["bias_initializer"]["class_name"] == "Zeros" and d["use_bias"] for d in dense)
        for layer in layers:
            if layer["class_name"] == "BatchNormalization":
                config = layer["config"]
                assert {k: config[k] for k in recipe["batch_normalization"]} == recipe["batch_normalization"]
            if layer["class_name"] == "Dropout":
                assert layer["config"]["rate"] == spec.dropout


def test_both_keras_majors_have_a_section():
    data = golden.load(trained_config.GOLDEN)
    assert set(data["keras"]) == {"2", "3"}
    assert trained_config.section(data, "2")["shared"] == trained_config.section(data, "3")["shared"]


# --- Planted changes ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Plant:
    """A change planted through Keras's public API, and the dotted path the diff must name."""

    id: str
    path: str
    apply: Callable  # monkeypatch -> context manager


def _arguments(namespace, attribute: str, **extra):
    """A plant that adds ``extra`` keyword arguments to every ``namespace.attribute(...)`` call."""

    @contextlib.contextmanager
    def apply(monkeypatch):
        original = getattr(namespace, attribute)
        monkeypatch.setattr(namespace, attribute, lambda *a, **kw: original(*a, **{**kw, **extra}))
        yield

    return apply


def _compile(**extra):
    """A plant that adds or overrides ``model.compile`` keyword arguments."""

    @contextlib.contextmanager
    def apply(monkeypatch):
        original = keras.Model.compile
        monkeypatch.setattr(keras.Model, "compile",
                            lambda self, *a, **kw: original(self, *a, **{**kw, **extra}))
        yield

    return apply


def _hidden_activation(activation: str):
    """A plant that gives the hidden Dense layers ``activation`` instead of ReLU."""

    @contextlib.contextmanager
    def apply(monkeypatch):
        original = keras.layers.Dense

        def dense(*a, **kw):
            return original(*a, **{**kw, "activation": activation if kw.get("activation") == "relu"
                                   else kw.get("activation")})

        monkeypatch.setattr(keras.layers, "Dense", dense)
        yield

    return apply


def _global(setter: str, getter: str, value):
    """A plant that sets a Keras global setting for its duration, restoring it after."""

    @contextlib.contextmanager
    def apply(monkeypatch):
        module = keras.mixed_precision if "policy" in setter else keras.backend
        before = getattr(module, getter)()
        getattr(module, setter)(value)
        try:
            yield
        finally:
            getattr(module, setter)(before)

    return apply


PLANTS = (
    Plant("adam_use_ema", "optimizer.use_ema", _arguments(keras.optimizers, "Adam", use_ema=True)),
    Plant("adam_clipnorm", "optimizer.clipnorm", _arguments(keras.optimizers, "Adam", clipnorm=1.0)),
    Plant("adam_weight_decay", "optimizer.weight_decay",
          _arguments(keras.optimizers, "Adam", weight_decay=1e-4)),
    Plant("adam_global_clipnorm", "optimizer.global_clipnorm",
          _arguments(keras.optimizers, "Adam", global_clipnorm=1.0)),
    Plant("adam_clipvalue", "optimizer.clipvalue", _arguments(keras.optimizers, "Adam", clipvalue=0.5)),
    Plant("dense_kernel_regularizer", "model.layers[1].config.kernel_regularizer",
          _arguments(keras.layers, "Dense", kernel_regularizer=keras.regularizers.L2(1e-4))),
    Plant("dense_activity_regularizer", "model.layers[1].config.activity_regularizer",
          _arguments(keras.layers, "Dense", activity_regularizer=keras.regularizers.L1(1e-5))),
    Plant("dense_kernel_constraint", "model.layers[1].config.kernel_constraint",
          _arguments(keras.layers, "Dense", kernel_constraint=keras.constraints.MaxNorm(3.0))),
    Plant("hidden_activation_elu", "model.layers[1].config.activation", _hidden_activation("elu")),
    Plant("bn_beta_initializer_ones", "model.layers[2].config.beta_initializer.class_name",
          _arguments(keras.layers, "BatchNormalization", beta_initializer="ones")),
    Plant("bn_renorm", "model.layers[2].config.renorm",
          _arguments(keras.layers, "BatchNormalization", renorm=True)),
    Plant("dropout_seed", "model.layers[3].config.seed", _arguments(keras.layers, "Dropout", seed=1)),
    Plant("loss_weights", "compile.loss_weights", _compile(loss_weights=[0.5])),
    Plant("label_smoothing", "compile.loss",
          _compile(loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1))),
    Plant("floatx_float64", "keras.floatx", _global("set_floatx", "floatx", "float64")),
    Plant("mixed_float16", "keras.dtype_policy",
          _global("set_global_policy", "global_policy", "mixed_float16")),
    Plant("epsilon", "keras.epsilon", _global("set_epsilon", "epsilon", 1e-4)),
)


@pytest.mark.parametrize("plant", PLANTS, ids=[plant.id for plant in PLANTS])
def test_a_planted_change_is_named_by_its_dotted_path(plant, monkeypatch):
    with plant.apply(monkeypatch):
        described = described_after_compile(PLANTED_MODEL)
    lines = diff(expected(PLANTED_MODEL), described)
    assert any(line.startswith(plant.path + ": ") for line in lines), lines


def test_the_plants_leave_keras_as_they_found_it():
    assert (keras.backend.floatx(), keras.backend.epsilon()) == ("float32", 1e-7)
    assert keras.mixed_precision.global_policy().name == "float32"
    assert diff(expected(PLANTED_MODEL), described_after_compile(PLANTED_MODEL)) == []


def test_execution_settings_are_not_part_of_the_description(monkeypatch):
    """Declared out of scope (module docstring): they change speed, not the arithmetic."""
    with _compile(steps_per_execution=3, jit_compile=False, run_eagerly=True)(monkeypatch):
        assert diff(expected("softmax"), described_after_compile("softmax")) == []


# --- diff and the normalisation rule -----------------------------------------------------------


def test_diff_names_each_field_by_its_dotted_path():
    want = {"optimizer": {"epsilon": 1e-07, "gone": 1}, "model": {"layers": [{"a": None}, {"b": 1}]}}
    got = {"optimizer": {"epsilon": 0.001, "new": True}, "model": {"layers": [{"a": {"c": 2}}]}}
    assert diff(want, got) == [
        "optimizer.epsilon: expected 1e-07, got 0.001",
        'optimizer.gone: missing, expected 1',
        "optimizer.new: added, got true",
        'model.layers[0].a: expected null, got {"c": 2}',
        'model.layers[1]: missing, expected {"b": 1}',
    ]
    assert diff(want, want) == []
    assert diff({"x": 1}, {"x": True}) == ["x: expected 1, got true"]


def test_generated_labels_go_and_chosen_ones_stay():
    layer = {"class_name": "BatchNormalization", "config": {"name": "batch_normalization_3"}}
    chosen = {"class_name": "Dense", "config": {"name": "hidden"}}
    out = trained_config.normalise({"model": {"layers": [layer, chosen]},
                                    "optimizer": {"class_name": "Adam", "name": "adam_4"}})
    assert out == {"model": {"layers": [{"class_name": "BatchNormalization", "config": {}}, chosen]},
                   "optimizer": {"class_name": "Adam"}}
    wrapped = {"class_name": "LossScaleOptimizer", "name": "loss_scale_optimizer_1"}
    assert trained_config.normalise({"optimizer": wrapped}) == {
        "optimizer": {"class_name": "LossScaleOptimizer"}}
    named = {"class_name": "Adam", "name": "adam_with_decay"}
    assert trained_config.normalise({"optimizer": named}) == {"optimizer": named}


def test_version_keys_go_only_while_neutral():
    config = {"quantization_config": None, "renorm": False, "synchronized": True,
              "batch_input_shape": [None, 784], "axis": [1],
              "dtype": {"class_name": "Policy", "config": {"name": "mixed_float16"}}}
    out = trained_config.normalise({"model": {"layers": [{"class_name": "X", "config": config}]}})
    assert out["model"]["layers"][0]["config"] == {"synchronized": True, "batch_shape": [None, 784],
                                                   "axis": -1, "dtype": "mixed_float16"}


def test_every_rule_is_declared_with_one_action_and_a_reason():
    for rule in trained_config.NORMALISATION:
        actions = [rule.rename is not None, rule.replace is not None,
                   rule.always or rule.when is not None or rule.neutral is not trained_config._UNSET]
        assert sum(actions) == 1 and len(rule.why) > 20, rule.path
