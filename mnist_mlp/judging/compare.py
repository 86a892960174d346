"""Paired accuracy comparison of two builds (envs, versions or commits) over the same seeds.

A seed is the same run on every build (``mnist_mlp.notebook.draws``: the same initial weights, the same
batch order), so the right comparison is per seed: ``d_s = candidate_s - base_s`` of the gate
statistic (the mean test accuracy of the last ``accuracy.LAST_EPOCHS`` epochs). Where the
arithmetic did not change, every ``d_s`` is exactly 0 and the builds are reported "identical":
any difference at all is a real change. Otherwise the mean difference gets a two-sided
``1 - alpha`` t interval and a one-sided paired t-test of H0 "the candidate loses no more than
``margin``" (``mean d >= -margin``) against H1 "it loses more"; rejected at ``alpha``, the model
is "worse" (a failed comparison, exit 1). A significant gain is "better"; else "same".

scipy is imported inside the functions that use it: at module level it would cost every CLI
command a second of start-up.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping

from mnist_mlp.errors import MnistMlpError
from mnist_mlp.judging.gates import FAIL, PASS, Column, number

ALPHA = 0.01  # false-alarm rate per model when nothing changed
MARGIN = 0.0  # the loss (in accuracy) a candidate may have before it counts as worse
IDENTICAL, SAME, WORSE, BETTER = "identical", "same", "worse", "better"

PerSeed = Mapping[int, float]


@dataclasses.dataclass(frozen=True)
class PairedRow:
    """One model's paired differences (candidate - base) over the seeds both builds trained."""

    model: str
    differences: tuple[float, ...]
    alpha: float = ALPHA
    margin: float = MARGIN

    @property
    def seeds(self) -> int:
        return len(self.differences)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.differences)

    @property
    def identical(self) -> bool:
        return all(d == 0 for d in self.differences)

    def _standard_error(self) -> float | None:
        if self.seeds < 2:
            return None
        return statistics.stdev(self.differences) / math.sqrt(self.seeds)

    @property
    def interval(self) -> tuple[float, float] | None:
        """The two-sided ``1 - alpha`` confidence interval of the mean difference."""
        from scipy import stats
        se = self._standard_error()
        if se is None:
            return None
        half = stats.t.ppf(1 - self.alpha / 2, self.seeds - 1) * se
        return self.mean - half, self.mean + half

    def _one_sided_p(self, shift: float, lower: bool) -> float | None:
        """p of a one-sided paired t-test of the mean difference against ``-shift``: its lower
        tail (a loss beyond ``shift``) or its upper tail (a gain)."""
        from scipy import stats
        se = self._standard_error()
        if se is None:
            return None
        statistic = self.mean + shift
        if se == 0:
            return 0.0 if (statistic < 0 if lower else statistic > 0) else 1.0
        tail = stats.t.cdf if lower else stats.t.sf
        return float(tail(statistic / se, self.seeds - 1))

    @property
    def p_worse(self) -> float | None:
        """One-sided p-value of "the candidate loses more than ``margin``"."""
        return self._one_sided_p(self.margin, lower=True)

    @property
    def p_better(self) -> float | None:
        """One-sided p-value of "the candidate gains"."""
        return self._one_sided_p(0.0, lower=False)

    @property
    def outcome(self) -> str:
        if self.identical:
            return IDENTICAL
        if self.p_worse is not None and self.p_worse < self.alpha:
            return WORSE
        if self.p_better is not None and self.p_better < self.alpha:
            return BETTER
        return SAME

    @property
    def passed(self) -> bool:
        return self.outcome != WORSE

    @property
    def verdict(self) -> str:
        return PASS if self.passed else FAIL


class CompareError(MnistMlpError, ValueError):
    """Two builds that cannot be compared (no seed in common)."""


def paired_rows(base: Mapping[str, PerSeed], candidate: Mapping[str, PerSeed],
                alpha: float = ALPHA, margin: float = MARGIN) -> list[PairedRow]:
    """One row per model, over the seeds both sides trained (in seed order); a model only one side
    has is a CompareError naming it (left out, it would pass unjudged)."""
    if lone := sorted(set(base) ^ set(candidate)):
        side = "base" if lone[0] in base else "candidate"
        raise CompareError(f"{lone[0]}: only the {side} has it; train it on both, or compare the "
                           "same models")
    rows = []
    for model, base_values in base.items():
        seeds = sorted(set(base_values) & set(candidate[model]))
        if not seeds:
            raise CompareError(f"{model}: the two builds share no seed; train the same --seeds on both")
        rows.append(PairedRow(model, tuple(candidate[model][s] - base_values[s] for s in seeds),
                              alpha, margin))
    if not rows:
        raise CompareError("the two builds share no model; train the same --models on both")
    return rows


def _points(value: float | None, spec: str = "+.3f") -> str:
    return number(None if value is None else value * 100, spec)


COLUMNS: tuple[Column, ...] = (
    ("model", -18, lambda r: r.model),
    ("seeds", 5, lambda r: str(r.seeds)),
    ("mean diff pt", 12, lambda r: _points(r.mean)),
    ("interval pt", 17, lambda r: "-" if r.interval is None
     else f"[{_points(r.interval[0])}, {_points(r.interval[1])}]"),
    ("p(worse)", 8, lambda r: number(r.p_worse, ".4f")),
    ("outcome", -9, lambda r: r.outcome),
    ("gate", -4, lambda r: r.verdict),
)


def run_values(folder, runs: Mapping | None = None) -> dict[str, dict[int, float]]:
    """``model -> seed -> statistic`` of a build's run folder (``seed-S/`` folders or one run;
    ``runs``: its ``matrix.seed_runs``, when already loaded); only seeded runs the project drew
    pair seed by seed (``mnist_mlp.notebook.draws``)."""
    from mnist_mlp.judging.gates.accuracy import STATISTIC, gated_value
    from mnist_mlp.judging.matrix import seed_runs
    from mnist_mlp.notebook import draws

    values: dict[str, dict[int, float]] = {}
    for seed, run in (runs if runs is not None else seed_runs(folder)).items():
        for model, result in run.items():
            if seed is None or result.draws != draws.SCHEME:
                raise CompareError(f"{folder}: {model} (seed {seed}, draws {result.draws}) is not a "
                                   f"seeded run drawn by the project ({draws.SCHEME}); retrain it "
                                   "with this version's 'mnist-mlp reproduce --seeds'")
            values.setdefault(model, {})[seed] = gated_value(result, STATISTIC)
    return values


def check_comparable(builds: Mapping[str, Mapping[int, Mapping]]) -> None:
    """Every run of every build trained the same recipe (seeds aside) on the same images (the rule
    of ``results.recipe_difference``); else a CompareError naming the two and the fields."""
    from mnist_mlp.training.results import recipe_difference

    named = ((f"{build} seed {seed}", result) for build, runs in builds.items()
             for seed, run in runs.items() for result in run.values())
    if problem := recipe_difference(named):
        raise CompareError(problem)


def golden_values(candidate: Mapping[str, PerSeed], section: Mapping) -> dict[str, dict[int, float]]:
    """The calibration seeds' statistic kept in a gates.json ``section`` (the reference stack's
    per-seed values), for the models of ``candidate``."""
    from mnist_mlp.judging.gates.accuracy import STATISTIC
    from mnist_mlp.notebook import draws

    if section.get("statistic") != STATISTIC["statistic"] or section.get("draws") != draws.SCHEME:
        raise CompareError("the golden/measured/gates.json section for this stack was calibrated on another "
                           "statistic or draws; recalibrate it ('mnist-mlp calibrate') or compare "
                           "two run folders")
    return {model: {int(seed): value for seed, value in section["models"][model]["measured"].items()}
            for model in candidate if model in section["models"]}
