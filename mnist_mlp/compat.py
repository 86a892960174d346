"""The one seam between Keras 2.15 (TensorFlow 2.15, the notebook's world) and Keras 3.x.

Everything else in mnist_mlp imports ``keras`` from here and calls these helpers where the two
APIs differ, so version checks live in one file instead of being scattered through the code.
Every Keras attribute outside its documented API that mnist_mlp relies on is named in
``KERAS_INTERNALS`` below, and tests/test_compat.py checks that each still exists.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform

import numpy as np

SUPPORTED = "Keras 2.15 (TensorFlow 2.15) or Keras 3.x (TensorFlow >= 2.16, JAX or PyTorch backend)"


class UnsupportedKerasError(ImportError):
    """The installed Keras is outside the range this library is tested on."""


# Keras 3 backends (each named as its Python package), fastest training step first (measured:
# docs/performance.md).
BACKEND_PREFERENCE = ("jax", "tensorflow", "torch")

# Keras attributes outside the documented API that mnist_mlp relies on (its benchmark access to
# fit's compiled step included, at the end of this file), per backend: a compiled model's
# ``train_function`` as ``fit`` calls it, and on JAX the state that fit threads through it.
# tests/test_compat.py checks each name on a compiled model of its backend, so a Keras upgrade
# that moves one fails there, by name.
KERAS_INTERNALS: dict[str, tuple[str, ...]] = {
    "tensorflow": ("make_train_function", "train_function", "steps_per_execution",
                   "distribute_strategy"),
    "jax": ("make_train_function", "train_function", "steps_per_execution", "_symbolic_build",
            "_get_jax_state", "_jax_state_synced", "jax_state_sync"),
    "torch": ("make_train_function", "train_function", "steps_per_execution"),
}


def choose_backend() -> tuple[str, str]:
    """The Keras 3 backend to use and why: the user's ``KERAS_BACKEND``, else the fastest installed.

    Must run before ``import keras``; it sets ``KERAS_BACKEND`` so Keras agrees.
    """
    named = os.environ.get("KERAS_BACKEND")
    if named:
        return named, "KERAS_BACKEND"
    for name in BACKEND_PREFERENCE:
        if importlib.util.find_spec(name) is not None:
            os.environ["KERAS_BACKEND"] = name
            return name, "fastest installed"
    return "tensorflow", "default"


def check_keras_version(version: str) -> None:
    """Raise UnsupportedKerasError (one line naming the range and the fix) outside 2.15 and 3.x."""
    major, minor = (int(part) for part in version.split(".")[:2])
    if not (major == 3 or (major, minor) == (2, 15)):
        raise UnsupportedKerasError(
            f"mnist_mlp supports {SUPPORTED}; found Keras {version}: "
            "install tensorflow>=2.15 (with keras<3 for 2.15)"
        )


def _import_keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out
    global BACKEND_CHOICE
    BACKEND_CHOICE = choose_backend()
    import keras

    check_keras_version(keras.__version__)
    return keras


BACKEND_CHOICE: tuple[str, str] = ("tensorflow", "default")
keras = _import_keras()
KERAS_3 = keras.__version__.startswith("3.")
if keras.backend.backend() != BACKEND_CHOICE[0]:
    # Something (``import tensorflow``, say) imported Keras before us, with keras.json's backend.
    BACKEND_CHOICE = (keras.backend.backend(), "Keras was imported before mnist_mlp chose")


def backend_name() -> str:
    return keras.backend.backend()


# Keras 3's lazy handle through which its helpers ask whether TensorFlow is installed.
TENSORFLOW_HANDLE = "keras.src.utils.module_utils.tensorflow"


def _hide_tensorflow_from_keras() -> None:
    """On a JAX or PyTorch backend, Keras treats TensorFlow as absent. Several of its helpers
    (``set_random_seed``, ``serialize_keras_object``) import TensorFlow whenever it is installed,
    only to seed it or to test isinstance against its types: seconds of start-up in every run and
    every pool worker of a process that never uses it (docs/performance.md)."""
    from keras.src.utils import module_utils

    if module_utils.tensorflow.module is None:  # nothing imported it yet
        module_utils.tensorflow._available = False


if KERAS_3 and backend_name() != "tensorflow":
    _hide_tensorflow_from_keras()


def to_categorical(labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """One-hot as float32 on both Keras lines (Keras 3 returns float64 for numpy input)."""
    return keras.utils.to_categorical(labels, num_classes).astype(np.float32)


def seed_everything(seed: int, deterministic_ops: bool = True) -> None:
    """Seed Python, NumPy and the backend; with TensorFlow, also ask for deterministic kernels."""
    keras.utils.set_random_seed(seed)
    if not KERAS_3:
        # Keras 2's legacy stateful RNG ops keep their state in kernels that TensorFlow may share
        # between two models of one process, so Dropout masks would not repeat; a per-layer
        # tf.random.Generator (Keras 3's behaviour) does.
        keras.backend.experimental.enable_tf_random_generator()
    if deterministic_ops and backend_name() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def to_numpy(tensor) -> np.ndarray:
    """A backend tensor (even one that tracks gradients, as PyTorch's do) as a numpy array."""
    if KERAS_3:
        return keras.ops.convert_to_numpy(tensor)
    return np.asarray(tensor)


def compile_options(steps_per_execution: int, jit_compile) -> dict:
    """``compile()`` speed options this backend accepts (PyTorch has no steps_per_execution)."""
    if backend_name() == "torch":
        return {"steps_per_execution": 1, "jit_compile": False}
    return {"steps_per_execution": steps_per_execution, "jit_compile": jit_compile}


def weight_path(variable) -> str:
    """A weight's ``layer/name`` path: Keras 3's ``path``; Keras 2's ``name`` (with ``:0``)."""
    return getattr(variable, "path", None) or variable.name.removesuffix(":0")


def missing_internals(model) -> list[str]:
    """The names in ``KERAS_INTERNALS`` for this backend that a compiled ``model`` lacks."""
    return [name for name in KERAS_INTERNALS[backend_name()] if not hasattr(model, name)]


def layer_output_shape(layer) -> tuple:
    """A built layer's output shape as a plain tuple, e.g. ``(None, 600)``."""
    shape = layer.output.shape
    return tuple(None if d is None else int(d)
                 for d in (shape.as_list() if hasattr(shape, "as_list") else shape))


def versions() -> dict[str, str]:
    """The software and machine a result came from, recorded in every result.json."""
    info = {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "backend": backend_name(),
        "backend_chosen_by": BACKEND_CHOICE[1] if KERAS_3 else "Keras 2 (TensorFlow only)",
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        # The cores this process may run on: a worker of ``reproduce --jobs N`` is pinned to its own.
        "cpus": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "threads": thread_settings(),
    }
    for package in ("tensorflow", "jax", "torch"):  # metadata only: importing would load them
        try:
            info[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            info[package] = None
    return info


def thread_settings() -> dict:
    """How many threads the backend computes with, recorded in every result. Training keeps each
    backend's default (pinning one thread bought nothing: docs/performance.md); the benchmarks
    pin their own count, for ratios that travel between machines."""
    backend = backend_name()
    if backend == "tensorflow":
        import tensorflow as tf

        intra = tf.config.threading.get_intra_op_parallelism_threads()
        return {"tf_intra_op": intra or f"auto ({os.cpu_count()})",
                "tf_inter_op": tf.config.threading.get_inter_op_parallelism_threads() or "auto"}
    if backend == "torch":
        import torch

        return {"torch_threads": torch.get_num_threads()}
    return {"xla_flags": os.environ.get("XLA_FLAGS", "") or f"default (all {os.cpu_count()} cores)"}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# =============================================================================================
# fit's compiled train function, as the benchmarks call it (benchmarks/instruments/train_step.py):
# the private API behind it, kept here with the rest of the Keras internals (KERAS_INTERNALS).

JAX_PRIVATE_API = ("_symbolic_build", "_get_jax_state", "jax_state_sync", "make_train_function")
JAX_STATE_PARTS = ("trainable_variables", "non_trainable_variables", "optimizer_variables",
                   "metrics_variables")


def steps_per_execution(model) -> int:
    """Optimizer steps per call of a compiled model's train function (Keras 2 keeps it private)."""
    return model.steps_per_execution if KERAS_3 else int(model._steps_per_execution.numpy())


def jax_train_state(model, batch: tuple) -> list:
    """fit's JAX training state for ``model`` (its ``JAX_STATE_PARTS``), built as fit builds it
    for ``batch`` (optimizer and metrics included)."""
    model._symbolic_build(data_batch=batch)
    return model._get_jax_state(trainable_variables=True, non_trainable_variables=True,
                                optimizer_variables=True, metrics_variables=True,
                                purge_model_variables=False)


def put_jax_state(model, state) -> None:
    """Write a JAX training state back into the model's variables, as fit does after an epoch."""
    model._jax_state = dict(zip(JAX_STATE_PARTS, state))
    model._jax_state_synced = False
    model.jax_state_sync()
