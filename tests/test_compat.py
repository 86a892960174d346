"""The Keras 2.15 / Keras 3 seam: one clear error outside the supported range, same behaviour
inside, and every Keras internal that mnist_mlp relies on still where compat says it is."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from mnist_mlp import compat
from mnist_mlp.notebook import models
from mnist_mlp.notebook.recipe import DEFAULT_RECIPE
from mnist_mlp.training.train import compile_model


@pytest.mark.parametrize("version", ["2.14.0", "2.16.0", "1.2.2", "4.0.0"])
def test_unsupported_keras_is_one_clear_error(version):
    with pytest.raises(compat.UnsupportedKerasError) as excinfo:
        compat.check_keras_version(version)
    message = str(excinfo.value)
    assert version in message and "Keras 2.15" in message and "Keras 3" in message
    assert "\n" not in message


@pytest.mark.parametrize("version", ["2.15.0", "2.15.1", "3.0.0", "3.15.1"])
def test_supported_keras_versions_pass(version):
    compat.check_keras_version(version)


def test_installed_keras_is_the_one_imported():
    installed = importlib.metadata.version("keras")
    compat.check_keras_version(installed)
    assert compat.keras.__version__ == installed
    assert compat.KERAS_3 == installed.startswith("3.")


def test_to_categorical_is_float32_on_every_keras():
    encoded = compat.to_categorical(np.array([5, 0, 9], dtype=np.uint8))
    assert encoded.dtype == np.float32 and encoded.shape == (3, 10)
    assert encoded[0].tolist() == [0, 0, 0, 0, 0, 1, 0, 0, 0, 0]


def test_versions_name_the_installed_stack():
    info = compat.versions()
    assert info["keras"] == importlib.metadata.version("keras")
    assert info["numpy"] == importlib.metadata.version("numpy")
    assert info["python"] == "{}.{}.{}".format(*sys.version_info[:3])
    expected_backend = os.environ.get("KERAS_BACKEND", "tensorflow") if compat.KERAS_3 else "tensorflow"
    assert info["backend"] == expected_backend
    assert info["cpu_count"] == os.cpu_count() and isinstance(info["threads"], dict)


def test_weight_paths_name_layer_and_weight():
    model = models.build_model("arch1_bn", seed=0)
    ends = [compat.weight_path(w).split("/")[-1] for w in model.weights]
    assert ends == ["kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance",
                    "kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance",
                    "kernel", "bias"]


def test_named_backend_wins(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert compat.choose_backend() == ("torch", "KERAS_BACKEND")


def test_fastest_installed_backend_is_chosen_when_none_is_named(monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    installed = {"tensorflow", "torch"}  # no jax here
    monkeypatch.setattr(compat.importlib.util, "find_spec", lambda m: object() if m in installed else None)
    assert compat.choose_backend() == ("tensorflow", "fastest installed")
    assert compat.os.environ["KERAS_BACKEND"] == "tensorflow"


@pytest.mark.parametrize("backend", sorted(compat.KERAS_INTERNALS))
def test_keras_internals_are_where_compat_says(backend):
    """One case per backend, run in that backend's env (KERAS_BACKEND, tox -e jax / torch): a Keras
    upgrade that moves a private attribute fails here, naming it."""
    if backend != compat.backend_name():
        pytest.skip(f"checked under KERAS_BACKEND={backend}; this process runs {compat.backend_name()}")
    model = compile_model(models.build_model("softmax", seed=0), DEFAULT_RECIPE)
    model.make_train_function()
    missing = compat.missing_internals(model)
    assert not missing, (
        f"Keras {compat.keras.__version__} ({backend}) no longer has {missing}: "
        "update mnist_mlp.compat.KERAS_INTERNALS and the code that uses them"
    )


@pytest.mark.skipif(not compat.KERAS_3, reason="Keras 2 has no lazy TensorFlow handle")
def test_the_tensorflow_handle_is_where_compat_says():
    module, _, name = compat.TENSORFLOW_HANDLE.rpartition(".")
    handle = getattr(importlib.import_module(module), name)
    assert {"module", "_available"} <= set(vars(handle)), (
        f"Keras {compat.keras.__version__} changed {compat.TENSORFLOW_HANDLE}: update compat")


def seeded_draws(seed_with) -> list:
    """Python's, NumPy's and Keras's global-generator draws right after ``seed_with(7)``."""
    import random

    seed_with(7)
    keras_draw = compat.to_numpy(compat.keras.random.uniform((3,))).tolist() if compat.KERAS_3 else None
    return [random.random(), float(np.random.rand()), keras_draw]


def test_seeding_draws_what_keras_set_random_seed_draws():
    """Our seeding skips only TensorFlow's step on JAX and PyTorch: every generator the run uses
    starts where Keras's own seeding puts it."""
    expected = seeded_draws(compat.keras.utils.set_random_seed)
    assert seeded_draws(lambda seed: compat.seed_everything(seed, deterministic_ops=False)) == expected


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs the JAX backend installed")
def test_a_jax_process_seeds_builds_and_describes_its_model_without_importing_tensorflow():
    """Keras would import TensorFlow (when installed) to seed it and to serialize configs."""
    probe = ("import sys; from mnist_mlp import compat; from mnist_mlp.notebook import models; "
             "from mnist_mlp.training import train; "
             "from mnist_mlp.notebook.recipe import DEFAULT_RECIPE; "
             "compat.seed_everything(0); model = train.compile_model(models.build_model('arch1_bn_dropout', "
             "seed=0), DEFAULT_RECIPE); compat.keras.saving.serialize_keras_object(model.optimizer); "
             "print(compat.backend_name(), 'tensorflow' in sys.modules)")
    found = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "KERAS_BACKEND": "jax"},
                           capture_output=True, text=True, check=True)
    assert found.stdout.split() == ["jax", "False"]
