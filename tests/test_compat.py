"""The Keras 2.15 / Keras 3 seam: one clear error outside the supported range, same behaviour inside."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from mnist_mlp import compat


@pytest.mark.parametrize("version", ["2.14.0", "2.16.0", "1.2.2", "4.0.0"])
def test_unsupported_keras_is_one_clear_error(monkeypatch, version):
    monkeypatch.setenv("KERAS_BACKEND", compat.backend_name())
    monkeypatch.setitem(sys.modules, "keras", types.SimpleNamespace(__version__=version))
    with pytest.raises(compat.UnsupportedKerasError) as excinfo:
        compat._import_keras()
    message = str(excinfo.value)
    assert version in message and "Keras 2.15" in message and "Keras 3" in message
    assert "\n" not in message


@pytest.mark.parametrize("version", ["2.15.0", "3.0.0", "3.15.1"])
def test_supported_keras_imports(monkeypatch, version):
    monkeypatch.setenv("KERAS_BACKEND", compat.backend_name())
    fake = types.SimpleNamespace(__version__=version)
    monkeypatch.setitem(sys.modules, "keras", fake)
    assert compat._import_keras() is fake


def test_to_categorical_is_float32_on_every_keras():
    encoded = compat.to_categorical(np.array([5, 0, 9], dtype=np.uint8))
    assert encoded.dtype == np.float32 and encoded.shape == (3, 10)
    assert encoded[0].tolist() == [0, 0, 0, 0, 0, 1, 0, 0, 0, 0]


def test_versions_name_the_stack():
    info = compat.versions()
    assert info["keras"] == compat.keras.__version__
    assert info["backend"] in {"tensorflow", "jax", "torch"}
    assert info["python"].count(".") == 2


def test_named_backend_wins(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert compat.choose_backend() == ("torch", "KERAS_BACKEND")


def test_fastest_installed_backend_is_chosen_when_none_is_named(monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    installed = {"tensorflow", "torch"}  # no jax here
    monkeypatch.setattr(compat.importlib.util, "find_spec", lambda m: object() if m in installed else None)
    assert compat.choose_backend() == ("tensorflow", "fastest installed")
    assert compat.os.environ["KERAS_BACKEND"] == "tensorflow"
