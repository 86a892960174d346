"""Compile once: JAX's persistent compilation cache lives beside the MNIST cache, is reused by the
next process with bit-identical results, and an entry it cannot read is compiled again."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mnist_mlp.compat import keras
from mnist_mlp.training import compile_cache


def test_folder_is_beside_the_mnist_cache_unless_the_user_chose(monkeypatch, tmp_path):
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    monkeypatch.delenv("MNIST_MLP_COMPILE_CACHE", raising=False)
    monkeypatch.setenv("MNIST_MLP_CACHE", str(tmp_path / "cache"))
    assert compile_cache.folder() == tmp_path / "cache" / "jax-compilation"
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path / "theirs"))
    assert compile_cache.folder() == tmp_path / "theirs"
    monkeypatch.setenv("MNIST_MLP_COMPILE_CACHE", "0")
    assert compile_cache.folder() is None
    assert compile_cache.enable("jax") is None


def test_other_backends_are_left_alone(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_MLP_CACHE", str(tmp_path))
    assert compile_cache.enable("tensorflow") is None and compile_cache.enable("torch") is None
    assert not (tmp_path / "jax-compilation").exists()


def _train(run_dir, env) -> dict:
    """``mnist-mlp train softmax --epochs 2`` in a fresh process (the cache applies from its first
    compilation); its result.json."""
    proc = subprocess.run([sys.executable, "-m", "mnist_mlp", "train", "softmax", "--epochs", "2",
                           "--out", str(run_dir)], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]  # 1: the gate, on a 2-epoch tiny slice
    return json.loads((run_dir / "softmax" / "result.json").read_text())


@pytest.mark.slow  # three training processes
@pytest.mark.skipif(keras.backend.backend() != "jax", reason="the persistent cache is JAX's")
def test_next_process_reuses_it_with_identical_results_and_recompiles_a_damaged_entry(tiny_cli, tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("JAX_COMPILATION_CACHE_DIR", "MNIST_MLP_COMPILE_CACHE")}
    env["MNIST_MLP_DATA"] = os.path.join(env["MNIST_MLP_CACHE"], "mnist.npz")  # the session's copy
    env["MNIST_MLP_CACHE"] = str(tmp_path / "cache")
    cold = _train(tmp_path / "cold", env)
    entries = sorted((tmp_path / "cache" / "jax-compilation").glob("*-cache"))
    assert len(entries) >= 3  # the train, predict/evaluate and initializer programs at least
    warm = _train(tmp_path / "warm", env)
    assert sorted((tmp_path / "cache" / "jax-compilation").glob("*-cache")) == entries  # reused, none new
    for entry in entries:  # a half-written or rotten entry
        entry.write_bytes(entry.read_bytes()[: len(entry.read_bytes()) // 2])
    damaged = _train(tmp_path / "damaged", env)
    for result in (warm, damaged):
        assert result["history"] == cold["history"]
        assert result["test_accuracy"] == cold["test_accuracy"]
