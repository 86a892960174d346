"""The physical floor of a training step: FLOPs from the widths, every product in the BLAS
reference, Adam's memory traffic, and the arithmetic of floor and MFU (instruments.roofline)."""

from __future__ import annotations

import collections

import numpy as np
import pytest
from instruments import roofline

from mnist_mlp.measuring import peak

# Hand counts, 2 FLOPs per multiply-add, batch 128:
from mnist_mlp.notebook import golden, models

# arch1 784-600-100-10: forward + dW 2 x (470400 + 60000 + 1000) = 1062800 MACs per sample-row,
# dX for the 2nd and 3rd Dense 60000 + 1000 = 61000; (1062800 + 61000) x 2 x 128 = 287,692,800.
# arch2 784-500-250-125-10: 2 x 549500 + 157500 = 1256500; x 256 = 321,664,000.
# softmax 784-10: 2 x 7840, no dX; x 256 = 4,014,080.
HAND_FLOPS = {"arch1_relu": 287_692_800, "arch2_relu": 321_664_000, "softmax": 4_014_080}


@pytest.mark.parametrize("name", sorted(HAND_FLOPS))
def test_step_flops_match_the_hand_count(name):
    assert roofline.step_flops(roofline.widths(models.get_spec(name)), 128) == HAND_FLOPS[name]


def test_arch1_is_287_7_mflop_per_step():
    assert roofline.step_flops((784, 600, 100, 10), 128) / 1e6 == pytest.approx(287.69, abs=0.01)


def test_products_are_forward_and_dw_per_dense_and_dx_for_all_but_the_first():
    products = roofline.step_products((784, 600, 100, 10), 128)
    assert [(p.kind, p.m, p.k, p.n) for p in products] == [
        ("forward", 128, 784, 600), ("dW", 784, 128, 600),
        ("forward", 128, 600, 100), ("dW", 600, 128, 100), ("dX", 128, 100, 600),
        ("forward", 128, 100, 10), ("dW", 100, 128, 10), ("dX", 128, 10, 100),
    ]
    assert len(roofline.step_products(roofline.widths(models.get_spec("arch3_relu")), 128)) == 17


@pytest.mark.parametrize("name", models.names())
def test_the_blas_reference_runs_every_product_once(name):
    widths = roofline.widths(models.get_spec(name))
    calls = []

    def counting_matmul(a, b, out):
        calls.append((a.shape[0], a.shape[1], b.shape[1]))
        assert out.shape == (a.shape[0], b.shape[1])
        return np.matmul(a, b, out=out)

    roofline.blas_reference(widths, 128, matmul=counting_matmul)()
    expected = [(p.m, p.k, p.n) for p in roofline.step_products(widths, 128)]
    assert collections.Counter(calls) == collections.Counter(expected)
    assert sum(2 * m * k * n for m, k, n in calls) == roofline.step_flops(widths, 128)


@pytest.mark.parametrize("name", models.names())
def test_adam_params_are_the_notebook_trainable_counts(name):
    trainable = golden.load("architectures")["models"][name]["trainable"]
    assert roofline.trainable_params(models.get_spec(name)) == trainable
    assert roofline.adam_bytes(models.get_spec(name)) == 7 * 4 * trainable


def test_floor_is_gemm_time_plus_adam_traffic_and_mfu_uses_the_peak():
    floor = roofline.Floor(flops=2e9, peak_flops=100e9, adam_bytes=1e9, bandwidth=50e9)
    assert floor.gemm_s == pytest.approx(0.02)
    assert floor.adam_s == pytest.approx(0.02)
    assert floor.seconds == pytest.approx(0.04)
    assert floor.mfu(0.05) == pytest.approx(2e9 / 0.05 / 100e9)  # 0.4
    assert floor.gflops(0.05) == pytest.approx(40.0)


def test_peak_is_the_best_library_and_says_which():
    best, source = roofline.best_peak({"numpy": 120e9, "jax": 250e9})
    assert (best, source) == (250e9, "jax")


class FakeClock:
    """perf_counter that advances by the next of ``durations`` between each start/stop pair."""

    def __init__(self, durations):
        self.durations, self.now, self.running = list(durations), 0.0, False

    def __call__(self) -> float:
        if self.running:
            self.now += self.durations.pop(0)
        self.running = not self.running
        return self.now


def test_gemm_rate_is_2n3_over_the_best_repeat(monkeypatch):
    monkeypatch.setattr(peak.time, "perf_counter", FakeClock([0.3, 0.2, 0.25]))
    assert peak.gemm_flops_per_s("numpy", n=64, repeats=3) == pytest.approx(2 * 64**3 / 0.2)


def test_bandwidth_counts_read_and_write_of_the_best_copy(monkeypatch):
    monkeypatch.setattr(roofline.time, "perf_counter", FakeClock([0.004, 0.002]))
    rate = roofline.bandwidth_bytes_per_s(mbytes=8, repeats=2)
    assert rate == pytest.approx(2 * 8 * 2**20 / 0.002)
