"""A test-only model variant with a known slowdown, for measuring the A/B detector's power.

``MNIST_MLP_BENCH_INJECT=0.15`` makes every benchmarked model run one extra matrix product per
step, forward only, sized to that fraction of the step's FLOPs: (B x k) @ (k x k) on the input's
first k columns with 2·B·k² ≈ 0.15 x step FLOPs (k at most 784). Its result enters the output
scaled by 1e-30, so the compiler must compute it and training is unchanged. Nothing outside
benchmarks/ imports this.
"""

from __future__ import annotations

import math
import os

from instruments import roofline
from instruments.library import models

from mnist_mlp.compat import keras

INPUT_DIM = models.INPUT_DIM

ENV = "MNIST_MLP_BENCH_INJECT"


def fraction() -> float:
    return float(os.environ.get(ENV) or 0.0)


def extra_width(spec, batch: int, share: float) -> int:
    flops = share * roofline.step_flops(roofline.widths(spec), batch)
    return max(1, min(INPUT_DIM, round(math.sqrt(flops / (2 * batch)))))


class ExtraMatmul(keras.layers.Layer):
    def __init__(self, k: int, **kwargs):
        super().__init__(**kwargs)
        self.k = k

    def build(self, input_shape):
        self.m = self.add_weight(shape=(self.k, self.k), initializer="random_normal",
                                 trainable=False, name="extra")

    def call(self, x):
        extra = keras.ops.matmul(x[:, : self.k], self.m)
        return x + 1e-30 * keras.ops.sum(extra, axis=1, keepdims=True)


def with_slowdown(model, spec, batch: int, share: float):
    """``model``'s layers behind one ExtraMatmul sized to ``share`` of the step's FLOPs."""
    k = extra_width(spec, batch, share)
    return keras.Sequential([keras.Input((INPUT_DIM,)), ExtraMatmul(k), *model.layers],
                            name=f"{model.name}_slow{k}")
