"""Every registered model is built exactly as the notebook built it: one battery of checks,
parametrized over the registry, expectations declared as data."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_mlp.compat import keras, layer_output_shape, to_numpy
from mnist_mlp.notebook import golden, models

NAMES = models.names()
# The notebook's widths and init stddevs (RandomNormal mean 0), written independently of the code.
EXPECTED = {
    "arch1_relu": ((600, 100), (0.062, 0.125)),
    "arch1_bn": ((600, 100), (0.039, 0.55)),
    "arch1_bn_dropout": ((600, 100), (0.039, 0.55)),
    "arch2_relu": ((500, 250, 125), (0.062, 0.125, 0.125)),
    "arch2_bn_dropout": ((500, 250, 125), (0.039, 0.55, 0.55)),
    "arch3_relu": ((700, 350, 200, 100, 50), (0.062, 0.125, 0.25, 0.1, 0.5)),
    "arch3_bn_dropout": ((700, 350, 200, 100, 50), (0.039, 0.25, 0.55, 0.15, 0.3)),
    "softmax": ((), ()),
}
DROPOUT_MODELS = [n for n in NAMES if n.endswith("_dropout")]


@pytest.fixture(scope="module")
def built():
    return {name: models.build_model(name, seed=0) for name in NAMES}


def formula_counts(name: str) -> dict[str, int]:
    """Parameter counts from the widths alone: Dense (fan_in + 1) * units, BN 4 per unit (2 frozen)."""
    widths, _ = EXPECTED[name]
    batch_norm = "_bn" in name
    dense = sum((a + 1) * b for a, b in zip((784, *widths), (*widths, 10)))
    frozen = 2 * sum(widths) if batch_norm else 0
    return {"total": dense + 2 * frozen, "trainable": dense + frozen, "non_trainable": frozen}


def test_names_are_the_notebook_order_then_softmax():
    assert NAMES == ("arch1_relu", "arch1_bn", "arch1_bn_dropout", "arch2_relu",
                     "arch2_bn_dropout", "arch3_relu", "arch3_bn_dropout", "softmax")


@pytest.mark.parametrize("name", NAMES)
def test_parameter_totals_match_golden_and_formula(built, name):
    counts = models.param_totals(built[name])
    entry = golden.load("architectures")["models"][name]
    assert counts == {k: entry[k] for k in ("total", "trainable", "non_trainable")}
    assert counts == formula_counts(name)
    assert built[name].count_params() == counts["total"]


@pytest.mark.parametrize("name", NAMES)
def test_layers_classes_shapes_and_params_match_golden(built, name):
    actual = [
        {"class": type(layer).__name__, "output_shape": list(layer_output_shape(layer)),
         "params": layer.count_params()}
        for layer in built[name].layers
    ]
    assert actual == golden.load("architectures")["models"][name]["layers"]


@pytest.mark.parametrize("name", NAMES)
def test_model_starts_with_784_inputs(built, name):
    assert tuple(built[name].inputs[0].shape) == (None, 784)


@pytest.mark.parametrize("name", NAMES)
def test_kernel_initializers_are_the_notebooks(built, name):
    widths, stddevs = EXPECTED[name]
    dense = [layer for layer in built[name].layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [*widths, 10]
    for layer, stddev in zip(dense, stddevs):
        init = layer.kernel_initializer
        assert isinstance(init, keras.initializers.RandomNormal)
        assert (init.mean, init.stddev) == (0.0, stddev)
        kernel = np.asarray(layer.kernel)
        assert abs(kernel.std() / stddev - 1) < 0.03, f"{layer.name} empirical std {kernel.std()}"
        assert abs(kernel.mean()) < stddev * 0.05
    assert isinstance(dense[-1].kernel_initializer, keras.initializers.GlorotUniform)
    assert dense[-1].activation.__name__ == "softmax"
    assert all(layer.activation.__name__ == "relu" for layer in dense[:-1])


@pytest.mark.parametrize("name", NAMES)
def test_softmax_outputs_sum_to_one(built, name):
    x = np.random.default_rng(0).random((16, 784), dtype=np.float32)
    out = to_numpy(built[name](x, training=False))
    assert out.shape == (16, 10)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name", DROPOUT_MODELS)
def test_dropout_only_in_training(built, name):
    x = np.random.default_rng(1).random((32, 784), dtype=np.float32)
    model = built[name]
    assert np.array_equal(to_numpy(model(x, training=False)), to_numpy(model(x, training=False)))
    assert not np.allclose(to_numpy(model(x, training=True)), to_numpy(model(x, training=True)))
    rates = [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert rates == [0.5] * len(EXPECTED[name][0])


@pytest.mark.parametrize("name", NAMES)
def test_seeded_builds_are_identical_unseeded_differ(name):
    def weights(seed):
        return [np.asarray(w) for w in models.build_model(name, seed=seed).weights]

    assert all(np.array_equal(a, b) for a, b in zip(weights(7), weights(7)))
    first, second = weights(None)[0], weights(None)[0]
    assert not np.array_equal(first, second)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(models.UnknownModelError) as excinfo:
        models.get_spec("arch4")
    message = str(excinfo.value)
    assert "'arch4'" in message and all(name in message for name in NAMES) and "\n" not in message


def test_stddev_discrepancy_is_recorded_on_the_bn_specs():
    for name in ("arch1_bn", "arch1_bn_dropout", "arch2_bn_dropout", "arch3_bn_dropout"):
        assert "0.055" in models.get_spec(name).note and "0.55" in models.get_spec(name).note
