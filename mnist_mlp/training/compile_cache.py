"""Compile once: JAX's persistent compilation cache, in the project's per-user cache folder.

A model's train and evaluation functions are compiled once per software stack and reused by
every later process: each seed, rerun, worker and CI env (the cache key covers the computation,
the JAX/XLA versions and the machine, so a changed stack compiles anew). The folder is
``jax-compilation/`` beside the MNIST cache (``$MNIST_MLP_CACHE``, else ``~/.cache/mnist_mlp``);
a ``JAX_COMPILATION_CACHE_DIR`` the user set wins, and ``MNIST_MLP_COMPILE_CACHE=0`` turns it off.
A cached program is the same program: results are bit-identical with and without it. JAX writes
each entry under its own key; an entry it cannot read (a half-written file, bit rot) is reported
as a warning and compiled again, never used. TensorFlow and PyTorch have no equivalent that
covers Keras's train function; they compile as before.
"""

from __future__ import annotations

import os
from pathlib import Path

FOLDER = "jax-compilation"


def folder() -> Path | None:
    """Where JAX's compiled programs are kept, or None when the cache is off."""
    if os.environ.get("MNIST_MLP_COMPILE_CACHE", "1") == "0":
        return None
    if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return Path(os.environ["JAX_COMPILATION_CACHE_DIR"])
    from mnist_mlp.notebook.data import cache_root

    return cache_root() / FOLDER


def enable(backend: str) -> Path | None:
    """Turn the cache on for ``backend`` before its first compilation (JAX only); return the folder."""
    where = folder()
    if backend != "jax" or where is None:
        return None
    import jax

    jax.config.update("jax_compilation_cache_dir", str(where))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)  # every program, even fast ones
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    return where
