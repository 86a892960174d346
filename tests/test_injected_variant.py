"""The test-only slowed model variant (benchmarks/injected.py) that measures the A/B detector:
one extra k x k product per step, sized from the step's FLOPs, that changes no result."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from mnist_mlp.compat import KERAS_3, to_numpy
from mnist_mlp.notebook import models

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "injected.py"


@pytest.fixture(scope="module")
def injected():
    spec = importlib.util.spec_from_file_location("injected", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("injected", module)
    spec.loader.exec_module(module)
    return module


def test_extra_product_is_sized_to_the_share_of_step_flops(injected):
    # 0.15 x 287,692,800 FLOPs = 2 x 128 x k^2  ->  k = sqrt(168,570) = 410.6
    assert injected.extra_width(models.get_spec("arch1_relu"), 128, 0.15) == 411
    assert injected.extra_width(models.get_spec("arch3_relu"), 128, 10.0) == 784  # capped


@pytest.mark.skipif(not KERAS_3, reason="the A/B's injected variant is built for the Keras 3 "
                    "backends the A/B measures (JAX); Keras 2.15 layers cannot take it")
def test_slowed_variant_predicts_the_same_and_trains_the_same_weights(injected):
    base = models.build_model("arch1_relu", seed=0)
    x = np.random.default_rng(0).random((4, 784), dtype=np.float32)
    expected = to_numpy(base(x))
    slowed = injected.with_slowdown(base, models.get_spec("arch1_relu"), 128, 0.15)
    np.testing.assert_allclose(to_numpy(slowed(x)), expected, rtol=1e-6)
    extra = slowed.layers[0]
    assert isinstance(extra, injected.ExtraMatmul) and extra.k == 411
    assert [tuple(w.shape) for w in extra.non_trainable_weights] == [(411, 411)]
    assert len(slowed.trainable_weights) == len(base.trainable_weights)
