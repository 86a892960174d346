"""Whole-command wall time of ``mnist-mlp reproduce --jobs N`` against ``--jobs 1``, interleaved,
and the per-model results of the parallel runs against one single-core run.

    python benchmarks/compare_jobs.py                      # all eight, 20 epochs, JAX, 2 pairs
    python benchmarks/compare_jobs.py --epochs 5 --pairs 3 --backend tensorflow
    python benchmarks/compare_jobs.py --models arch1_relu arch2_relu --epochs 2 --pairs 2

Each run is the real command in a fresh process, so start-up and data loading count as a user
sees them. Runs alternate ABBA (parallel, serial, serial, parallel, ...) so slow drift of the
machine hits both sides alike. Then one ``taskset -c <first core> mnist-mlp reproduce --jobs 1``
run gives the single-core reference: each worker of a ``--jobs N`` run on N cores has one core,
so every model's history and test accuracy must equal it bit for bit.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def reproduce(out: Path, jobs: int, epochs: int, backend: str, cpus: list[int] | None = None,
              models: list[str] | None = None) -> float:
    """Run ``mnist-mlp reproduce`` once; return its wall time in seconds."""
    env = os.environ | {"KERAS_BACKEND": backend}
    cmd = [sys.executable, "-m", "mnist_mlp", "reproduce", "--jobs", str(jobs),
           "--epochs", str(epochs), "--out", str(out), *(["--models", *models] if models else [])]
    if cpus is not None:
        cmd = ["taskset", "-c", ",".join(map(str, cpus)), *cmd]
    started = time.perf_counter()
    proc = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):  # 1: a gate failed, which is still a finished run
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return seconds


def outcomes(run: Path) -> dict[str, tuple]:
    """Each model's test accuracy, test loss and per-epoch history, as saved."""
    from mnist_mlp.training.results import read_result

    found = {}
    for path in sorted(run.glob("*/result.json")):
        result = read_result(path)
        history = tuple((e.loss, e.accuracy, e.val_loss, e.val_accuracy) for e in result.epochs)
        found[result.model] = (result.test_accuracy, result.test_loss, history)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--backend", default="jax")
    parser.add_argument("--models", nargs="+", help="default: all eight")
    parser.add_argument("--keep", type=Path, help="keep the run folders here (default: a temporary folder)")
    parser.add_argument("--reference", type=Path,
                        help="an earlier single-core run folder of the same epochs and backend "
                             "(skips that run)")
    args = parser.parse_args()
    if args.jobs < 2:
        parser.error("needs at least 2 usable cores (or --jobs 2 or more)")

    root = args.keep or Path(tempfile.mkdtemp(prefix="compare-jobs-"))
    seconds: dict[int, list[float]] = {args.jobs: [], 1: []}
    order = [args.jobs, 1, 1, args.jobs] * ((args.pairs + 1) // 2)
    for i, jobs in enumerate(order[: 2 * args.pairs]):
        seconds[jobs].append(reproduce(root / f"run-{i}-jobs{jobs}", jobs, args.epochs, args.backend,
                                       models=args.models))
        print(f"run {i}: --jobs {jobs}: {seconds[jobs][-1]:.1f} s", flush=True)
    if args.reference is None:
        first_core = min(os.sched_getaffinity(0))
        args.reference = root / "single-core"
        single = reproduce(args.reference, 1, args.epochs, args.backend, cpus=[first_core],
                           models=args.models)
        print(f"single core (taskset -c {first_core}) --jobs 1: {single:.1f} s", flush=True)

    reference = outcomes(args.reference)
    parallel_runs = sorted(p for p in root.glob(f"run-*-jobs{args.jobs}"))
    identical = all(outcomes(run) == reference for run in parallel_runs)
    ratio = statistics.fmean(seconds[args.jobs]) / statistics.fmean(seconds[1])
    print(f"{args.backend}, {args.epochs} epochs, all {len(reference)} models, "
          f"cores {sorted(os.sched_getaffinity(0))}")
    print(f"--jobs {args.jobs}: {', '.join(f'{s:.1f}' for s in seconds[args.jobs])} s; "
          f"--jobs 1: {', '.join(f'{s:.1f}' for s in seconds[1])} s; ratio of means {ratio:.2f}")
    print(f"every --jobs {args.jobs} model identical to the single-core run: {identical}")
    for name, (acc, _, _) in sorted(reference.items()):
        print(f"  {name:<18} test accuracy {acc:.4f}")
    print(f"run folders: {root}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
