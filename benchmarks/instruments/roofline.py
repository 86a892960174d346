"""The physical floor of one training step: its matrix FLOPs at the machine's measured peak plus
Adam's memory traffic at the measured bandwidth; and MFU, the share of the peak a step reaches.

A step of an MLP with widths w0..wn at batch B runs, per Dense layer i (w_i -> w_i+1), the
forward X@W and the weight gradient dW = X.T@dY, and for every layer but the first the input
gradient dX = dY@W.T: 2·B·(2·Σ w_i·w_i+1 + Σ_{i>=1} w_i·w_i+1) FLOPs. Adam reads parameters,
gradients and both moments and writes parameters and both moments: 7 float32 arrays of the
trainable size. The peak is the best large float32 GEMM of numpy and of the backend itself, timed
in the same process on the same CPUs, so no BLAS kernel choice (``OPENBLAS_CORETYPE``) can move
the floor below what the machine does.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable

import numpy as np

from mnist_mlp.preprocess import INPUT_DIM, NUM_CLASSES

PEAK_N, PEAK_REPEATS = 2048, 6
ADAM_ARRAYS = 7  # read: params, grads, m, v; write: params, m, v
FLOAT32 = 4


@dataclasses.dataclass(frozen=True)
class Product:
    """One matrix product (m x k) @ (k x n) of a training step."""

    kind: str  # forward, dW or dX
    layer: int
    m: int
    k: int
    n: int

    @property
    def flops(self) -> int:
        return 2 * self.m * self.k * self.n


def widths(spec) -> tuple[int, ...]:
    return (INPUT_DIM, *spec.hidden_units, NUM_CLASSES)


def step_products(widths: tuple[int, ...], batch: int) -> tuple[Product, ...]:
    products = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(widths)):
        products += [Product("forward", i, batch, n_in, n_out), Product("dW", i, n_in, batch, n_out)]
        if i > 0:
            products.append(Product("dX", i, batch, n_out, n_in))
    return tuple(products)


def step_flops(widths: tuple[int, ...], batch: int) -> int:
    return sum(p.flops for p in step_products(widths, batch))


def trainable_params(spec) -> int:
    """Dense kernels and biases, plus BatchNormalization's gamma and beta per hidden unit."""
    w = widths(spec)
    dense = sum(n_in * n_out + n_out for n_in, n_out in itertools.pairwise(w))
    return dense + (2 * sum(spec.hidden_units) if spec.batch_norm else 0)


def adam_bytes(spec) -> int:
    return ADAM_ARRAYS * FLOAT32 * trainable_params(spec)


def blas_reference(widths: tuple[int, ...], batch: int,
                   matmul: Callable = np.matmul) -> Callable[[], None]:
    """Every product of one step in numpy float32, into preallocated outputs (the "BLAS
    reference": what numpy's BLAS makes of the step's arithmetic)."""
    rng = np.random.default_rng(0)
    operands = []
    for p in step_products(widths, batch):
        a = rng.standard_normal((p.k, p.m), dtype=np.float32).T if p.kind == "dW" else \
            rng.standard_normal((p.m, p.k), dtype=np.float32)  # dW multiplies X.T, a view
        b = rng.standard_normal((p.n, p.k), dtype=np.float32).T if p.kind == "dX" else \
            rng.standard_normal((p.k, p.n), dtype=np.float32)  # dX multiplies W.T, a view
        operands.append((a, b, np.empty((p.m, p.n), dtype=np.float32)))

    def run() -> None:
        for a, b, out in operands:
            matmul(a, b, out=out)

    return run


# ---------------------------------------------------------------------------------------------
# Measured machine: peak GEMM rate and memory bandwidth


def _gemm_callable(library: str, n: int) -> Callable[[], object]:
    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    if library == "numpy":
        out = np.empty_like(a)
        return lambda: np.matmul(a, b, out=out)
    if library == "jax":
        import jax

        ja, jb = jax.device_put(a), jax.device_put(b)
        dot = jax.jit(jax.numpy.matmul)
        return lambda: dot(ja, jb).block_until_ready()
    if library == "tensorflow":
        import tensorflow as tf

        ta, tb = tf.constant(a), tf.constant(b)
        matmul = tf.function(tf.linalg.matmul)
        return lambda: matmul(ta, tb).numpy()
    if library == "torch":
        import torch

        pa, pb = torch.from_numpy(a), torch.from_numpy(b)
        out = torch.empty_like(pa)
        return lambda: torch.mm(pa, pb, out=out)
    raise ValueError(f"no GEMM for {library!r}")


def gemm_flops_per_s(library: str, n: int = PEAK_N, repeats: int = PEAK_REPEATS) -> float:
    """Best of ``repeats`` n x n float32 GEMMs through ``library``, in FLOP/s (after a warm-up)."""
    run = _gemm_callable(library, n)
    run()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def measure_peaks(backend: str, n: int = PEAK_N, repeats: int = PEAK_REPEATS) -> dict[str, float]:
    """FLOP/s of numpy's GEMM and the backend's own, in this process."""
    return {library: gemm_flops_per_s(library, n, repeats) for library in dict.fromkeys(("numpy", backend))}


def best_peak(peaks: dict[str, float]) -> tuple[float, str]:
    source = max(peaks, key=peaks.get)
    return peaks[source], source


def bandwidth_bytes_per_s(mbytes: int = 64, repeats: int = 5) -> float:
    """Best streaming copy rate (bytes read + written per second) of a ``mbytes`` float32 array,
    far larger than the caches, as Adam's update streams its arrays."""
    src = np.ones(mbytes * 2**20 // FLOAT32, dtype=np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - start)
    return 2 * src.nbytes / best


@dataclasses.dataclass(frozen=True)
class Floor:
    """A step's floor on a measured machine (SI units: FLOPs, FLOP/s, bytes, bytes/s, s)."""

    flops: float
    peak_flops: float
    adam_bytes: float
    bandwidth: float

    @property
    def gemm_s(self) -> float:
        return self.flops / self.peak_flops

    @property
    def adam_s(self) -> float:
        return self.adam_bytes / self.bandwidth

    @property
    def seconds(self) -> float:
        return self.gemm_s + self.adam_s

    def mfu(self, step_s: float) -> float:
        return self.flops / step_s / self.peak_flops

    def gflops(self, step_s: float) -> float:
        return self.flops / step_s / 1e9
