"""The run plan: what one ``train`` or ``reproduce`` will do, made once from the command line and
the machine. Models, seeds and their folders, the recipe, the usable cores and the worker count,
and the data are each read and validated here; locking, training, the pool and the efficiency
line take the plan and never read them again.
"""

from __future__ import annotations

import dataclasses
import os
import re
from datetime import datetime
from pathlib import Path

from mnist_mlp.errors import MnistMlpError
from mnist_mlp.notebook.recipe import Recipe
from mnist_mlp.training import pool
from mnist_mlp.training.pool import DatasetSource, JobsError
from mnist_mlp.training.results import seed_folder

LIMIT_ENV = "MNIST_MLP_LIMIT"


class PlanError(MnistMlpError, ValueError):
    """A setting that cannot make a run plan."""


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """One command's work. ``recipe.seed`` is the first seed's; each seed trains its own
    (``recipe_for``). ``jobs`` 1 trains in this process; more, on that many pinned workers."""

    models: tuple[str, ...]
    seeds: tuple[int, ...]
    recipe: Recipe
    out: Path
    per_seed_folders: bool  # --seeds: one seed-S/ folder per seed under ``out``
    cores: tuple[int, ...]  # the usable cores, read once
    jobs: int
    jobs_given: bool  # --jobs given; else the predicted fastest
    source: DatasetSource
    restart: bool = False

    def folder(self, seed: int) -> Path:
        """The run folder of ``seed``."""
        return seed_folder(self.out, seed, self.per_seed_folders)

    def recipe_for(self, seed: int) -> Recipe:
        return dataclasses.replace(self.recipe, seed=seed)


def data_limit() -> int | None:
    """Test-only: ``MNIST_MLP_LIMIT=N`` trains on the first N training and N/4 test images."""
    text = os.environ.get(LIMIT_ENV)
    if not text:
        return None
    if not re.fullmatch(r"[0-9]+", text) or int(text) < 1:
        raise PlanError(f"{LIMIT_ENV}: expected a whole number >= 1, got {text!r}; fix or unset it")
    return int(text)


def dataset_source(data: str | None) -> DatasetSource:
    """The job's data: ``data`` (as ``--data``), sliced by ``MNIST_MLP_LIMIT`` when set."""
    limit = data_limit()
    return DatasetSource(data, limit, limit and max(1, limit // 4))


def default_out() -> Path:
    """``runs/<timestamp>``: a new folder per run when ``--out`` is not given."""
    return Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")


def make_plan(models, seeds, recipe: Recipe, out: Path | None, data: str | None,
              jobs: int | None = None, per_seed_folders: bool = False, restart: bool = False) -> RunPlan:
    """The plan of training ``models`` for each of ``seeds`` into ``out`` (None: a new folder
    under runs/) on ``data`` (as ``--data``); ``jobs`` None: one worker per core when the pool is
    predicted faster, else 1. A ``jobs`` the cores cannot give one core each is a JobsError."""
    models, seeds = tuple(models), tuple(dict.fromkeys(seeds))
    source = dataset_source(data)
    cores = tuple(pool.usable_cores())
    if jobs is not None and jobs > len(cores):
        raise JobsError(f"--jobs {jobs} is more than the {len(cores)} usable cores; "
                        f"use at most --jobs {len(cores)}")
    chosen = jobs or pool.default_jobs(list(models), len(seeds), recipe.epochs, len(cores))
    return RunPlan(models, seeds, dataclasses.replace(recipe, seed=seeds[0]), out or default_out(),
                   per_seed_folders, cores, chosen, jobs is not None, source, restart)
