"""A/B of two builds on this machine in one run, interleaved round by round, then ``mnist-mlp
bench-compare`` on the two collected runs (exit 1 on a significant slowdown >= --threshold).

    python benchmarks/ab.py --base-rev HEAD~1          # this tree against its parent commit
    python benchmarks/ab.py --base-python ENV1/bin/python --candidate-python ENV2/bin/python
    python benchmarks/ab.py --base-python P --candidate-python P --candidate-env MNIST_MLP_BENCH_INJECT=0.15

--pairs times: one benchmark process per build (``pytest benchmarks -k test_step`` for --models,
--bench-rounds rounds of one call each), both started at once on the same CPU set, handed the
core in turns (benchmarks/turns.py): a round of one build, a round of the other, the order
alternating every round, so adjacent rounds are a fraction of a second apart and the machine's
slow phases (seconds long on a shared VM) hit both alike; as ``asv continuous`` and ``pyperf``
interleave, at a finer grain. Every process runs this tree's benchmark code and instruments
(benchmarks/instruments/: core pinning, the compiled step, the floor) against the
``mnist_mlp`` its Python imports, from a scratch folder so this tree is not on its path: one
ruler, only the library differs. Both are checked: the base's ``mnist_mlp`` location before the
run, and after it that every benchmark of both builds recorded this tree's instruments. The rounds of
every pair go, in order, into the
``stats.data`` of each build's merged JSON in --out (base.json, candidate.json), marked paired.
``--base-rev REV`` exports that git revision's ``mnist_mlp`` and ``golden`` (``git archive``) to
--work and runs it with the candidate's Python (``PYTHONPATH``): the same installed packages on
both sides, so only this repository's code differs.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import turns

from mnist_mlp.cli.arguments import OneLineParser
from mnist_mlp.files import write_json

TREE = Path(__file__).resolve().parent.parent
# The configuration CI runs and benchmarks/ab_error_rates.py measures: a plain ReLU stack and a
# BatchNormalization + Dropout one, so every layer kind of the eight models is timed.
DEFAULT_MODELS, DEFAULT_PAIRS, DEFAULT_BENCH_ROUNDS = ("arch1_relu", "arch2_bn_dropout"), 2, 60
# What this tree's benchmark code needs from the mnist_mlp under test (its instruments are this
# tree's, benchmarks/instruments/): exit 3 if it has no mnist_mlp at all (a wrong --base-python),
# 4 if its mnist_mlp predates the seeded draws the benchmarks build models with, compat's access
# to fit's compiled step, or the FLOP count and GEMM peak the instruments import (in either
# layout: instruments/library.py). argv[1] is this tree's benchmarks/ folder.
HARNESS_PROBE = """import sys
try:
    import mnist_mlp
except ImportError:
    sys.exit(3)
sys.path.insert(0, sys.argv[1])
try:
    from instruments import library, roofline, train_step
except ImportError:
    sys.exit(4)
print(mnist_mlp.__file__)
"""
INSTRUMENTS = TREE / "benchmarks" / "instruments"


def key_value(text: str) -> str:
    """An argument of the form KEY=VALUE (argparse refuses anything else, exit 2)."""
    key, sep, _ = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return text


def env_pairs(items: list[str]) -> dict[str, str]:
    """KEY=VALUE arguments (checked by ``key_value``) as a mapping."""
    return dict(item.partition("=")[::2] for item in items)


def export_revision(rev: str, work: Path) -> Path | None:
    """``mnist_mlp`` and ``golden`` of git revision ``rev`` in WORK/base-src; None without it."""
    found = subprocess.run(["git", "-C", str(TREE), "rev-parse", "--verify", "--quiet",
                            f"{rev}^{{commit}}"], capture_output=True, check=False)
    if found.returncode != 0:
        return None
    archive = subprocess.run(["git", "-C", str(TREE), "archive", "--format=tar", rev,
                              "mnist_mlp", "golden"], capture_output=True, check=True)
    src = work / "base-src"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(src, filter="data")
        else:  # Python < 3.11.4: git archive of our own history holds plain files only
            tar.extractall(src)
    return src


@dataclasses.dataclass
class Worker:
    """One benchmark process and the coordinator's ends of its two pipes."""

    side: str
    process: subprocess.Popen
    go: int  # written: "your turn"
    ready: int  # read: "my next round is waiting", or end of file when the process exits
    json_path: Path
    log_path: Path

    def wait_ready(self) -> bool:
        """Block until the process asks for its next round (True) or has exited (False)."""
        return os.read(self.ready, 1) == turns.TOKEN

    def give_turn(self) -> bool:
        try:
            os.write(self.go, turns.TOKEN)
            return True
        except BrokenPipeError:
            return False

    def close(self) -> None:
        for fd in (self.go, self.ready):
            os.close(fd)


def spawn(side: str, command: list[str], env: dict, json_path: Path, log_path: Path,
          cwd: Path) -> Worker:
    """Start ``command`` as ``side``'s worker, its turn pipes named in its environment."""
    go_read, go_write = os.pipe()
    ready_read, ready_write = os.pipe()
    env = {**env, turns.ENV: f"{go_read},{ready_write}"}
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, pass_fds=(go_read, ready_write))
    os.close(go_read)
    os.close(ready_write)
    return Worker(side, process, go_write, ready_read, json_path, log_path)


def start_worker(side: str, python: str, extra_env: dict, index: int, args, out: Path) -> Worker:
    """One benchmark process for ``side``, waiting for its turns."""
    json_path, log_path = out / f"{side}-{index:03d}.json", out / f"{side}-{index:03d}.log"
    suite = TREE / "benchmarks" / "test_training_speed.py"
    # node ids, not -k: "-k arch1_bn" would select arch1_bn_dropout too
    command = [python, "-m", "pytest", *(f"{suite}::test_step[{model}]" for model in args.models), "-q",
               "-p", "no:cacheprovider", f"--benchmark-json={json_path}"]
    env = {**os.environ, "KERAS_BACKEND": args.backend,
           "MNIST_MLP_BENCH_ROUNDS": str(args.bench_rounds), **extra_env}
    scratch = out / "cwd"
    scratch.mkdir(exist_ok=True)
    return spawn(side, command, env, json_path, log_path, scratch)


def take_turns(workers: list[Worker]) -> None:
    """Hand the CPUs to one worker round at a time, who goes first alternating every round,
    until every worker has exited."""
    alive = [w for w in workers if w.wait_ready()]  # all set up before any round is timed
    handed = 0
    while alive:
        order = alive if handed % 2 == 0 else alive[::-1]
        for worker in list(order):
            if not (worker.give_turn() and worker.wait_ready()):
                alive.remove(worker)
        handed += 1


def run_pair(index: int, sides: dict, args, out: Path) -> dict[str, dict]:
    """Both builds' processes for pair ``index`` (who starts alternates by pair); their JSONs."""
    names = ["base", "candidate"] if index % 2 == 0 else ["candidate", "base"]
    workers = [start_worker(side, *sides[side], index=index, args=args, out=out)
               for side in names]
    take_turns(workers)
    runs = {}
    for worker in workers:
        code = worker.process.wait()
        worker.close()
        if code != 0 or not worker.json_path.exists():
            sys.stderr.write(worker.log_path.read_text()[-3000:])
            print(f"ab.py: error: the {worker.side} benchmark process failed (exit {code}); "
                  f"its log is above and in {worker.log_path}", file=sys.stderr)
            raise SystemExit(2)  # not 1, which means "significantly slower"
        runs[worker.side] = json.loads(worker.json_path.read_text())
    return runs


def merge(runs: list[dict]) -> dict:
    """One JSON whose benchmarks hold every pair's rounds, in pair order, as ``stats.data``."""
    merged = copy.deepcopy(runs[0])
    for entry in merged["benchmarks"]:
        per_pair = [next(b["stats"]["data"] for b in run["benchmarks"]
                         if b["fullname"] == entry["fullname"]) for run in runs]
        data = [value for rounds in per_pair for value in rounds]
        entry["stats"] = {"median": statistics.median(data), "min": min(data), "max": max(data),
                          "rounds": len(data), "data": data}
        entry["extra_info"].update(ab_paired=True, ab_pairs=len(runs),
                                   ab_rounds=[len(rounds) for rounds in per_pair])
    return merged


def ruler_error(runs: dict[str, list[dict]]) -> str | None:
    """Why the two builds were not measured with one ruler (this tree's instruments), or None."""
    for side, side_runs in runs.items():
        for run in side_runs:
            for entry in run["benchmarks"]:
                used = entry["extra_info"].get("instruments")
                if used is None or Path(used).resolve() != INSTRUMENTS.resolve():
                    return (f"the {side} build's {entry['name']} was timed with the instruments "
                            f"in {used}, not this tree's {INSTRUMENTS}: one ruler for both builds")
    return None


def absolute_path(text: str) -> Path:
    """A folder argument made absolute: the benchmark processes run from scratch folders."""
    return Path(text).resolve()


def interpreter(text: str) -> str:
    """A Python argument made absolute (the benchmark processes run from scratch folders); one
    that is not an executable file is a usage error."""
    found = shutil.which(text) if os.sep not in text else str(Path(text).absolute())
    if not found or not os.access(found, os.X_OK) or Path(found).is_dir():
        raise argparse.ArgumentTypeError(f"{text} is not an executable Python; give the path of an "
                                         "environment's bin/python")
    return found


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineParser(description=__doc__.split("\n\n")[0])
    base = parser.add_mutually_exclusive_group(required=True)
    base.add_argument("--base-python", type=interpreter, help="Python of the base build's environment")
    base.add_argument("--base-rev", help="git revision of this repository to run as the base "
                      "(e.g. HEAD~1), with the candidate's Python")
    parser.add_argument("--candidate-python", type=interpreter, default=sys.executable)
    parser.add_argument("--base-env", nargs="*", default=[], type=key_value, metavar="KEY=VALUE")
    parser.add_argument("--candidate-env", nargs="*", default=[], type=key_value, metavar="KEY=VALUE")
    parser.add_argument("--pairs", type=int, default=DEFAULT_PAIRS,
                        help="process pairs, one process per build each (default %(default)s)")
    parser.add_argument("--bench-rounds", type=int, default=DEFAULT_BENCH_ROUNDS,
                        help="timed rounds (one call each) per model and process "
                             "(default %(default)s)")
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument("--backend", default=os.environ.get("KERAS_BACKEND") or "jax",
                        help="default: KERAS_BACKEND, else jax")
    parser.add_argument("--threshold", help="bench-compare's --threshold (default: its own)")
    parser.add_argument("--out", type=absolute_path, default=TREE / ".benchmarks" / "ab")
    parser.add_argument("--work", type=absolute_path, default=TREE / ".tox" / "ab-base")
    args = parser.parse_args(argv)
    if args.pairs < 1 or args.bench_rounds < 2:
        parser.error("--pairs must be at least 1 and --bench-rounds at least 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    base_env = env_pairs(args.base_env)
    base_python = args.base_python or args.candidate_python
    base_src = None
    if args.base_rev:
        base_src = export_revision(args.base_rev, args.work)
        if base_src is None:
            print(f"ab: no git revision {args.base_rev} here (not a git clone, or a shallow one): "
                  "nothing to compare; `git fetch --unshallow` gives the A/B its base")
            return 0
        base_env["PYTHONPATH"] = str(base_src)
    probe = subprocess.run([base_python, "-c", HARNESS_PROBE, str(INSTRUMENTS.parent)], cwd=args.out,
                           capture_output=True,
                           text=True, env={**os.environ, **base_env}, check=False)
    if probe.returncode == 4:
        print(f"ab: the base ({args.base_rev or base_python}) predates the A/B harness "
              "(its mnist_mlp lacks draws, models, recipe, train, compat's train-step access, or "
              "the FLOP count and GEMM peak the instruments import): "
              "nothing to compare")
        return 0
    if probe.returncode != 0:
        print(f"ab.py: error: {base_python} cannot import mnist_mlp (exit {probe.returncode}); "
              "install the base build there or pass --base-env PYTHONPATH=...", file=sys.stderr)
        return 2
    if base_src and not Path(probe.stdout.strip()).is_relative_to(base_src):
        print(f"ab.py: error: the base imports mnist_mlp from {probe.stdout.strip()}, not from "
              f"{base_src}: the A/B would compare this tree with itself", file=sys.stderr)
        return 2
    sides = {"base": (base_python, base_env),
             "candidate": (args.candidate_python, env_pairs(args.candidate_env))}
    runs: dict[str, list[dict]] = {"base": [], "candidate": []}
    for index in range(args.pairs):
        for side, run in run_pair(index, sides, args, args.out).items():
            runs[side].append(run)
        print(f"ab: pair {index + 1}/{args.pairs} done ({time.perf_counter() - started:.0f}s)",
              flush=True)
    if error := ruler_error(runs):
        print(f"ab.py: error: {error}", file=sys.stderr)
        return 2
    for side, side_runs in runs.items():
        write_json(args.out / f"{side}.json", merge(side_runs))
        where = side_runs[0]["benchmarks"][0]["extra_info"].get("mnist_mlp")
        print(f"ab: {side}: {sides[side][0]} (mnist_mlp from {where})")
    compare = subprocess.run(
        [args.candidate_python, "-m", "mnist_mlp", "bench-compare", str(args.out / "base.json"),
         str(args.out / "candidate.json"),
         *(["--threshold", args.threshold] if args.threshold else [])],
        env={**os.environ, **sides["candidate"][1]}, cwd=args.out / "cwd", check=False)
    print(f"ab: {time.perf_counter() - started:.0f}s in all")
    return compare.returncode


if __name__ == "__main__":
    sys.exit(main())
