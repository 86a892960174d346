"""Capture the whole configuration as trained of every model and write or check its golden section.

    python benchmarks/golden_trained_config.py            # diff every model against the golden one
    python benchmarks/golden_trained_config.py --write    # regenerate the installed Keras major's section

Each model trains one epoch on a 2,048-image synthetic slice through ``train_and_evaluate``; the
description is taken at fit start (``trained_config.DescribeAtTrainBegin``) and its fit group is the
notebook's. A tool that writes golden/, as ``mnist-mlp calibrate`` is for the gates: the library
only describes and diffs (mnist_mlp/judging/trained_config.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile

import numpy as np

from mnist_mlp.judging.config_diff import diff
from mnist_mlp.judging.trained_config import GOLDEN, DescribeAtTrainBegin, expected, major, notebook_fit
from mnist_mlp.notebook import golden, models


def capture(name: str) -> dict:
    """Train ``name`` one epoch on a 2,048-image synthetic slice through ``train_and_evaluate`` and
    return the description taken at fit start, its fit group the notebook's (``notebook_fit``)."""
    from mnist_mlp.notebook.recipe import Recipe
    from mnist_mlp.training.train import Dataset, train_and_evaluate

    rng = np.random.default_rng(0)
    x = rng.random((2048, 784), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 2048)]
    recipe = Recipe(epochs=1, seed=0)
    callback = DescribeAtTrainBegin(recipe.batch_size)
    with tempfile.TemporaryDirectory() as folder:
        train_and_evaluate(name, Dataset(x, y, x[:256], y[:256]), recipe, folder, callbacks=[callback])
    return {**callback.description, "fit": notebook_fit()}


def factor(descriptions: dict[str, dict]) -> dict:
    """Groups equal for every model go to ``shared``, the rest stay per model."""
    first = next(iter(descriptions.values()))
    shared = {group: value for group, value in first.items()
              if all(d.get(group) == value for d in descriptions.values())}
    per_model = {name: {g: v for g, v in d.items() if g not in shared} for name, d in descriptions.items()}
    return {"shared": shared, "models": per_model}


def write(path=None) -> str:
    """Regenerate the installed major's section of golden/notebook/trained_config.json; say what changed."""
    target = path or golden.path(GOLDEN)
    data = json.loads(target.read_text("utf-8"))
    current = factor({name: capture(name) for name in models.names()})
    others = [m for m, entry in data.get("keras", {}).items() if m != major() and "same_as" not in entry]
    same = next((m for m in others if data["keras"][m] == current), None)
    data.setdefault("keras", {})[major()] = {"same_as": same} if same else current
    target.write_text(json.dumps(data, indent=1) + "\n", "utf-8")
    return f"Keras {major()}: " + (f"same as Keras {same}" if same else "written in full")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true",
                        help="regenerate this Keras major's section of golden/notebook/trained_config.json")
    args = parser.parse_args(argv)
    if args.write:
        print(write())
        return 0
    lines = [line for name in models.names() for line in diff(expected(name), capture(name))]
    print("\n".join(lines) or "the description matches the golden one")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
