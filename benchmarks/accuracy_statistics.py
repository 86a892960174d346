"""Choose the accuracy gate's statistic by measurement: seed noise and planted-defect shift.

    python benchmarks/accuracy_statistics.py runs/jax-v1 --defects runs/defects \
        --write docs/results/accuracy-statistics.md

For each model of the clean runs (``seed-S/`` folders of one stack) and each candidate statistic
(the final epoch's test accuracy, the mean of the last K epochs'), the seed-to-seed sd; for each
planted defect (``DEFECTS/<defect>/seed-S/``, benchmarks/planted_defects.py) the paired shift
(defect minus clean, same seeds: the same initial weights and batch order) and shift / sd, the
number that sets how many seeds a gate needs to see that defect. The gate takes the statistic
with the best shift-to-noise; the table records why.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from mnist_mlp.files import write_or_print
from mnist_mlp.judging.matrix import seed_runs

CANDIDATES = (1, 3, 5, 10)  # K: the mean of the last K epochs (1: the final epoch)


def statistic(result, k: int) -> float:
    return statistics.fmean(result.metric("val_accuracy")[-k:])


def per_seed(folder: Path) -> dict[str, dict[int, dict[int, float]]]:
    """``model -> K -> seed -> statistic``."""
    values: dict[str, dict[int, dict[int, float]]] = {}
    for seed, run in seed_runs(folder).items():
        for model, result in run.items():
            for k in CANDIDATES:
                values.setdefault(model, {}).setdefault(k, {})[seed] = statistic(result, k)
    return values


def _label(k: int) -> str:
    return "final" if k == 1 else f"last-{k}"


def noise_table(clean: dict) -> list[str]:
    lines = ["| model | seeds | " + " | ".join(f"sd {_label(k)} (pt)" for k in CANDIDATES) + " |",
             "|---|---:|" + "---:|" * len(CANDIDATES)]
    for model, by_k in clean.items():
        seeds = len(by_k[1])
        sds = [statistics.stdev(by_k[k].values()) * 100 for k in CANDIDATES]
        lines.append(f"| {model} | {seeds} | " + " | ".join(f"{sd:.3f}" for sd in sds) + " |")
    return lines


def shift_table(clean: dict, defect: str, planted: dict) -> list[str]:
    lines = [(f"Defect `{defect}`: paired shift (defect - clean, points) over the shared seeds, and "
             "shift / clean seed sd"), "",
             "| model | seeds | " + " | ".join(f"{_label(k)}: shift, shift/sd" for k in CANDIDATES) + " |",
             "|---|---:|" + "---:|" * len(CANDIDATES)]
    for model, by_k in planted.items():
        if model not in clean:
            continue
        cells = []
        for k in CANDIDATES:
            seeds = sorted(set(by_k[k]) & set(clean[model][k]))
            shift = statistics.fmean(by_k[k][s] - clean[model][k][s] for s in seeds)
            sd = statistics.stdev(clean[model][k].values())
            cells.append(f"{shift * 100:+.3f}, {shift / sd:+.1f}")
        lines.append(f"| {model} | {len(seeds)} | " + " | ".join(cells) + " |")
    return lines


def render(clean_dir: Path, defects_dir: Path | None) -> str:
    clean = per_seed(clean_dir)
    first = next(iter(next(iter(seed_runs(clean_dir).values())).values()))
    env = first.environment
    lines = ["# Accuracy statistics: seed noise and planted-defect shift", "",
             (f"Written by `benchmarks/accuracy_statistics.py` from `{clean_dir.name}` "
             f"(Keras {env.get('keras')}, backend {env.get('backend')}, draws {first.draws}, "
             f"{env.get('cpu')}); sd is over seeds of the clean runs."), "", *noise_table(clean)]
    if defects_dir is not None:
        for folder in sorted(p for p in defects_dir.iterdir() if p.is_dir()):
            lines += ["", *shift_table(clean, folder.name, per_seed(folder))]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clean", type=Path, help="clean runs: seed-S/ folders of one stack")
    parser.add_argument("--defects", type=Path, help="folder of <defect>/seed-S/ runs")
    parser.add_argument("--write", type=Path, help="write the Markdown here (else print it)")
    args = parser.parse_args(argv)
    write_or_print(render(args.clean, args.defects), args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
