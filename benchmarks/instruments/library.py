"""The library modules the benchmark suite times, found in the layout of the build under test.

One suite times every build (as asv runs one suite against every commit): an A/B's base and
candidate both run this tree's benchmarks. The package now groups its modules in stage folders
(``mnist_mlp/measuring/flops.py``); a base from before that change has them flat
(``mnist_mlp/flops.py``). Each module is imported from its stage folder, else from the flat
layout, so the A/B of the change itself and of any later commit against an older base still runs.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def stage_module(stage: str, name: str) -> ModuleType:
    """``mnist_mlp.<stage>.<name>``, or ``mnist_mlp.<name>`` in a build without stage folders."""
    staged = f"mnist_mlp.{stage}.{name}"
    try:
        return importlib.import_module(staged)
    except ModuleNotFoundError as error:
        if error.name not in (staged, f"mnist_mlp.{stage}"):
            raise  # the module exists but something it imports does not: not a layout question
    return importlib.import_module(f"mnist_mlp.{name}")


data = stage_module("notebook", "data")
draws = stage_module("notebook", "draws")
models = stage_module("notebook", "models")
recipe = stage_module("notebook", "recipe")
train = stage_module("training", "train")
flops = stage_module("measuring", "flops")
peak = stage_module("measuring", "peak")
