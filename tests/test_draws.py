"""The project owns a seeded run's random draws: the same initial weights and batch order on every
backend and Keras version (golden/measured/draws.json holds their digests, checked in every env)."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from mnist_mlp.notebook import draws, golden, models
from mnist_mlp.notebook.models import INPUT_DIM, NUM_CLASSES

GOLDEN = golden.load("draws")


def digest(arrays) -> str:
    """sha256 of the arrays' float32 bytes, in order (little-endian, C order)."""
    h = hashlib.sha256()
    for array in arrays:
        h.update(np.ascontiguousarray(array, dtype="<f4").tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("name", models.names())
def test_seeded_initial_weights_are_the_golden_arrays_on_every_backend(name):
    weights = models.build_model(name, seed=GOLDEN["weights_seed"]).get_weights()
    assert digest(weights) == GOLDEN["initial_weights_sha256"][name]


def test_kernels_follow_the_documented_derivation():
    """Restated from draws' docstring, not from its code: one generator per seed, kernels in layer
    order, RandomNormal(0, stddev) for hidden layers, Glorot uniform for the output, zero biases."""
    seed = 11
    rng = np.random.default_rng([seed, 0])
    expected = [rng.normal(0.0, 0.062, (INPUT_DIM, 600)).astype(np.float32),
                rng.normal(0.0, 0.125, (600, 100)).astype(np.float32)]
    limit = math.sqrt(6 / (100 + NUM_CLASSES))
    expected.append(rng.uniform(-limit, limit, (100, NUM_CLASSES)).astype(np.float32))
    weights = models.build_model("arch1_relu", seed=seed).get_weights()
    assert [w.shape for w in weights] == [(784, 600), (600,), (600, 100), (100,), (100, 10), (10,)]
    for kernel, bias, want in zip(weights[0::2], weights[1::2], expected):
        np.testing.assert_array_equal(kernel, want)
        assert not bias.any()


def test_batch_normalization_keeps_its_constant_start():
    weights = models.build_model("arch1_bn", seed=3).get_weights()
    gamma, beta, mean, variance = weights[2:6]
    assert gamma.shape == (600,)
    assert (gamma == 1).all() and not beta.any() and not mean.any() and (variance == 1).all()


def test_different_seeds_draw_different_weights_and_no_seed_draws_fresh():
    def first_kernel(seed):
        return models.build_model("softmax", seed=seed).get_weights()[0]

    assert not np.array_equal(first_kernel(1), first_kernel(2))
    assert not np.array_equal(first_kernel(None), first_kernel(None))


def test_epoch_order_is_the_golden_permutation_per_epoch():
    orders = [draws.epoch_order(GOLDEN["order_seed"], epoch, GOLDEN["order_samples"]) for epoch in range(3)]
    for order in orders:
        assert sorted(order.tolist()) == list(range(GOLDEN["order_samples"]))
    assert [hashlib.sha256(o.astype("<i8").tobytes()).hexdigest() for o in orders] == \
        GOLDEN["epoch_order_sha256"]
    assert len({o.tobytes() for o in orders}) == 3  # a new order every epoch


def test_epoch_order_follows_the_documented_derivation():
    np.testing.assert_array_equal(draws.epoch_order(5, 7, 1000),
                                  np.random.default_rng([5, 1, 7]).permutation(1000))


def test_an_undeclared_initializer_is_refused():
    from mnist_mlp.compat import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, kernel_initializer="he_normal")])
    with pytest.raises(draws.UndeclaredDrawError, match="HeNormal"):
        draws.set_initial_weights(model, 0)
