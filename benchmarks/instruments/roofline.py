"""The physical floor of one training step: its matrix FLOPs (``mnist_mlp.measuring.flops``) at the
machine's measured peak (``mnist_mlp.measuring.peak``, timed in the same process on the same CPUs) plus
Adam's memory traffic at the measured bandwidth; and MFU, the share of the peak a step reaches.
Adam reads parameters, gradients and both moments and writes parameters and both moments: 7
float32 arrays of the trainable size. The reporting job (``mnist-mlp reproduce``) states its own
floor from the same FLOP count and peak.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np

from instruments.library import flops, peak

Product, step_flops, step_products = flops.Product, flops.step_flops, flops.step_products
trainable_params, widths = flops.trainable_params, flops.widths
PEAK_N, PEAK_REPEATS, best_peak = peak.PEAK_N, peak.PEAK_REPEATS, peak.best_peak
gemm_flops_per_s, measure_peaks = peak.gemm_flops_per_s, peak.measure_peaks

__all__ = ["PEAK_N", "PEAK_REPEATS", "Floor", "Product", "adam_bytes", "bandwidth_bytes_per_s",
           "best_peak", "blas_reference", "gemm_flops_per_s", "measure_peaks", "step_flops",
           "step_products", "trainable_params", "widths"]
ADAM_ARRAYS = 7  # read: params, grads, m, v; write: params, m, v
FLOAT32 = 4


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
# Measured machine: peak GEMM rate (mnist_mlp.measuring.peak) and memory bandwidth


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
