"""The main job's orchestration: train models for one or several seeds into locked run folders,
in this process or on the worker pool, and return every result.

    out = prepare_run_dir(out)                    # a writable folder, before anything trains
    with locked(out, seeds, per_seed_folders):    # one lock rule whatever the number of jobs
        runs = train(models, seeds, recipe, out, source, jobs, ...)

``runs`` maps each seed to ``(its run folder, {model: RunResult})``. With ``per_seed_folders``
(``reproduce --seeds``) seed S trains into ``out/seed-S/``, else into ``out``. ``jobs == 1``
trains one model after the other in this process (and builds the report here); more jobs train
on the worker pool (``mnist_mlp.pool``), whose workers also build each seed's report. The data
comes from one ``pool.DatasetSource`` either way (``MNIST_MLP_LIMIT`` slices it for tests).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from mnist_mlp.errors import MnistMlpError
from mnist_mlp.files import sweep_folders
from mnist_mlp.pool import DatasetSource, Task, report_progress
from mnist_mlp.results import seed_folder

LIMIT_ENV = "MNIST_MLP_LIMIT"


class RunDirError(MnistMlpError, ValueError):
    """An output folder that cannot hold a run."""


def prepare_run_dir(path: Path) -> Path:
    """Create ``path`` if needed and prove it is a writable folder, before any training starts."""
    if path.exists() and not path.is_dir():
        raise RunDirError(f"--out {path} is a file, not a folder; choose another --out")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise RunDirError(f"--out {path} is not writable ({exc.strerror}); choose another --out") from None
    return path


def default_run_dir() -> Path:
    return Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")


def data_limit() -> int | None:
    """Test-only: ``MNIST_MLP_LIMIT=N`` trains on the first N training and N/4 test images."""
    text = os.environ.get(LIMIT_ENV)
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise RunDirError(f"{LIMIT_ENV}: expected a whole number >= 1, got {text!r}")
    return int(text)


def dataset_source(data: str | None) -> DatasetSource:
    """The job's data: ``data`` (as ``--data``), sliced by ``MNIST_MLP_LIMIT`` when set."""
    limit = data_limit()
    return DatasetSource(data, limit, limit and max(1, limit // 4))


def run_subfolders() -> tuple[str, ...]:
    """The folders a run writes inside its run folder (or seed folder): figures/ and each model's."""
    from mnist_mlp.models import names

    return ("figures", *names())


@contextlib.contextmanager
def locked(out: Path, seeds: Sequence[int] = (), per_seed_folders: bool = False):
    """Lock ``out`` (and each per-seed folder, so a run holding one of those is not bypassed);
    hold it until every worker has exited. Once held, what writes killed in an earlier run left
    is swept from every folder this run writes into (``out``, each seed folder, their figures/ and
    model folders; never through a symbolic link)."""
    from mnist_mlp.lock import run_locks

    seed_dirs = [seed_folder(out, s, True) for s in seeds] if per_seed_folders else []
    with run_locks(out, *seed_dirs) as held:
        for folder in (out, *seed_dirs):
            sweep_folders(folder, *run_subfolders())
        yield held


def _announce(out: Path) -> None:
    print(f"run folder: {out}  (rerun with --out {out} to resume)", flush=True)


def train_here(models: Sequence[str], recipe, out: Path, source: DatasetSource,
               restart: bool = False) -> dict:
    """Train ``models`` one after the other in this process into ``out``."""
    from mnist_mlp.compat import BACKEND_CHOICE, backend_name, keras
    from mnist_mlp.train import train_and_evaluate

    _announce(out)
    print(f"Keras {keras.__version__}, backend {backend_name()} ({BACKEND_CHOICE[1]})", flush=True)
    dataset = source.load()
    progress = report_progress()
    results = {}
    for i, name in enumerate(models, start=1):
        label = f"[{i}/{len(models)}] "
        results[name] = train_and_evaluate(name, dataset, recipe, out, label=label, restart=restart)
        progress(Task(name, recipe.seed, out, label), results[name])
    return results


@dataclasses.dataclass(frozen=True)
class Reports:
    """How the command reports what was trained (reproduce only trains): ``build(run_dir,
    reuse_model_figures=...)`` writes a run folder's report and returns its page;
    ``draw_model_figures(task, result)`` draws one model's figures as it ends, on its worker.
    Both module-level functions: the pool's workers receive them pickled."""

    build: Callable[..., Path]
    draw_model_figures: Callable[[Task, object], object]


def train_on_pool(models: Sequence[str], seeds: Sequence[int], recipe, out: Path,
                  source: DatasetSource, jobs: int, per_seed_folders: bool,
                  restart: bool = False, reports: Reports | None = None) -> dict:
    """Every (model, seed) on ``jobs`` pinned worker processes, each model's report figures drawn
    by its worker as it ends, then each seed's report on the same workers: ``{seed: {model: result}}``."""
    from mnist_mlp import pool
    from mnist_mlp.train import train_and_evaluate

    tasks = pool.schedule(models, seeds, out, per_seed_folders=per_seed_folders)
    workers = pool.split_cores(pool.usable_cores(), min(jobs, len(tasks)))
    _announce(out)
    print(f"{len(tasks)} tasks, longest first, on {len(workers)} worker processes pinned to cores "
          f"{' '.join(','.join(map(str, group)) for group in workers)}", flush=True)
    then = [functools.partial(reports.build, seed_folder(out, s, per_seed_folders),
                              reuse_model_figures=True) for s in seeds] if reports else []
    done = pool.run(tasks, recipe, source, jobs, resume_hint=f"rerun with --out {out} to resume",
                    on_result=report_progress(), restart=restart, then=then,
                    after_each=reports.draw_model_figures if reports else None,
                    train=train_and_evaluate)
    env = next(iter(done.values())).environment
    print(f"Keras {env['keras']}, backend {env['backend']} ({env['backend_chosen_by']})", flush=True)
    by_task = {(task.model, task.seed): result for task, result in done.items()}
    return {seed: {m: by_task[m, seed] for m in models} for seed in seeds}


def train(models: Sequence[str], seeds: Sequence[int], recipe, out: Path, source: DatasetSource,
          jobs: int, per_seed_folders: bool, restart: bool = False,
          reports: Reports | None = None) -> dict[int, tuple[Path, dict]]:
    """Train every model for every seed (the caller holds the folders' locks):
    ``{seed: (run folder, {model: result})}``, each seed's report built when ``reports`` says how."""
    folders = {s: seed_folder(out, s, per_seed_folders) for s in seeds}
    if jobs == 1:
        runs = {}
        for seed in seeds:
            folder = prepare_run_dir(folders[seed])
            runs[seed] = train_here(models, dataclasses.replace(recipe, seed=seed), folder, source, restart)
            if reports is not None:
                print(f"report: {reports.build(folder)}")
    else:
        runs = train_on_pool(models, seeds, recipe, out, source, jobs, per_seed_folders, restart,
                             reports)
    return {seed: (folders[seed], results) for seed, results in runs.items()}
