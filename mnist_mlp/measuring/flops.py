"""The matrix FLOPs of training these MLPs: per step, per epoch and per trained model.

A step of an MLP with widths w0..wn at batch B runs, per Dense layer i (w_i -> w_i+1), the
forward X@W and the weight gradient dW = X.T@dY, and for every layer but the first the input
gradient dX = dY@W.T: 2·B·(2·Σ w_i·w_i+1 + Σ_{i>=1} w_i·w_i+1) FLOPs. Evaluation runs the
forward products only. BatchNormalization, Dropout, activations and Adam's update are not
matrix products and are not counted (the benchmarks' floor adds Adam's memory traffic).
"""

from __future__ import annotations

import dataclasses
import itertools

from mnist_mlp.notebook.models import INPUT_DIM, NUM_CLASSES


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


def forward_flops(widths: tuple[int, ...], batch: int) -> int:
    """One evaluation batch: the forward products only."""
    return sum(p.flops for p in step_products(widths, batch) if p.kind == "forward")


def trainable_params(spec) -> int:
    """Dense kernels and biases, plus BatchNormalization's gamma and beta per hidden unit."""
    w = widths(spec)
    dense = sum(n_in * n_out + n_out for n_in, n_out in itertools.pairwise(w))
    return dense + (2 * sum(spec.hidden_units) if spec.batch_norm else 0)


def training_flops(spec, epochs: int, train_images: int, test_images: int) -> int:
    """``train_and_evaluate``'s work: every epoch's steps over the training images and its
    validation over the test images, then the final test evaluation (FLOPs are linear in the
    batch, so the last, smaller batch of an epoch needs no special case)."""
    w = widths(spec)
    epoch = step_flops(w, train_images) + forward_flops(w, test_images)
    return epochs * epoch + forward_flops(w, test_images)
