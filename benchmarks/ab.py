"""A/B of two builds on this machine in one run, interleaved round by round (as ``asv continuous``
and ``pyperf`` do), so drift in the machine's load hits both alike; then ``mnist-mlp
bench-compare`` on the two collected runs (exit 1 on a significant slowdown >= --threshold).

    python benchmarks/ab.py --base-python ENV1/bin/python --candidate-python ENV2/bin/python
    python benchmarks/ab.py --base-rev HEAD~1 --candidate-python .tox/bench-ab/bin/python
    python benchmarks/ab.py --base-python P --candidate-python P --candidate-env MNIST_MLP_BENCH_INJECT=0.15

Each round starts one short benchmark process per build (``pytest benchmarks -k test_step`` for
--models, --bench-rounds rounds each), base first in even rounds and candidate first in odd ones.
Every process runs this tree's benchmark code against the ``mnist_mlp`` its Python imports (the
build under test), from a scratch folder so this tree is not on its path. A build's per-process
medians become the ``stats.data`` of its merged JSON in --out: base.json, candidate.json.
``--base-rev REV`` builds that git revision first: a ``git worktree`` in --work and a virtualenv
with it pip-installed (with its ``jax`` and ``test`` extras).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TREE = Path(__file__).resolve().parent.parent
DEFAULT_MODELS = ("arch1_relu", "arch2_relu", "arch1_bn_dropout")
# What this tree's benchmark code needs from the mnist_mlp under test: exit 3 if it has no
# mnist_mlp at all (a wrong --base-python), 4 if its mnist_mlp predates the A/B harness.
HARNESS_PROBE = """import sys
try:
    import mnist_mlp
except ImportError:
    sys.exit(3)
try:
    import mnist_mlp.cpus, mnist_mlp.roofline
    from mnist_mlp.compat import compiled_train_step
except ImportError:
    sys.exit(4)
"""


def env_pairs(items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"ab.py: error: expected KEY=VALUE, got {item!r}")
        pairs[key] = value
    return pairs


def build_revision(rev: str, work: Path) -> Path:
    """A virtualenv with git revision ``rev`` of this tree installed; returns its Python."""
    src, venv = work / "base-src", work / "base-venv"
    subprocess.run(["git", "-C", str(TREE), "worktree", "remove", "--force", str(src)],
                   capture_output=True, check=False)
    subprocess.run(["git", "-C", str(TREE), "worktree", "add", "--detach", str(src), rev],
                   check=True)
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"{src}[jax,test]"], check=True)
    return python


def run_once(python: str, side: str, index: int, args, extra_env: dict, out: Path) -> dict:
    """One benchmark process; returns its pytest-benchmark JSON."""
    path = out / f"{side}-{index:03d}.json"
    selection = " or ".join(args.models)
    command = [python, "-m", "pytest", str(TREE / "benchmarks" / "test_training_speed.py"), "-q",
               "-p", "no:cacheprovider", "-k", f"test_step and ({selection})",
               f"--benchmark-json={path}"]
    env = {**os.environ, "KERAS_BACKEND": args.backend,
           "MNIST_MLP_BENCH_ROUNDS": str(args.bench_rounds), **extra_env}
    scratch = out / "cwd"
    scratch.mkdir(exist_ok=True)
    result = subprocess.run(command, cwd=scratch, env=env, capture_output=True, text=True,
                            check=False)
    if result.returncode != 0 or not path.exists():
        sys.stderr.write(result.stdout[-3000:] + result.stderr[-3000:])
        print(f"ab.py: error: the {side} benchmark process failed (exit {result.returncode}); "
              "its output is above", file=sys.stderr)
        raise SystemExit(2)  # not 1, which means "significantly slower"
    return json.loads(path.read_text())


def merge(runs: list[dict]) -> dict:
    """One JSON whose benchmarks hold each process's median (per call) as ``stats.data``."""
    merged = copy.deepcopy(runs[0])
    for entry in merged["benchmarks"]:
        medians = [next(b["stats"]["median"] for b in run["benchmarks"]
                        if b["fullname"] == entry["fullname"]) for run in runs]
        entry["stats"] = {"median": statistics.median(medians), "min": min(medians),
                          "max": max(medians), "rounds": len(medians), "data": medians}
        entry["extra_info"]["ab_processes"] = len(medians)
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    base = parser.add_mutually_exclusive_group(required=True)
    base.add_argument("--base-python", help="Python of the base build's environment")
    base.add_argument("--base-rev", help="git revision to build as the base (e.g. HEAD~1)")
    parser.add_argument("--candidate-python", default=sys.executable)
    parser.add_argument("--base-env", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--candidate-env", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--rounds", type=int, default=6, help="processes per build (default 6)")
    parser.add_argument("--bench-rounds", type=int, default=20,
                        help="benchmark rounds per process (default 20)")
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument("--backend", default="jax")
    parser.add_argument("--threshold", default="0.10")
    parser.add_argument("--out", type=Path, default=TREE / ".benchmarks" / "ab")
    parser.add_argument("--work", type=Path, default=TREE / ".tox" / "ab-base")
    args = parser.parse_args(argv)
    if args.rounds < 2:
        parser.error("--rounds must be at least 2 (one process a side gives no evidence)")

    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    base_python = args.base_python or str(build_revision(args.base_rev, args.work))
    probe = subprocess.run([base_python, "-c", HARNESS_PROBE], cwd=args.out, capture_output=True,
                           env={**os.environ, **env_pairs(args.base_env)}, check=False)
    if probe.returncode == 4:
        print(f"ab: the base ({args.base_rev or base_python}) predates the A/B harness "
              "(no mnist_mlp.cpus, roofline or compat.compiled_train_step): nothing to compare")
        return 0
    if probe.returncode != 0:
        print(f"ab.py: error: {base_python} cannot import mnist_mlp (exit {probe.returncode}); "
              "install the base build there or pass --base-env PYTHONPATH=...", file=sys.stderr)
        return 2
    sides = {"base": (base_python, env_pairs(args.base_env)),
             "candidate": (args.candidate_python, env_pairs(args.candidate_env))}
    runs: dict[str, list[dict]] = {"base": [], "candidate": []}
    for index in range(args.rounds):
        order = ("base", "candidate") if index % 2 == 0 else ("candidate", "base")
        for side in order:
            python, extra_env = sides[side]
            runs[side].append(run_once(python, side, index, args, extra_env, args.out))
        print(f"ab: round {index + 1}/{args.rounds} done ({time.perf_counter() - started:.0f}s)",
              flush=True)
    for side, side_runs in runs.items():
        (args.out / f"{side}.json").write_text(json.dumps(merge(side_runs), indent=1))
        where = side_runs[0]["benchmarks"][0]["extra_info"].get("mnist_mlp")
        print(f"ab: {side}: {sides[side][0]} (mnist_mlp from {where})")
    compare = subprocess.run(
        [args.candidate_python, "-m", "mnist_mlp", "bench-compare", str(args.out / "base.json"),
         str(args.out / "candidate.json"), "--threshold", args.threshold],
        env={**os.environ, **sides["candidate"][1]}, cwd=args.out / "cwd", check=False)
    print(f"ab: {time.perf_counter() - started:.0f}s in all")
    return compare.returncode


if __name__ == "__main__":
    sys.exit(main())
