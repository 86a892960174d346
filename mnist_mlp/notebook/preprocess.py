"""The notebook's preprocessing: flatten to 784, scale to [0, 1], one-hot the labels."""

from __future__ import annotations

import dataclasses

import numpy as np

from mnist_mlp.notebook.models import NUM_CLASSES


def flatten(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) -> (N, 784), as the notebook's ``reshape``."""
    return images.reshape(images.shape[0], -1)


def scale(pixels: np.ndarray) -> np.ndarray:
    """uint8 0..255 -> float32 in [0, 1] (the notebook's ``X / 255``)."""
    return pixels.astype(np.float32) / np.float32(255)


def one_hot(labels: np.ndarray) -> np.ndarray:
    """Integer labels -> (N, 10) float32 one-hot, through Keras's ``to_categorical``."""
    from mnist_mlp.compat import to_categorical

    return to_categorical(labels, NUM_CLASSES)


def preprocess(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return scale(flatten(images)), one_hot(labels)


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Preprocessed arrays: x float32 (N, 784) in [0, 1], y float32 one-hot (N, 10)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @classmethod
    def from_mnist(cls, mnist_arrays) -> Dataset:
        (x_train, y_train), (x_test, y_test) = mnist_arrays
        return cls(*preprocess(x_train, y_train), *preprocess(x_test, y_test))
