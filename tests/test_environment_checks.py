"""Settings the backends read from the environment are checked before any backend starts: a bad
one is one line naming it and exit 2, never a traceback (exit 3) or a backend's own exit 1."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

CLI = [sys.executable, "-m", "mnist_mlp"]


def run(env_update: dict, *argv: str) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, **env_update}
    return subprocess.run([*CLI, *argv], capture_output=True, text=True, env=env, check=False)


@pytest.mark.parametrize(("setting", "named"), [
    ({"KERAS_BACKEND": "foo"}, "KERAS_BACKEND=foo"),
    ({"MPLBACKEND": "nonsense"}, "MPLBACKEND=nonsense"),
])
def test_a_bad_backend_setting_is_one_line_and_exit_2(setting, named):
    done = run(setting, "summary", "arch1_relu")
    assert done.returncode == 2, done.stderr[-1500:]
    assert done.stderr.count("\n") == 1 and named in done.stderr
    assert "Traceback" not in done.stderr


def test_a_backend_that_is_not_installed_is_named(monkeypatch):
    from mnist_mlp.cli import environment

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "torch" else real(name))
    assert environment.keras_backend_error("torch") == (
        "KERAS_BACKEND=torch, but torch is not installed; install it or choose another backend")
    assert environment.keras_backend_error("jax") is None or real("jax") is None


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="XLA_FLAGS is read by JAX's XLA")
def test_an_xla_flag_xla_does_not_know_is_exit_2_not_its_exit_1():
    done = run({"KERAS_BACKEND": "jax", "XLA_FLAGS": "--no_such_xla_flag=1"}, "summary", "arch1_relu")
    assert done.returncode == 2, done.stderr[-1500:]
    assert done.stderr.count("\n") == 1
    assert "XLA_FLAGS" in done.stderr and "--no_such_xla_flag" in done.stderr


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="XLA_FLAGS is read by JAX's XLA")
def test_a_blank_xla_flags_is_exit_2_not_xlas_exit_1():
    """XLA reads a blank XLA_FLAGS as the name of a flags file and ends the process with exit 1."""
    done = run({"KERAS_BACKEND": "jax", "XLA_FLAGS": " "}, "summary", "arch1_relu")
    assert done.returncode == 2, done.stderr[-1500:]
    assert done.stderr.count("\n") == 1 and "XLA_FLAGS=' '" in done.stderr
