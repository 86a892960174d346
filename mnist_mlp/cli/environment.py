"""The settings the backends read from the process environment, checked before any of them starts.

A bad ``KERAS_BACKEND`` ends in Keras's own traceback, a bad ``MPLBACKEND`` in matplotlib's, and an
``XLA_FLAGS`` flag that XLA does not know makes XLA end the process with exit code 1, the code that
means a failed gate here. ``check`` turns each into one ``EnvironmentSettingError`` line (exit 2)
first. XLA's flags can only be checked by XLA: where JAX is the backend and ``XLA_FLAGS`` is set, a
child process starts JAX's CPU client once (about a second, only then).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

from mnist_mlp.errors import MnistMlpError

BACKENDS = ("jax", "tensorflow", "torch")
XLA_PROBE = "import jax; jax.devices('cpu')"


class EnvironmentSettingError(MnistMlpError, ValueError):
    """An environment variable a backend reads holds a value it cannot use."""


def keras_backend_error(name: str) -> str | None:
    if name not in BACKENDS:
        return (f"KERAS_BACKEND={name} is not a backend mnist_mlp trains on; "
                f"set it to one of {', '.join(BACKENDS)}, or unset it")
    if importlib.util.find_spec(name) is None:
        return f"KERAS_BACKEND={name}, but {name} is not installed; install it or choose another backend"
    return None


def matplotlib_backend_error(name: str) -> str | None:
    saved = os.environ.pop("MPLBACKEND", None)  # importing matplotlib would fail on it
    try:
        from matplotlib import rcsetup
    finally:
        if saved is not None:
            os.environ["MPLBACKEND"] = saved
    try:
        rcsetup.validate_backend(name)
    except ValueError:
        return f"MPLBACKEND={name} is not a matplotlib backend; unset it (reports draw with Agg) or fix it"
    return None


def xla_flags_error(flags: str) -> str | None:
    """Why XLA refuses ``flags``, from a child process that starts it, or None."""
    probe = subprocess.run([sys.executable, "-c", XLA_PROBE], capture_output=True, text=True,
                           env={**os.environ, "XLA_FLAGS": flags}, check=False)
    if probe.returncode == 0:
        return None
    said = [line for line in probe.stderr.splitlines() if "XLA_FLAGS" in line or "flag" in line.lower()]
    why = said[-1].split("] ", 1)[-1].strip() if said else f"XLA exited with {probe.returncode}"
    return f"XLA_FLAGS={flags!r}: {why}; fix or unset XLA_FLAGS"


def check() -> None:
    """Raise EnvironmentSettingError naming the first setting a backend would fail on."""
    backend = os.environ.get("KERAS_BACKEND")
    errors = [
        backend and keras_backend_error(backend),
        os.environ.get("MPLBACKEND") and matplotlib_backend_error(os.environ["MPLBACKEND"]),
    ]
    jax_runs = backend == "jax" or (not backend and importlib.util.find_spec("jax") is not None)
    if not any(errors) and jax_runs and os.environ.get("XLA_FLAGS"):  # blank too: XLA reads " " as a file
        errors.append(xla_flags_error(os.environ["XLA_FLAGS"]))
    if first := next((e for e in errors if e), None):
        raise EnvironmentSettingError(first)
