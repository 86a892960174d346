"""Train (model, seed) tasks in worker processes, one per group of cores, longest first.

The rules:

- **Cores.** The cores this process may use (``os.sched_getaffinity``) are split into one
  contiguous group per worker, sizes differing by at most one (2 cores, 2 workers: ``(0,)``,
  ``(1,)``; 16 cores, 8 tasks: 8 pairs). The groups wait in a queue; each worker's initializer
  takes one and pins the worker to it with ``os.sched_setaffinity`` before anything in it imports
  Keras, so the backend sizes its thread pools to that group. Workers start with ``spawn``: a
  fresh interpreter that inherits none of the parent's imports or threads (so what the parent has
  imported does not matter), and is never replaced.
- **Order.** Tasks are submitted by cost, highest first (the model's parameter count from
  ``golden/notebook/architectures.json``; ties keep registry order, then seed order), so the longest
  models start first and the short ones fill the gaps at the end.
- **Results.** A task is ``train.train_and_evaluate`` in the task's run folder with the task's
  seed: the same result, bit for bit, as that model trained alone with that seed on as many cores.
- **Faults.** Workers ignore SIGINT: Ctrl-C reaches the parent, which terminates every worker and
  re-raises ``KeyboardInterrupt``. A worker that dies breaks the pool and the executor stops the
  others; every unfinished model keeps its last finished epoch (train.py's checkpoint) and resumes
  on the next run into the same folder. ``WorkerLostError`` says which model's worker died.
- **No orphans.** Workers die with the parent: on Linux each asks the kernel for SIGKILL when its
  parent dies (``PR_SET_PDEATHSIG``, so a parent killed by SIGKILL leaves none training on), and
  they inherit the parent's run-folder locks (``lock.inherited``), so a folder stays locked until
  the last worker is gone. Drive the pool from a thread that lives as long as it (the main
  thread): Linux sends the signal when the thread that started a worker ends.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mnist_mlp.errors import MnistMlpError
from mnist_mlp.training.children import die_with_parent
from mnist_mlp.training.results import seed_folder

if TYPE_CHECKING:
    from mnist_mlp.training.results import RunResult

BACKEND_MODULES = ("keras", "tensorflow", "jax", "torch")


class JobsError(MnistMlpError, ValueError):
    """A worker count that the usable cores cannot give each worker its own core."""


class WorkerLostError(MnistMlpError, RuntimeError):
    """A worker process died; the message names its model and how to resume."""


@dataclasses.dataclass(frozen=True)
class Task:
    """Train ``model`` with ``seed`` into ``run_dir/<model>/``; ``label`` prefixes its progress."""

    model: str
    seed: int
    run_dir: Path
    label: str = ""

    def __str__(self) -> str:
        return f"{self.model} (seed {self.seed})"


@dataclasses.dataclass(frozen=True)
class DatasetSource:
    """Where workers get their data: MNIST from ``data`` (as ``--data``), preprocessed; only the
    first ``train_images`` / ``test_images`` when set (tests train through the pool on slices)."""

    data: str | None = None
    train_images: int | None = None
    test_images: int | None = None

    def verify(self) -> None:
        """Fetch and verify once, before any worker starts: bad data is one error in the parent,
        and the workers then read the verified cache."""
        from mnist_mlp.notebook.data import fetch_mnist

        fetch_mnist(self.data)

    def load(self):
        from mnist_mlp.notebook.data import load_mnist
        from mnist_mlp.notebook.preprocess import Dataset

        (x_train, y_train), (x_test, y_test) = load_mnist(self.data)
        train, test = slice(self.train_images), slice(self.test_images)
        return Dataset.from_mnist(((x_train[train], y_train[train]), (x_test[test], y_test[test])))


def usable_cores() -> list[int]:
    """The cores this process may run on (all of them where affinity is not supported)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def split_cores(cores: Sequence[int], workers: int) -> list[tuple[int, ...]]:
    """``workers`` contiguous groups of ``cores``, sizes differing by at most one."""
    cores = sorted(cores)
    if not 1 <= workers <= len(cores):
        raise JobsError(f"--jobs {workers}: must be 1 to {len(cores)}, one worker per core "
                        f"({len(cores)} usable cores: {', '.join(map(str, cores))})")
    size, extra = divmod(len(cores), workers)
    groups, start = [], 0
    for i in range(workers):
        end = start + size + (i < extra)
        groups.append(tuple(cores[start:end]))
        start = end
    return groups


def cost(model: str) -> int:
    """A model's training cost for ordering: its parameter count (FLOPs per step grow with it)."""
    from mnist_mlp.notebook import golden

    return golden.load("architectures")["models"][model]["total"]


# --jobs' default: the pool only where it is predicted faster than this process. Work is
# parameter-epochs (a task's parameter count times its epochs). This process trains on every core,
# HERE_SPEEDUP times as fast as one worker on one core; the pool pays, over training here, extra
# start-up (a fresh interpreter, imports, MNIST and first compilations per worker) worth
# POOL_START_WORK parameter-epochs of one core's training. Both measured on 2 cores before the
# steps-per-call speed-up; the rule still never picks slower than --jobs 1 but now trains some
# small jobs here that the pool would finish sooner (docs/performance.md, "Pool size").
HERE_SPEEDUP = 1.44
POOL_START_WORK = 8.4e5


def makespan(work: Sequence[float], workers: int) -> float:
    """The most work one worker gets when each task, largest first, goes to the least loaded."""
    loads = [0.0] * workers
    for w in sorted(work, reverse=True):
        loads[loads.index(min(loads))] += w
    return max(loads)


def default_jobs(models: Sequence[str], seeds: int, epochs: int, cores: int) -> int:
    """One worker per core (at most one per task) when the pool is predicted faster, else 1."""
    work = [cost(m) * epochs for m in models] * seeds
    workers = min(cores, len(work))
    if workers < 2:
        return 1
    pool_time = POOL_START_WORK + makespan(work, workers)
    here_time = sum(work) / HERE_SPEEDUP
    return workers if pool_time < here_time else 1


def schedule(models: Sequence[str], seeds: Sequence[int], out: Path,
             per_seed_folders: bool = False) -> list[Task]:
    """Every (model, seed) task, most expensive first; run folder ``out`` or ``out/seed-<S>``."""
    if len(seeds) > 1 and not per_seed_folders:
        raise ValueError("several seeds need one run folder per seed (per_seed_folders=True)")
    pairs = sorted(
        ((m, s) for s in seeds for m in models),
        key=lambda ms: (-cost(ms[0]), models.index(ms[0]), seeds.index(ms[1])),
    )
    total = len(pairs)
    return [
        Task(model, seed, seed_folder(out, seed, per_seed_folders),
             f"[{i}/{total}{f' seed {seed}' if per_seed_folders else ''}] ")
        for i, (model, seed) in enumerate(pairs, start=1)
    ]


# ---------------------------------------------------------------------------------------------
# The worker side


_preloaded: tuple[str, ...] = ()
_events = None


def _start_worker(core_groups, events, parent: int, locks=()) -> None:
    """Pool initializer: die with the parent, take a core group, pin to it, then ignore Ctrl-C
    (the parent stops us). ``locks``: the parent's run-folder locks, held until we exit."""
    global _preloaded, _events
    die_with_parent(parent)
    _preloaded = tuple(m for m in BACKEND_MODULES if m in sys.modules)
    cores = core_groups.get()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cores)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _events = events


def preloaded_backends() -> tuple[str, ...]:
    """In a worker: the backend modules that were imported before it pinned itself (none)."""
    return _preloaded


@functools.lru_cache(maxsize=1)
def _dataset(source: DatasetSource):
    return source.load()


def _train(train: Callable[..., RunResult], task: Task, recipe, source: DatasetSource, callbacks: tuple,
           restart: bool, after_each: Callable[[Task, RunResult], object] | None) -> RunResult:
    _events.put((os.getpid(), task))  # synchronous: the parent learns it even if we die next
    result = train(task.model, _dataset(source), dataclasses.replace(recipe, seed=task.seed),
                                task.run_dir, label=task.label, callbacks=list(callbacks),
                                restart=restart)
    if after_each is not None:
        _after_task(after_each, task, result)
    return result


def _after_task(after_each: Callable[[Task, RunResult], object], task: Task, result: RunResult) -> None:
    """``after_each`` on this worker; a failure in it is one line on stderr, never the pool's end:
    the model is trained, and what ``after_each`` makes (its report figures) is made again later."""
    try:
        after_each(task, result)
    except Exception as exc:  # noqa: BLE001 (whatever drawing a figure raises)
        print(f"{task.label}{task.model}: {getattr(after_each, '__name__', 'after_each')} failed "
              f"({type(exc).__name__}: {exc}); the report will try again", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The parent side


def open_pool(groups: Sequence[tuple[int, ...]]):
    """A spawn pool with one worker per core group, each pinned to its group, and the queue on
    which its workers announce each task they start: ``(pid, Task)``. The workers die with this
    process and hold the run-folder locks it holds (``lock.inherited``) until they exit."""
    from mnist_mlp.training import lock

    ctx = multiprocessing.get_context("spawn")
    core_groups, events = ctx.SimpleQueue(), ctx.SimpleQueue()
    for group in groups:
        core_groups.put(group)
    executor = concurrent.futures.ProcessPoolExecutor(
        len(groups), mp_context=ctx, initializer=_start_worker,
        initargs=(core_groups, events, os.getpid(), lock.inherited()),
    )
    return executor, events


def _processes(executor) -> dict:
    """pid -> Process of the pool's workers. The executor keeps no public handle to them before
    Python 3.14's ``terminate_workers()``, and one is needed to stop them and read exit codes."""
    return dict(getattr(executor, "_processes", None) or {})


def _stop(executor, processes: dict) -> None:
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes.values():
        process.terminate()
    for process in processes.values():
        process.join()


def _death(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with exit code {code}"


def _lost_message(processes: dict, started: dict, finished: set, tasks: list, hint: str) -> str:
    unfinished = {pid: task for pid, task in started.items() if task not in finished}
    dead = {pid: p.exitcode for pid, p in processes.items() if p.exitcode != -signal.SIGTERM}
    culprit = next((pid for pid in dead if pid in unfinished), None)
    if culprit is not None:
        head = f"the worker training {unfinished.pop(culprit)} {_death(dead[culprit])}"
    elif dead:
        pid, code = next(iter(dead.items()))
        head = f"a worker process (pid {pid}) {_death(code)} between tasks"
    else:
        head = "a worker process was terminated"
    parts = [head]
    if unfinished:
        parts.append(f"stopped with it: {', '.join(map(str, unfinished.values()))}")
    waiting = [t for t in tasks if t not in finished and t not in started.values()]
    if waiting:
        parts.append(f"not started: {len(waiting)}")
    parts.append(f"{hint} (finished models are kept, the others continue from their last "
                 "finished epoch)")
    return "; ".join(parts)


def run(
    tasks: list[Task],
    recipe,
    source: DatasetSource,
    jobs: int,
    cores: Iterable[int] | None = None,
    callbacks: Sequence = (),
    resume_hint: str = "rerun into the same run folder to resume",
    on_result: Callable[[Task, RunResult], None] | None = None,
    restart: bool = False,
    then: Sequence[Callable[[], object]] = (),
    after_each: Callable[[Task, RunResult], object] | None = None,
    *,
    train: Callable[..., RunResult],
) -> dict[Task, RunResult]:
    """Train ``tasks`` on ``min(jobs, len(tasks))`` workers over ``cores`` (default: all usable);
    return each task's result. ``callbacks`` are extra Keras callbacks for every task;
    ``on_result(task, result)`` is called in the parent as each task finishes; ``restart``
    discards each task's earlier checkpoint and result (``--restart``). ``then`` are picklable
    calls run on the workers once every task has finished (the reports: a worker has Keras loaded
    already, the parent has not); an exception in one is raised here. ``after_each(task, result)``
    (picklable) runs on the task's worker right after it (the task's report figures). ``train``
    is ``train.train_and_evaluate`` (passed in, so the pool knows processes, not training)."""
    cores = usable_cores() if cores is None else sorted(cores)
    if not tasks:
        return {}
    groups = split_cores(cores, min(jobs, len(tasks)))
    source.verify()
    executor, events = open_pool(groups)
    processes: dict = {}
    started: dict[int, Task] = {}
    done: dict[Task, dict] = {}
    try:
        futures = {executor.submit(_train, train, task, recipe, source, tuple(callbacks), restart,
                                   after_each): task for task in tasks}
        pending = set(futures)
        while pending:
            finished, pending = concurrent.futures.wait(
                pending, timeout=0.5, return_when=concurrent.futures.FIRST_COMPLETED)
            processes.update(_processes(executor))
            while not events.empty():
                pid, task = events.get()
                started[pid] = task
            for future in finished:
                if isinstance(future.exception(), concurrent.futures.process.BrokenProcessPool):
                    executor.shutdown(wait=True)  # the executor has stopped the other workers
                    raise WorkerLostError(
                        _lost_message(processes, started, set(done), tasks, resume_hint)
                    ) from None
                task = futures[future]
                done[task] = future.result()
                if on_result is not None:
                    on_result(task, done[task])
        for follower in [executor.submit(call) for call in then]:
            follower.result()
        executor.shutdown(wait=True)
    except BaseException:
        processes.update(_processes(executor))
        _stop(executor, processes)
        raise
    return done


def report_progress(started_at: float | None = None) -> Callable[[Task, dict], None]:
    """An ``on_result`` that prints one line per finished task."""
    started_at = time.perf_counter() if started_at is None else started_at

    def announce(task: Task, result: RunResult) -> None:
        print(f"{task.label}{task.model}: test accuracy {result.test_accuracy:.4f} "
              f"({time.perf_counter() - started_at:.0f}s so far)", flush=True)

    return announce
