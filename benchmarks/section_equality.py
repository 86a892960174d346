"""Are two stacks' seeds one distribution? Evidence for judging a stack by another's gate section.

    python benchmarks/section_equality.py runs/tf-v1 runs/jax-v1 \
        --write docs/results/section-equality.md

Both folders hold ``seed-S/`` runs drawn by the project (``mnist_mlp.notebook.draws``), so a seed both
trained starts from the same weights and sees the same batches on both stacks: per model, the
paired difference of the gated statistic over the shared seeds (mean, sd, paired t-test) and
Welch's t-test over all seeds of each. Where no model differs, the candidate stack is judged by
the reference's section (calibrated on more seeds: tighter bounds) instead of a section of its own.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from scipy import stats

from mnist_mlp.files import write_or_print
from mnist_mlp.judging.gates.accuracy import STATISTIC, gated_value
from mnist_mlp.judging.matrix import seed_runs


def values(folder: Path) -> dict[str, dict[int, float]]:
    """``model -> seed -> gated statistic`` in points."""
    found: dict[str, dict[int, float]] = {}
    for seed, run in seed_runs(folder).items():
        for model, result in run.items():
            found.setdefault(model, {})[seed] = gated_value(result, STATISTIC) * 100
    return found


def render(candidate_dir: Path, reference_dir: Path) -> str:
    candidate, reference = values(candidate_dir), values(reference_dir)
    first = next(iter(seed_runs(candidate_dir).values()))
    ref_first = next(iter(seed_runs(reference_dir).values()))
    env, ref_env = (next(iter(run.values())).environment for run in (first, ref_first))
    intro = (f"Written by `benchmarks/section_equality.py`: `{candidate_dir.name}` (backend "
             f"{env.get('backend')}, Keras {env.get('keras')}) against `{reference_dir.name}` (backend "
             f"{ref_env.get('backend')}, Keras {ref_env.get('keras')}); the gated statistic (mean test "
             "accuracy of the last 10 epochs) in %, paired over the seeds both trained.")
    header = ("| model | seeds (candidate / reference / shared) | candidate mean ± sd | reference mean ± sd "
              "| paired diff mean ± sd (pt) | paired p | Welch p |")
    lines = ["# Two stacks, one distribution? The evidence for sharing a gate section", "", intro, "",
             header, "|---|---|---:|---:|---:|---:|---:|"]
    for model, mine in candidate.items():
        theirs = reference[model]
        shared = sorted(set(mine) & set(theirs))
        diffs = [mine[s] - theirs[s] for s in shared]
        # Every seed the same number on both stacks: no test to run, and "identical" says more.
        paired = ("identical" if diffs and all(d == 0 for d in diffs) else
                  f"{stats.ttest_rel([mine[s] for s in shared], [theirs[s] for s in shared]).pvalue:.3f}")
        welch = stats.ttest_ind(list(mine.values()), list(theirs.values()), equal_var=False).pvalue
        lines.append(
            f"| {model} | {len(mine)} / {len(theirs)} / {len(shared)} "
            f"| {statistics.fmean(mine.values()):.3f} ± {statistics.stdev(mine.values()):.3f} "
            f"| {statistics.fmean(theirs.values()):.3f} ± {statistics.stdev(theirs.values()):.3f} "
            f"| {statistics.fmean(diffs):+.3f} ± {statistics.stdev(diffs):.3f} "
            f"| {paired} | {welch:.3f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidate", type=Path, help="seed-S/ runs of the stack to judge")
    parser.add_argument("reference", type=Path, help="seed-S/ runs of the stack whose section would judge it")
    parser.add_argument("--write", type=Path, help="write the Markdown here (else print it)")
    args = parser.parse_args(argv)
    write_or_print(render(args.candidate, args.reference), args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
