"""Every random draw of a seeded run that the project owns: initial weights and batch order.

A seed means the same run on every backend and Keras version: the draws come from numpy, never
from the backend, by one derivation, ``numpy.random.default_rng([seed, stream, *index])``:

- stream ``WEIGHTS``: each Dense layer's kernel, in layer order, from the distribution its
  layer declares (``RandomNormal(mean, stddev)``: normal; ``GlorotUniform``: uniform on
  ``+-sqrt(6 / (fan_in + fan_out))``), drawn in float64 and rounded to float32; biases are zero
  (their declared ``Zeros``). BatchNormalization keeps its constant start (gamma 1, beta 0,
  moving mean 0, moving variance 1).
- stream ``ORDER``, index ``epoch``: a permutation of the training set for that epoch, so every
  epoch has an order of its own and a resumed run continues with the order it would have had.

Dropout masks are not owned: they come from the backend's generator, seeded by
``compat.seed_everything``, so they differ between backends. Without a seed every draw is fresh.
"""

from __future__ import annotations

import math

import numpy as np

SCHEME = "numpy-v1"  # recorded with every result; a run of another scheme is another run
WEIGHTS, ORDER = 0, 1


class UndeclaredDrawError(ValueError):
    """A layer declares an initializer this module cannot draw from."""


def generator(seed: int | None, stream: int, *index: int) -> np.random.Generator:
    """The generator of one stream of a run (fresh entropy when ``seed`` is None)."""
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng([seed, stream, *index])


def epoch_order(seed: int | None, epoch: int, samples: int) -> np.ndarray:
    """The order in which epoch ``epoch`` (0-based) visits the ``samples`` training images."""
    return generator(seed, ORDER, epoch).permutation(samples)


def _kernel(initializer, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    kind = type(initializer).__name__
    config = initializer.get_config()
    if kind == "RandomNormal":
        values = rng.normal(config["mean"], config["stddev"], shape)
    elif kind == "GlorotUniform":
        limit = math.sqrt(6 / sum(shape))
        values = rng.uniform(-limit, limit, shape)
    else:
        raise UndeclaredDrawError(f"no numpy draw for a {kind} kernel initializer")
    return values.astype(np.float32)


def initial_weights(model, seed: int | None) -> list[list[np.ndarray]]:
    """Per Dense layer of ``model`` (in order), its ``[kernel, bias]`` drawn from ``seed``."""
    rng = generator(seed, WEIGHTS)
    drawn = []
    for layer in model.layers:
        if type(layer).__name__ != "Dense":
            continue
        if type(layer.bias_initializer).__name__ != "Zeros":
            raise UndeclaredDrawError(f"{layer.name}: biases start at zero, got {layer.bias_initializer}")
        kernel_shape = tuple(int(d) for d in layer.kernel.shape)
        drawn.append([_kernel(layer.kernel_initializer, kernel_shape, rng),
                      np.zeros(kernel_shape[1], dtype=np.float32)])
    return drawn


def set_initial_weights(model, seed: int | None) -> None:
    """Replace the Dense layers' weights of a freshly built ``model`` by the seed's draws."""
    dense = [layer for layer in model.layers if type(layer).__name__ == "Dense"]
    for layer, weights in zip(dense, initial_weights(model, seed)):
        layer.set_weights(weights)
