"""Measure the A/B detector on this machine: how often ``benchmarks/ab.py`` catches an injected
slowdown (target: at least 9 of 10) and how often it cries wolf on A against A (at most 1 of 10).

    python benchmarks/ab_error_rates.py                       # 10 + 10 tries (docs/performance.md)
    python benchmarks/ab_error_rates.py --tries 1 --pairs 1   # a quick look that it works

Both sides of every try are this tree's code in this Python (PYTHONPATH=this tree); the
"injected" tries give the candidate ``MNIST_MLP_BENCH_INJECT`` (benchmarks/injected.py: one extra
matrix product per step, --inject of the step's FLOPs). Tries alternate injected / A-A so load
drift hits both kinds alike. The summary (counts, every try's ratios, the conditions) goes to
--out/error_rates.json after every pair of tries (``complete`` says whether all ran), which
benchmarks/performance_table.py quotes.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import ab

from mnist_mlp.files import write_json
from mnist_mlp.judging import abcompare

TREE = Path(__file__).resolve().parent.parent


def one_try(kind: str, index: int, args) -> dict:
    """One ``benchmarks/ab.py`` run; its verdict (exit 1 = alarm) and every model's ratio."""
    out = args.out / f"{kind}-{index:02d}"
    candidate_env = [f"PYTHONPATH={TREE}"]
    if kind == "injected":
        candidate_env.append(f"MNIST_MLP_BENCH_INJECT={args.inject}")
    command = [sys.executable, str(TREE / "benchmarks" / "ab.py"), "--base-python", sys.executable,
               "--candidate-python", sys.executable, "--base-env", f"PYTHONPATH={TREE}",
               "--candidate-env", *candidate_env, "--pairs", str(args.pairs),
               "--bench-rounds", str(args.bench_rounds), "--backend", args.backend,
               "--models", *args.models, "--out", str(out)]
    code = subprocess.run(command, capture_output=True, text=True, check=False)
    if code.returncode not in (0, 1) or not (out / "candidate.json").exists():
        sys.stderr.write(code.stdout[-2000:] + code.stderr[-2000:])
        raise SystemExit(f"ab_error_rates: {kind} try {index} failed (exit {code.returncode})")
    rows = abcompare.compare(*abcompare.load_pair(out / "base.json", out / "candidate.json"))
    return {"kind": kind, "alarm": code.returncode == 1,
            "ratios": {r.model: round(r.ratio, 4) for r in rows},
            "ci": {r.model: [round(r.ci_low, 4), round(r.ci_high, 4)] for r in rows}}


def summarize(tries: list[dict], args, started: float, load_at_start) -> dict:
    """Counts so far and the conditions; ``complete`` says whether every planned try ran."""
    done = sum(t["kind"] == "a_vs_a" for t in tries)
    return {
        "detected": sum(t["alarm"] for t in tries if t["kind"] == "injected"),
        "false_alarms": sum(t["alarm"] for t in tries if t["kind"] == "a_vs_a"),
        "tries": done, "planned_tries": args.tries, "complete": done == args.tries,
        "inject": args.inject, "threshold": abcompare.THRESHOLD, "pairs": args.pairs,
        "bench_rounds": args.bench_rounds, "backend": args.backend, "models": args.models,
        "cpus": os.environ.get("MNIST_MLP_BENCH_CPUS") or "default (first usable core)",
        "machine": platform.processor() or platform.machine(), "load_at_start": load_at_start,
        "seconds": round(time.perf_counter() - started), "results": tries,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tries", type=int, default=10)
    parser.add_argument("--pairs", type=int, default=ab.DEFAULT_PAIRS, help="ab.py's process pairs")
    parser.add_argument("--bench-rounds", type=int, default=ab.DEFAULT_BENCH_ROUNDS)
    parser.add_argument("--inject", type=float, default=0.15)
    parser.add_argument("--backend", default="jax")
    parser.add_argument("--models", nargs="+", default=list(ab.DEFAULT_MODELS))
    parser.add_argument("--out", type=Path, default=TREE / ".benchmarks" / "ab-error-rates")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    started, load_at_start = time.perf_counter(), os.getloadavg()
    tries: list[dict] = []
    for index in range(args.tries):
        for kind in ("injected", "a_vs_a"):
            tries.append({"try": index, **one_try(kind, index, args)})
            print(f"{kind} try {index + 1}/{args.tries}: alarm={tries[-1]['alarm']} "
                  f"ratios={tries[-1]['ratios']} ({time.perf_counter() - started:.0f}s)", flush=True)
        # Saved after every pair of tries, so a run cut short keeps what it measured.
        summary = summarize(tries, args, started, load_at_start)
        write_json(args.out / "error_rates.json", summary)
    print(f"injected {args.inject:.0%} slowdown caught in {summary['detected']}/{args.tries} tries; "
          f"A vs A false alarms {summary['false_alarms']}/{args.tries} -> {args.out / 'error_rates.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
