"""Shared fixtures: real MNIST once per session (verified, from whatever source this machine has),
preprocessed arrays, and a small slice of them for fast training-plumbing tests."""

from __future__ import annotations

import pytest

from mnist_mlp import data


@pytest.fixture(scope="session")
def mnist() -> data.MNIST:
    return data.fetch_mnist()


@pytest.fixture(scope="session")
def dataset(mnist):
    from mnist_mlp.train import Dataset

    return Dataset.from_mnist(mnist.as_keras_tuple())


@pytest.fixture(scope="session")
def small_dataset(dataset):
    """2,048 training and 512 test images: one epoch trains in about a second."""
    from mnist_mlp.train import Dataset

    return Dataset(dataset.x_train[:2048], dataset.y_train[:2048], dataset.x_test[:512], dataset.y_test[:512])
