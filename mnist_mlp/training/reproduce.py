"""The main job's orchestration: train a run plan's models for its seeds into locked run
folders, in this process or on the worker pool, and return every result.

    plan = make_plan(models, seeds, recipe, out, data, jobs)   # mnist_mlp.training.plan: read once
    out = prepare_run_dir(plan.out)                   # a writable folder, before anything trains
    with locked(out, plan.seeds, plan.per_seed_folders):      # one lock rule whatever the jobs
        runs = train(plan, reports)

``runs`` maps each seed to ``(its run folder, {model: RunResult})``. ``plan.jobs == 1`` trains
one model after the other in this process (and builds the report here); more jobs train on the
worker pool (``mnist_mlp.training.pool``), whose workers also build each seed's report.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from mnist_mlp.errors import MnistMlpError
from mnist_mlp.files import sweep_folders
from mnist_mlp.training.plan import RunPlan
from mnist_mlp.training.pool import DatasetSource, Task, report_progress
from mnist_mlp.training.results import seed_folder


class RunDirError(MnistMlpError, ValueError):
    """An output folder that cannot hold a run."""


def prepare_run_dir(path: Path) -> Path:
    """Create ``path`` if needed and prove it is a writable folder, before any training starts."""
    if path.exists() and not path.is_dir():
        raise RunDirError(f"--out {path} is a file, not a folder; choose another --out")
    if path.is_symlink() and not path.exists():
        raise RunDirError(f"--out {path} is a link to {path.readlink()}, which does not exist; "
                          "create its target or choose another --out")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise RunDirError(f"--out {path} is not writable ({exc.strerror}); choose another --out") from None
    return path


def run_subfolders() -> tuple[str, ...]:
    """The folders a run writes inside its run folder (or seed folder): figures/ and each model's."""
    from mnist_mlp.notebook.models import names

    return ("figures", *names())


@contextlib.contextmanager
def locked(out: Path, seeds: Sequence[int] = (), per_seed_folders: bool = False):
    """Lock ``out`` (and each per-seed folder, so a run holding one of those is not bypassed);
    hold it until every worker has exited. Once held, what writes killed in an earlier run left
    is swept from every folder this run writes into (``out``, each seed folder, their figures/ and
    model folders; never through a symbolic link)."""
    from mnist_mlp.training.lock import run_locks

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
    from mnist_mlp.training.train import train_and_evaluate

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


def train_on_pool(plan: RunPlan, reports: Reports | None = None) -> dict:
    """Every (model, seed) on ``plan.jobs`` worker processes pinned to the plan's cores, each
    model's report figures drawn by its worker as it ends, then each seed's report on the same
    workers: ``{seed: {model: result}}``."""
    from mnist_mlp.training import pool
    from mnist_mlp.training.train import train_and_evaluate

    tasks = pool.schedule(plan.models, plan.seeds, plan.out, per_seed_folders=plan.per_seed_folders)
    workers = pool.split_cores(plan.cores, min(plan.jobs, len(tasks)))
    _announce(plan.out)
    print(f"{len(tasks)} tasks, longest first, on {len(workers)} worker processes pinned to cores "
          f"{' '.join(','.join(map(str, group)) for group in workers)}", flush=True)
    then = [functools.partial(reports.build, plan.folder(s), reuse_model_figures=True)
            for s in plan.seeds] if reports else []
    done = pool.run(tasks, plan.recipe, plan.source, plan.jobs, cores=plan.cores,
                    resume_hint=f"rerun with --out {plan.out} to resume", on_result=report_progress(),
                    restart=plan.restart, then=then,
                    after_each=reports.draw_model_figures if reports else None, train=train_and_evaluate)
    env = next(iter(done.values())).environment
    print(f"Keras {env['keras']}, backend {env['backend']} ({env['backend_chosen_by']})", flush=True)
    by_task = {(task.model, task.seed): result for task, result in done.items()}
    return {seed: {m: by_task[m, seed] for m in plan.models} for seed in plan.seeds}


def train(plan: RunPlan, reports: Reports | None = None) -> dict[int, tuple[Path, dict]]:
    """Train every model of the plan for every seed (the caller holds the folders' locks):
    ``{seed: (run folder, {model: result})}``, each seed's report built when ``reports`` says how."""
    if plan.jobs == 1:
        runs = {}
        for seed in plan.seeds:
            folder = prepare_run_dir(plan.folder(seed))
            runs[seed] = train_here(plan.models, plan.recipe_for(seed), folder, plan.source, plan.restart)
            if reports is not None:
                print(f"report: {reports.build(folder)}")
    else:
        runs = train_on_pool(plan, reports)
    return {seed: (plan.folder(seed), results) for seed, results in runs.items()}
