"""Train seeds with a realistic accuracy defect planted, to measure what the accuracy gate sees.

    python benchmarks/planted_defects.py label_noise --seeds 1 2 3 4 5 --out runs/defects

writes ``OUT/<defect>/seed-S/<model>/`` run folders (as ``reproduce --seeds`` does), which
``benchmarks/accuracy_statistics.py`` compares seed by seed with clean runs of the same seeds.
One process per core, each pinned, trains its share of the seeds one model after the other. The
defects plant what a Keras or TensorFlow upgrade could realistically change, from outside the
library (nothing in mnist_mlp is edited):

- ``label_noise`` / ``label_noise_1pct`` / ``label_noise_07pct``: 5 % / 1 % / 0.7 % of the
  training labels replaced by a uniformly drawn class (a data pipeline that mixes up a few labels);
- ``adam_epsilon``: Adam's epsilon 1e-3 instead of Keras's 1e-7 (a changed optimizer default);
- ``bn_momentum``: BatchNormalization's moving-average momentum 0.9 instead of 0.99 (a changed
  layer default; only the BatchNormalization models).

``MNIST_MLP_PLANT=DEFECT[:MODEL[:FRACTION[:DRAW]]]`` plants the same defects in every process of
an environment whose ``PYTHONPATH`` holds ``benchmarks/plants`` (its ``sitecustomize``): the
upgrade verdict's candidate-only switch (``benchmarks/upgrade.py --plant``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

# defect -> labels replaced
LABEL_NOISE = {"label_noise": 0.05, "label_noise_1pct": 0.01, "label_noise_07pct": 0.007}
DEFECT_MODELS = ("arch1_relu", "arch1_bn", "arch3_relu", "arch2_bn_dropout")


PLANT_ENV = "MNIST_MLP_PLANT"  # DEFECT[:MODEL[:FRACTION[:DRAW]]], read by plants/sitecustomize.py
LABEL_DRAW = 20261127


def plant(defect: str, dataset, fraction: float | None = None, draw: int = LABEL_DRAW):
    """Apply ``defect`` in this process; return the (possibly changed) dataset. Label noise
    replaces ``fraction`` of the labels (default: the defect's own), drawn with seed ``draw``."""
    import numpy as np

    from mnist_mlp.compat import compile_options, keras
    from mnist_mlp.training import train

    if defect in LABEL_NOISE:
        rng = np.random.default_rng(draw)
        y = dataset.y_train.copy()
        flipped = rng.random(len(y)) < (LABEL_NOISE[defect] if fraction is None else fraction)
        y[flipped] = np.eye(10, dtype=y.dtype)[rng.integers(0, 10, flipped.sum())]
        return dataclasses.replace(dataset, y_train=y)
    if defect == "adam_epsilon":
        original = train.compile_model

        def compile_model(model, recipe):
            original(model, recipe)
            model.compile(optimizer=keras.optimizers.Adam(recipe.learning_rate, epsilon=1e-3),
                          loss=model.loss, metrics=["accuracy"],
                          **compile_options(recipe.steps_per_execution, recipe.jit_compile))
            return model

        train.compile_model = compile_model
        return dataset
    if defect == "bn_momentum":
        layer = keras.layers.BatchNormalization
        original_init = layer.__init__

        def __init__(self, *args, **kwargs):
            kwargs["momentum"] = 0.9
            original_init(self, *args, **kwargs)

        layer.__init__ = __init__
        return dataset
    raise SystemExit(f"planted_defects: unknown defect {defect!r}")


def plant_in_process(spec: str) -> None:
    """Plant ``DEFECT[:MODEL[:FRACTION[:DRAW]]]`` in this process, before it trains anything:
    label noise for MODEL only (every model when empty), a changed default for every model."""
    defect, model, fraction, draw = (spec.split(":") + ["", "", ""])[:4]
    if defect not in LABEL_NOISE:
        plant(defect, None)
        return
    from mnist_mlp.training import train
    _PLANTED.update(defect=defect, model=model, fraction=float(fraction) if fraction else None,
                    draw=int(draw) if draw else LABEL_DRAW, original=train.train_and_evaluate)
    train.train_and_evaluate = planted_train_and_evaluate


# The label-noise plant of this process (set by plant_in_process; every spawned worker sets its
# own at start-up through plants/sitecustomize.py), read by a module-level function: the pool
# pickles the training function by reference, which a closure cannot be.
_PLANTED: dict = {}


def planted_train_and_evaluate(name, dataset, *args, **kwargs):
    """``train_and_evaluate`` with the planted label noise in MODEL's training labels."""
    if not _PLANTED["model"] or name == _PLANTED["model"]:
        dataset = plant(_PLANTED["defect"], dataset, _PLANTED["fraction"], _PLANTED["draw"])
    return _PLANTED["original"](name, dataset, *args, **kwargs)


def worker(args) -> int:
    """Train this worker's seeds (one model after the other) with the defect planted."""
    from mnist_mlp.notebook import data
    from mnist_mlp.notebook.recipe import DEFAULT_RECIPE
    from mnist_mlp.training.train import Dataset, train_and_evaluate

    dataset = plant(args.defect, Dataset.from_mnist(data.load_mnist()))
    for seed in args.seeds:
        for model in args.models:
            train_and_evaluate(model, dataset, dataclasses.replace(DEFAULT_RECIPE, seed=seed),
                               args.out / args.defect / f"seed-{seed}", label=f"[{args.defect} {seed}] ")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("defect", choices=(*LABEL_NOISE, "adam_epsilon", "bn_momentum"))
    parser.add_argument("--seeds", nargs="+", type=int, required=True)
    parser.add_argument("--models", nargs="+", default=list(DEFECT_MODELS))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    cores = sorted(os.sched_getaffinity(0))
    shares = [args.seeds[i::len(cores)] for i in range(len(cores))]
    children = [
        subprocess.Popen(["taskset", "-c", str(core), sys.executable, __file__, args.defect, "--worker",
                          "--seeds", *map(str, share), "--models", *args.models, "--out", str(args.out)])
        for core, share in zip(cores, shares) if share
    ]
    return max(child.wait() for child in children)


if __name__ == "__main__":
    sys.exit(main())
