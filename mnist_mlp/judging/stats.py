"""The statistics behind every accuracy verdict: a gate's bound from calibration seeds, what
size of drop that bound detects, and whether two envs' accuracies differ beyond seed noise
(paired over shared seeds where a seed is the same run in both, else Welch's t).

All of it is textbook normal theory through ``scipy.stats``; the assumption (the gated
statistic over seeds is roughly normal) and its limits are stated in golden/measured/gates.json.

scipy is imported inside the functions that use it: at module level it would cost every CLI
command a second of start-up.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping, Sequence


def prediction_lower_bound(calibration: Sequence[float], alpha: float, new_runs: int = 1) -> float:
    """The value the mean of ``new_runs`` fresh seeds falls below with probability ``alpha`` when
    nothing changed: ``mean - t(1-alpha, n-1) * sd * sqrt(1/new_runs + 1/n)``.

    That is the one-sided prediction bound for a future sample mean, so a gate at this bound has a
    false-alarm rate of ``alpha`` per model (exactly, if the seeds' accuracies are normal).
    """
    from scipy import stats
    n = len(calibration)
    if n < 2:
        raise ValueError(f"a prediction bound needs at least 2 calibration values, got {n}")
    if not 0 < alpha < 1 or new_runs < 1:
        raise ValueError(f"need 0 < alpha < 1 and new_runs >= 1, got {alpha}, {new_runs}")
    t = stats.t.ppf(1 - alpha, df=n - 1)
    sd = statistics.stdev(calibration)
    return statistics.fmean(calibration) - t * sd * math.sqrt(1 / new_runs + 1 / n)


def detectable_drop(calibration: Sequence[float], bound: float, power: float, new_runs: int = 1) -> float:
    """The true drop in mean accuracy that the gate at ``bound`` catches with probability
    ``power``, judging ``new_runs`` seeds: ``(mean - bound) + z(power) * sd / sqrt(new_runs)``."""
    from scipy import stats
    sd = statistics.stdev(calibration)
    return statistics.fmean(calibration) - bound + stats.norm.ppf(power) * sd / math.sqrt(new_runs)


def familywise_rate(alpha: float, gates: int) -> float:
    """The chance that at least one of ``gates`` independent gates false-alarms."""
    return 1 - (1 - alpha) ** gates


@dataclasses.dataclass(frozen=True)
class Difference:
    """A candidate's mean against a reference's, with the test that judged it."""

    reference_mean: float
    candidate_mean: float
    p_value: float | None  # None: too few seeds on one side to test
    significant: bool
    test: str

    @property
    def delta(self) -> float:
        return self.candidate_mean - self.reference_mean


IDENTICAL, PAIRED = "identical", "paired t"


def paired_difference(reference: Mapping[int, float], candidate: Mapping[int, float],
                      alpha: float = 0.05) -> Difference:
    """Paired t-test (two-sided) of candidate vs reference over the seeds both have: for runs
    whose seeds are the same runs (the project's own draws), where seed noise cancels.

    Equal values on every shared seed are ``identical`` (the arithmetic did not change); fewer
    than two shared seeds give no p-value, never significant.
    """
    from scipy import stats
    seeds = sorted(set(reference) & set(candidate))
    ref = [reference[s] for s in seeds]
    cand = [candidate[s] for s in seeds]
    ref_mean, cand_mean = statistics.fmean(ref), statistics.fmean(cand)
    differences = [c - r for c, r in zip(cand, ref)]
    if all(d == 0 for d in differences):
        return Difference(ref_mean, cand_mean, 1.0, False, IDENTICAL)
    if len(seeds) < 2:
        return Difference(ref_mean, cand_mean, None, False, "needs >= 2 shared seeds")
    if statistics.pvariance(differences) == 0:
        p_value = 0.0
    else:
        p_value = float(stats.ttest_rel(cand, ref).pvalue)
    return Difference(ref_mean, cand_mean, p_value, p_value < alpha, PAIRED)


def welch_difference(reference: Sequence[float], candidate: Sequence[float],
                     alpha: float = 0.05) -> Difference:
    """Welch's two-sample t-test (unequal variances) of candidate vs reference, two-sided.

    Fewer than two values on either side cannot estimate seed noise: no p-value, never
    significant. Two sides without any spread are significant exactly when their means differ.
    """
    from scipy import stats
    ref_mean, cand_mean = statistics.fmean(reference), statistics.fmean(candidate)
    if len(reference) < 2 or len(candidate) < 2:
        return Difference(ref_mean, cand_mean, None, False, "needs >= 2 seeds per env")
    if statistics.pvariance(reference) == 0 and statistics.pvariance(candidate) == 0:
        p_value = 1.0 if ref_mean == cand_mean else 0.0
    else:
        p_value = float(stats.ttest_ind(candidate, reference, equal_var=False).pvalue)
    return Difference(ref_mean, cand_mean, p_value, p_value < alpha, "Welch t")
