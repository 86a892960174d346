"""``steps_per_execution`` by measurement: the epoch time of ``mnist-mlp train`` at several
values, per backend and model, on one pinned core, and the longest a Ctrl-C waits (one compiled
call: steps_per_execution x the step time).

    python benchmarks/steps_per_execution.py --write      # docs/results/steps-per-execution.md
    python benchmarks/steps_per_execution.py --values 8 64 --rounds 1 --backends jax

Every run is the real command in a fresh process (``--epochs 3``; the result's epochs after the
first, which compiles, give the epoch time: steps, per-epoch validation and callbacks). Rounds
interleave the values, the order rotating each round, so the machine's drift hits all alike.
The values trained the same model bit for bit (``tests/test_steps_per_execution.py``); only the
time differs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

TREE = Path(__file__).resolve().parent.parent
PAGE = TREE / "docs" / "results" / "steps-per-execution.md"
KEPT = TREE / "benchmarks" / "results" / "steps-per-execution.json"


def one_run(backend: str, model: str, value: int, epochs: int, core: int, out: Path) -> dict:
    """Train once pinned to ``core``; the median epoch seconds and step ms after the first epoch."""
    from mnist_mlp.training.results import read_result

    env = {**os.environ, "KERAS_BACKEND": backend}
    command = [sys.executable, "-m", "mnist_mlp", "train", model, "--epochs", str(epochs),
               "--steps-per-execution", str(value), "--out", str(out), "--restart"]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False,
                          preexec_fn=lambda: os.sched_setaffinity(0, {core}))
    if proc.returncode not in (0, 1):  # 1: the accuracy gate, which 3 epochs need not pass
        raise SystemExit(f"steps_per_execution: {' '.join(command)} exited {proc.returncode}: "
                         f"{proc.stderr[-1500:]}")
    result = read_result(out / model / "result.json")
    return {"epoch_s": statistics.median(e.seconds for e in result.epochs[1:]), "step_ms": result.step_ms}


def measure(args) -> dict:
    runs: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for round_index in range(args.rounds):
            shift = round_index % len(args.values)
            order = args.values[shift:] + args.values[:shift]
            for backend in args.backends:
                for model in args.models:
                    for value in order:
                        run = one_run(backend, model, value, args.epochs, args.core, Path(scratch))
                        runs.setdefault(f"{backend} {model} {value}", []).append(run)
                        print(f"{backend} {model} spe {value}: {run['epoch_s']:.2f} s an epoch, "
                              f"step {run['step_ms']:.2f} ms", flush=True)
    return {"date": date.today().isoformat(), "core": args.core, "epochs": args.epochs,
            "rounds": args.rounds, "values": args.values, "runs": runs,
            "versions": versions(args.backends)}


def versions(backends: list[str]) -> dict:
    probe = "import json, keras, jax, tensorflow; print(json.dumps({'keras': keras.__version__, " \
            "'jax': jax.__version__, 'tensorflow': tensorflow.__version__}))"
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    return json.loads(found.stdout) if found.returncode == 0 else {"backends": backends}


def render(kept: dict) -> str:
    lines = ["# `steps_per_execution`: epoch time and Ctrl-C wait", "",
             (f"Written by `python benchmarks/steps_per_execution.py --write` ({kept['date']}, one "
              f"pinned core ({kept['core']}), {kept['rounds']} rounds interleaved, `mnist-mlp train "
              f"--epochs {kept['epochs']}`, the median epoch after the first; versions "
              f"{kept['versions']}). **Ctrl-C wait** is the longest a stop waits: one compiled call. "
              "The design: [../performance.md](../performance.md#steps-per-execution)."), "",
             "| backend | model | steps per call | epoch s | step ms | vs 8 | Ctrl-C wait ms |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for key, runs in kept["runs"].items():
        backend, model, value = key.split()
        epoch = statistics.median(r["epoch_s"] for r in runs)
        step = statistics.median(r["step_ms"] for r in runs)
        eight = kept["runs"].get(f"{backend} {model} 8")
        versus = f"{epoch / statistics.median(r['epoch_s'] for r in eight):.2f}" if eight else "-"
        lines.append(f"| {backend} | {model} | {value} | {epoch:.2f} | {step:.2f} | {versus} | "
                     f"{int(value) * step:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="+", default=["jax", "tensorflow"])
    parser.add_argument("--models", nargs="+", default=["arch1_relu", "arch1_bn_dropout"])
    parser.add_argument("--values", nargs="+", type=int, default=[1, 8, 32, 64, 128])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--core", type=int, default=min(os.sched_getaffinity(0)))
    parser.add_argument("--write", action="store_true", help=f"keep {KEPT.name} and write {PAGE.name}")
    args = parser.parse_args(argv)
    kept = measure(args)
    if args.write:
        from mnist_mlp.files import write_json, write_text

        write_json(KEPT, kept)
        write_text(PAGE, render(kept))
    print(render(kept))
    return 0


if __name__ == "__main__":
    sys.exit(main())
