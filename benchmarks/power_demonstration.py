"""Demonstrate the multi-seed accuracy verdict's power: a planted defect caught, nothing planted quiet.

    python benchmarks/power_demonstration.py runs/demo/clean runs/demo/label_noise_07pct \
        --model arch1_relu --seeds-per-try 4 --write docs/results/power-demonstration.md

Both folders hold ``seed-S/`` run folders of the same fresh seeds (none of them a calibration
seed), trained clean (``mnist-mlp reproduce --seeds``) and with a defect planted
(benchmarks/planted_defects.py). The seeds are split, in order, into tries of ``k`` seeds. Each
try is judged as a user would judge an upgrade:

- **gate** (``mnist-mlp verify seed-*``): the mean of the try's k seeds against the golden
  section's k-seed bound. On the clean seeds a FAIL is a false alarm; on the defect's, a FAIL is
  a catch.
- **compare** (``mnist-mlp compare CLEAN DEFECT``): the paired differences over the try's seeds;
  "worse" is a catch. Its false alarm needs no training to show: two builds whose arithmetic is
  unchanged compare "identical" (tests/test_compare.py).

The defect's true cost is estimated from every seed's paired difference (mean and 95 % t
interval), so the demonstration says what size of drop it caught.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from scipy import stats

from mnist_mlp.files import write_or_print
from mnist_mlp.judging import compare
from mnist_mlp.judging.gates import accuracy
from mnist_mlp.judging.matrix import seed_runs


def _gate_passes(runs: list, model: str, gates: dict) -> bool:
    """The k-seed gate's verdict on ``model`` for these seeds' runs (one per seed)."""
    only = [{model: run[model]} for run in runs]
    return accuracy.seed_rows(only, gates)[0].passed


def _cost(differences: list[float]) -> tuple[float, float, float]:
    """Mean paired difference (points) and its 95 % t interval."""
    mean = statistics.fmean(differences)
    half = stats.t.ppf(0.975, len(differences) - 1) * statistics.stdev(differences) / len(differences) ** 0.5
    return mean * 100, (mean - half) * 100, (mean + half) * 100


def render(clean_dir: Path, defect_dir: Path, model: str, k: int) -> str:
    clean, planted = seed_runs(clean_dir), seed_runs(defect_dir)
    seeds = sorted(set(clean) & set(planted))
    tries = [seeds[i:i + k] for i in range(0, len(seeds) - k + 1, k)]
    first = clean[seeds[0]][model]
    gates = accuracy.section_of(first)
    overlap = set(gates.get("calibration_seeds", ())) & set(seeds)
    if overlap:
        raise SystemExit(f"power_demonstration: seeds {sorted(overlap)} calibrated the gate; use fresh seeds")
    statistic = {s: accuracy.gated_value(clean[s][model], gates) for s in seeds}
    defect = {s: accuracy.gated_value(planted[s][model], gates) for s in seeds}
    finals = [planted[s][model].test_accuracy - clean[s][model].test_accuracy for s in seeds]
    cost, low, high = _cost([defect[s] - statistic[s] for s in seeds])
    final_cost, final_low, final_high = _cost(finals)

    lines = ["| try | seeds | clean: gate | defect: gate | defect: compare | paired mean diff (pt) |",
             "|---:|---|---|---|---|---:|"]
    quiet = caught = compared = 0
    for number, group in enumerate(tries, 1):
        clean_ok = _gate_passes([clean[s] for s in group], model, gates)
        defect_ok = _gate_passes([planted[s] for s in group], model, gates)
        row = compare.paired_rows({model: {s: statistic[s] for s in group}},
                                  {model: {s: defect[s] for s in group}})[0]
        quiet += clean_ok
        caught += not defect_ok
        compared += row.outcome == compare.WORSE
        lines.append(f"| {number} | {group[0]}-{group[-1]} "
                     f"| {'PASS (quiet)' if clean_ok else 'FAIL (false alarm)'} "
                     f"| {'PASS (missed)' if defect_ok else 'FAIL (caught)'} | {row.outcome} "
                     f"| {row.mean * 100:+.3f} |")
    single_quiet = sum(_gate_passes([clean[s]], model, gates) for s in seeds)
    single_caught = sum(not _gate_passes([planted[s]], model, gates) for s in seeds)
    env = first.environment
    core_seconds = statistics.fmean(run[model].train_seconds for run in (*clean.values(), *planted.values()))
    paragraphs = [
        "# Power demonstration: a planted ~0.3-point defect against the multi-seed verdict",
        (f"Written by `benchmarks/power_demonstration.py` from `{clean_dir.name}` and "
         f"`{defect_dir.name}` ({model}; Keras {env.get('keras')}, backend {env.get('backend')}, "
         f"draws {first.draws}, {env.get('cpu', 'cpu ?')}); the gate is golden/measured/gates.json's "
         f"`{accuracy.stack_section(clean[seeds[0]])}` section ({accuracy.describe_statistic(gates)}), "
         "whose calibration seeds are not among these."),
        (f"The defect's cost over all {len(seeds)} seeds (defect - clean, paired): gated statistic "
         f"{cost:+.3f} points [95 % CI {low:+.3f}, {high:+.3f}]; final accuracy {final_cost:+.3f} "
         f"[{final_low:+.3f}, {final_high:+.3f}]."),
        (f"**{k}-seed verdict, {len(tries)} tries:** the defect caught by the gate in "
         f"{caught}/{len(tries)} and by the paired compare in {compared}/{len(tries)}; the clean "
         f"seeds quiet in {quiet}/{len(tries)}."),
        (f"One seed per try, for contrast ({len(seeds)} tries): the defect caught in "
         f"{single_caught}/{len(seeds)}, the clean seeds quiet in {single_quiet}/{len(seeds)}."),
        (f"Cost: {core_seconds:.0f} s of training per seed and model (mean), so a {k}-seed try is "
         f"about {k * core_seconds / 60:.1f} core-minutes per build."),
        "\n".join(lines),
    ]
    return "\n\n".join(paragraphs) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clean", type=Path, help="clean runs: seed-S/ folders")
    parser.add_argument("defect", type=Path, help="the same seeds with a defect planted")
    parser.add_argument("--model", default="arch1_relu")
    parser.add_argument("--seeds-per-try", type=int, default=4)
    parser.add_argument("--write", type=Path, help="write the Markdown here (else print it)")
    args = parser.parse_args(argv)
    write_or_print(render(args.clean, args.defect, args.model, args.seeds_per_try), args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
