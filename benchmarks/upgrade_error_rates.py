"""Measure the upgrade verdict with planted defects: how often it catches them, how often it
false-alarms, and write docs/results/upgrade-error-rates.md.

    python benchmarks/upgrade_error_rates.py slowdown --tries 10   # MNIST_MLP_BENCH_INJECT=0.10, every model
    python benchmarks/upgrade_error_rates.py same --tries 10       # nothing planted (A vs A)
    python benchmarks/upgrade_error_rates.py accuracy --tries 10   # label noise in arch1_relu, new draw a try
    python benchmarks/upgrade_error_rates.py render                # the page from the kept tries

Every try is a whole ``benchmarks/upgrade.py`` run against the ``py311`` stack (JAX) with the
plant on the candidate side only. Training is deterministic, so the seeds one side has already
trained are copied into each try's folder (reproduce reuses them): the speed tries train nothing,
and an accuracy try trains only the candidate's planted model. Each try's outcome is appended to
benchmarks/results/upgrade-error-rates.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from mnist_mlp.judging.upgrade import SEEDS
from mnist_mlp.notebook.models import names as model_names

TREE = Path(__file__).resolve().parent.parent
KEPT = TREE / "benchmarks" / "results" / "upgrade-error-rates.json"
PAGE = TREE / "docs" / "results" / "upgrade-error-rates.md"
INJECT = 0.10
NOISE_MODEL, NOISE_FRACTION = "arch1_relu", 0.0037


def seed_cache(out: Path, kind: str, side: str) -> Path:
    """Where the runs one side has trained are kept between tries: accuracy tries share the base's
    seeds, speed tries (whose plant does not touch training) both sides'."""
    return out / "cache" / ("accuracy" if kind == "accuracy" else "speed") / side


def try_once(kind: str, index: int, out: Path, models: list[str]) -> dict:
    """One verdict run of ``kind``; its outcome."""
    folder = out / f"{kind}-{index:02d}"
    shutil.rmtree(folder, ignore_errors=True)
    sides = ("base",) if kind == "accuracy" else ("base", "candidate")
    for side in sides:
        if seed_cache(out, kind, side).exists():
            shutil.copytree(seed_cache(out, kind, side), folder / side / "runs")
    command = [sys.executable, TREE / "benchmarks" / "upgrade.py", "--base", "py311", "--out", folder]
    if kind == "accuracy":
        command += ["--models", NOISE_MODEL, "--speed-rounds", "0",
                    "--plant", f"label_noise:{NOISE_MODEL}:{NOISE_FRACTION}:{1000 + index}"]
    else:
        command += ["--models", *models,
                    "--candidate-env", f"MNIST_MLP_BENCH_INJECT={INJECT if kind == 'slowdown' else 0}"]
    started = time.perf_counter()
    proc = subprocess.run([str(c) for c in command], capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1) or not (folder / "verdict.json").is_file():
        raise SystemExit(f"upgrade_error_rates: try {folder.name} failed (exit {proc.returncode}):\n"
                         + proc.stderr[-2000:])
    for side in sides:
        shutil.copytree(folder / side / "runs", seed_cache(out, kind, side), dirs_exist_ok=True)
    verdict = json.loads((folder / "verdict.json").read_text())
    return {"kind": kind, "try": index, "exit": proc.returncode,
            "seconds": round(time.perf_counter() - started, 1),
            "speed": {row["model"]: [round(row["ratio"], 4), row["verdict"]] for row in verdict["speed"]},
            "accuracy": summary_of_accuracy(verdict)}


def summary_of_accuracy(verdict: dict) -> dict:
    """model -> [seeds, mean difference in points, outcome]."""
    sys.path.insert(0, str(TREE))
    from mnist_mlp.judging.upgrade import Verdict
    return {row.model: [row.seeds, round(row.mean * 100, 4), row.outcome]
            for row in Verdict.from_json(verdict).paired()}


def render(tries: list[dict]) -> str:
    lines = ["# Upgrade verdict: measured error rates", "",
             "Written by `python benchmarks/upgrade_error_rates.py render` from",
             "`benchmarks/results/upgrade-error-rates.json` (each try a whole `benchmarks/upgrade.py` run",
             "against the `py311` stack on JAX, the defect planted on the candidate side only).", ""]
    for kind, what in (("slowdown", f"every model {INJECT:.0%} slower (`MNIST_MLP_BENCH_INJECT={INJECT}`)"),
                       ("same", "nothing planted (A vs A)"),
                       ("accuracy", (f"label noise ({NOISE_FRACTION:.2%} of the labels, a fresh draw a try) "
                                    f"in {NOISE_MODEL} only"))):
        rows = [t for t in tries if t["kind"] == kind]
        if not rows:
            continue
        if kind == "accuracy":
            hits = sum(t["accuracy"][NOISE_MODEL][2] == "worse" for t in rows)
            lines += [f"## {what}", "", f"**{hits}/{len(rows)} tries read `worse` for {NOISE_MODEL}.**", "",
                      ("| try | seeds the verdict chose | mean difference (points) | outcome | exit "
                       "| seconds |"), "|---|---|---|---|---|---|"]
            for t in rows:
                seeds, mean, outcome = t["accuracy"][NOISE_MODEL]
                lines.append(f"| {t['try']} | {SEEDS[0]}-{SEEDS[seeds - 1]} | {mean:+.3f} | {outcome} "
                             f"| {t['exit']} | {t['seconds']:.0f} |")
        else:
            slower = sum(any(v == "SLOWER" for _, v in t["speed"].values()) for t in rows)
            every = sum(all(v == "SLOWER" for _, v in t["speed"].values()) for t in rows)
            models = sorted(rows[0]["speed"])
            lines += [f"## {what}", "",
                      (f"**{slower}/{len(rows)} runs read `SLOWER` for some model; {every}/{len(rows)} for "
                      f"every model.**"), "",
                      "| try | " + " | ".join(models) + " | exit | seconds |",
                      "|---|" + "---|" * (len(models) + 2)]
            lines += [f"| {t['try']} | " + " | ".join(f"{t['speed'][m][0]:.3f} {t['speed'][m][1]}"
                                                       for m in models)
                      + f" | {t['exit']} | {t['seconds']:.0f} |" for t in rows]
            lines += ["", "Per model: " + "; ".join(
                f"{m} SLOWER in {sum(t['speed'][m][1] == 'SLOWER' for t in rows)}/{len(rows)}, ratios "
                f"{min(t['speed'][m][0] for t in rows):.3f}-{max(t['speed'][m][0] for t in rows):.3f}"
                for m in models) + "."]
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=("slowdown", "same", "accuracy", "render"))
    parser.add_argument("--tries", type=int, default=10)
    parser.add_argument("--start", type=int, default=0, help="the first try's index (to continue a series)")
    parser.add_argument("--out", type=Path, default=TREE / "runs" / "upgrade-error-rates")
    parser.add_argument("--models", nargs="+", help="the speed tries' models (default: all eight)")
    args = parser.parse_args(argv)
    tries = json.loads(KEPT.read_text()) if KEPT.exists() else []
    if args.kind != "render":
        for index in range(args.start, args.start + args.tries):
            outcome = try_once(args.kind, index, args.out.resolve(), args.models or list(model_names()))
            print(json.dumps(outcome), flush=True)
            tries = [t for t in tries if (t["kind"], t["try"]) != (args.kind, index)] + [outcome]
            KEPT.write_text(json.dumps(tries, indent=1) + "\n")
    PAGE.write_text(render(tries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
