"""Whole processes, start to exit: ``mnist-mlp train NAME --epochs E`` in this Python's
environment against the notebook's plain ``model.fit`` on TensorFlow
(``benchmarks/compare_reproduce.py``'s notebook worker: build, compile, fit with validation,
evaluate), as a user runs them: every core, warm caches (one untimed run of each first), in
interleaved pairs whose order alternates (ABBA), so the machine's drift hits both alike.

    python benchmarks/whole_process.py                                # arch1_relu, 2 epochs, 3 pairs
    python benchmarks/whole_process.py --pairs 4 -- --steps-per-execution 64   # extra train args

Prints every run's wall time; for ours also the time to its first output line, to the Keras
line (imports done) and to the first epoch's line; then the median ratio ours / notebook.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MARKS = {"first line": "", "imports done": "Keras ", "first epoch": " epoch 1/"}


def timed(command: list[str], env: dict[str, str]) -> tuple[float, dict[str, float]]:
    """Wall time of ``command`` and when each of MARKS first began a line of its stdout."""
    started = time.perf_counter()
    seen: dict[str, float] = {}
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True) as proc:
        for line in proc.stdout:
            now = time.perf_counter() - started
            for mark, text in MARKS.items():
                if mark not in seen and text in line:
                    seen[mark] = now
    if proc.returncode not in (0, 1):  # 1: the accuracy gate (2 epochs need not pass it)
        raise SystemExit(f"whole_process: {command[:4]} exited {proc.returncode}")
    return time.perf_counter() - started, seen


def commands(args, out: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    ours = [sys.executable, "-m", "mnist_mlp", "train", args.model, "--epochs", str(args.epochs),
            "--out", str(out), "--restart", *args.train_args]
    notebook = [sys.executable, str(HERE / "compare_reproduce.py"), "--worker", "notebook",
                "--models", args.model, "--epochs", str(args.epochs)]
    return {"ours": (ours, env), "notebook": (notebook, {**env, "KERAS_BACKEND": "tensorflow"})}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="arch1_relu")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write every run's times here")
    parser.add_argument("train_args", nargs="*", help="after --: extra `mnist-mlp train` arguments")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        sides = commands(args, Path(scratch) / "run")
        for command, env in sides.values():  # warm: the compile cache, the file cache
            timed(command, env)
        runs: dict[str, list] = {"ours": [], "notebook": []}
        for pair in range(args.pairs):
            order = ("ours", "notebook") if pair % 2 == 0 else ("notebook", "ours")
            for side in order:
                wall, marks = timed(*sides[side])
                runs[side].append({"wall_s": round(wall, 2), **{k: round(v, 2) for k, v in marks.items()}})
                print(f"{side:<9} {wall:6.2f} s  " + "  ".join(f"{k} {v:.2f} s" for k, v in marks.items()),
                      flush=True)
    ratios = [o["wall_s"] / n["wall_s"] for o, n in zip(runs["ours"], runs["notebook"])]
    print(f"ours / notebook: median {statistics.median(ratios):.2f} (pairs: "
          f"{', '.join(f'{r:.2f}' for r in ratios)})")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, "runs": runs,
                                         "ratios": ratios}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
