"""A/B of two benchmark runs: is the candidate slower than the base, by at least a threshold?

Input: two pytest-benchmark ``--benchmark-json`` files whose benchmarks keep their per-round
times in ``stats.data`` (``--benchmark-json`` always does). The candidate is SLOWER when its
ratio to the base is at least ``1 + threshold`` and a one-sided test says its times are larger
(p < alpha): the rule of ``asv continuous`` (a factor and a significance test), per benchmark
(``kind``, ``model``), with a bootstrap 95 % confidence interval for the ratio.

* Paired (both runs from ``benchmarks/ab.py``, marked ``ab_paired``, as many rounds a side):
  round i of one build ran next to round i of the other, so the ratio is the median of the
  per-round ratios and the test is Wilcoxon's signed-rank test on their logs; the machine's
  drift cancels within each pair.
* Otherwise (any two runs): the Hodges-Lehmann ratio (median of all pairwise log ratios) and a
  Mann-Whitney U test.

scipy is imported inside the functions that use it: at module level it would cost every CLI
command a second of start-up.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from mnist_mlp.measuring import benchjson
from mnist_mlp.measuring.benchjson import BenchJSONError
from mnist_mlp.measuring.benchjson import load as load_bench_json

SLOWER, FASTER, SAME = "SLOWER", "faster", "same"
THRESHOLD, ALPHA, CONFIDENCE, RESAMPLES = 0.10, 0.05, 0.95, 2000


@dataclasses.dataclass(frozen=True)
class Sample:
    """One benchmark's seconds per step, every round; ``paired`` if from benchmarks/ab.py."""

    values: np.ndarray
    paired: bool = False


def samples(bench: dict, source: str) -> dict[tuple[str, str], Sample]:
    """``(kind, model) -> seconds per step`` of every round, from tagged benchmarks."""
    found = {}
    for key, benchmark in benchjson.benchmarks(bench, source).items():
        if not benchmark.rounds_ms:
            raise BenchJSONError(f"{source}: {key[1] or key[0]} has no per-round stats.data "
                                 "(write it with --benchmark-json or benchmarks/ab.py)")
        found[key] = Sample(np.asarray(benchmark.rounds_ms) / 1000, benchmark.paired)
    return found


def hl_ratio(base: np.ndarray, candidate: np.ndarray) -> float:
    """Hodges-Lehmann estimate of candidate/base: exp(median of log c_i - log b_j)."""
    return float(np.exp(np.median(np.subtract.outer(np.log(candidate), np.log(base)))))


@dataclasses.dataclass(frozen=True)
class Comparison:
    kind: str
    model: str
    n_base: int
    n_candidate: int
    base_ms: float
    candidate_ms: float
    ratio: float
    ci_low: float
    ci_high: float
    p_slower: float
    p_faster: float
    verdict: str
    paired: bool = False


def verdict_of(ratio: float, p_slower: float, p_faster: float, threshold: float,
               alpha: float) -> str:
    """SLOWER / faster only when the ratio clears the threshold and the test agrees."""
    if ratio >= 1 + threshold and p_slower < alpha:
        return SLOWER
    if ratio <= 1 / (1 + threshold) and p_faster < alpha:
        return FASTER
    return SAME


def comparison(key: tuple[str, str], base: np.ndarray, candidate: np.ndarray, ratio: float,
               ci: tuple[float, float], p: tuple[float, float], threshold: float, alpha: float,
               paired: bool = False) -> Comparison:
    """The row of one benchmark from its estimate, interval and (p_slower, p_faster)."""
    return Comparison(key[0], key[1], len(base), len(candidate), float(np.median(base)) * 1e3,
                      float(np.median(candidate)) * 1e3, ratio, *ci, *p,
                      verdict_of(ratio, *p, threshold, alpha), paired)


def compare_one(key: tuple[str, str], base: np.ndarray, candidate: np.ndarray,
                threshold: float = THRESHOLD, alpha: float = ALPHA) -> Comparison:
    from scipy import stats
    ratio = hl_ratio(base, candidate)
    if len(base) > 1 and len(candidate) > 1:
        ci = stats.bootstrap((base, candidate), lambda b, c: hl_ratio(b, c), vectorized=False,
                             paired=False, confidence_level=CONFIDENCE, n_resamples=RESAMPLES,
                             method="percentile", rng=np.random.default_rng(0)).confidence_interval
        low, high = float(ci.low), float(ci.high)
        p_slower = float(stats.mannwhitneyu(candidate, base, alternative="greater").pvalue)
        p_faster = float(stats.mannwhitneyu(candidate, base, alternative="less").pvalue)
    else:  # one value a side: an estimate, no evidence
        low, high, p_slower, p_faster = 0.0, float("inf"), 1.0, 1.0
    return comparison(key, base, candidate, ratio, (low, high), (p_slower, p_faster), threshold,
                      alpha)


def compare_paired(key: tuple[str, str], base: np.ndarray, candidate: np.ndarray,
                   threshold: float = THRESHOLD, alpha: float = ALPHA) -> Comparison:
    """Round i of ``candidate`` against round i of ``base``: median ratio, signed-rank test."""
    from scipy import stats
    logs = np.log(candidate) - np.log(base)
    ratio = float(np.exp(np.median(logs)))
    ci = stats.bootstrap((logs,), np.median, confidence_level=CONFIDENCE, n_resamples=RESAMPLES,
                         method="percentile", rng=np.random.default_rng(0)).confidence_interval
    if np.any(logs):
        p_slower = float(stats.wilcoxon(logs, alternative="greater").pvalue)
        p_faster = float(stats.wilcoxon(logs, alternative="less").pvalue)
    else:  # every pair equal (a file against itself): no evidence either way; the signed-rank
        p_slower = p_faster = 1.0  # test drops zero differences and would divide by zero
    return comparison(key, base, candidate, ratio, (float(np.exp(ci.low)), float(np.exp(ci.high))),
                      (p_slower, p_faster), threshold, alpha, paired=True)


def compare(base: dict[tuple[str, str], Sample], candidate: dict[tuple[str, str], Sample],
            threshold: float = THRESHOLD, alpha: float = ALPHA) -> list[Comparison]:
    """One comparison per benchmark present in both runs, in the base's order; paired where
    both runs are benchmarks/ab.py's with as many rounds."""
    rows = []
    for key, b in base.items():
        if key not in candidate:
            continue
        c = candidate[key]
        paired = b.paired and c.paired and len(b.values) == len(c.values) > 1
        compare_rows = compare_paired if paired else compare_one
        rows.append(compare_rows(key, b.values, c.values, threshold, alpha))
    return rows


def load_pair(base_path, candidate_path) -> tuple[dict, dict]:
    base = samples(load_bench_json(base_path), str(base_path))
    candidate = samples(load_bench_json(candidate_path), str(candidate_path))
    if not set(base) & set(candidate):
        raise BenchJSONError(f"{base_path} and {candidate_path} have no benchmark in common")
    return base, candidate


# The ratio column is the verdict's statistic, which can point the other way than the medians
# beside it (drift between rounds): the table says so under its rows.
_RATIO_FOOTER = ("base ms, cand ms: each build's median step. ratio and its interval: candidate / base "
                 "as the verdict judges it, {kind}, not the ratio of the two medians.")
_PAIRED_RATIO = "the median of the per-round ratios (paired rows: rounds taken in turns)"
_UNPAIRED_RATIO = "the Hodges-Lehmann ratio (the median of all pairwise ratios)"


def format_table(rows: list[Comparison], threshold: float) -> str:
    header = (f"{'model':<18} {'kind':<13} {'n':>8} {'base ms':>9} {'cand ms':>9} {'ratio':>6} "
              f"{'95% CI':>15} {'p(slower)':>9}  verdict (slower = ratio >= {1 + threshold:.2f}"
              " and p < alpha)")
    lines = [header, "-" * len(header)]
    for r in rows:
        n = f"{r.n_base} pairs" if r.paired else f"{r.n_base}/{r.n_candidate}"
        lines.append(f"{r.model:<18} {r.kind:<13} {n:>8} "
                     f"{r.base_ms:>9.3f} {r.candidate_ms:>9.3f} {r.ratio:>6.3f} "
                     f"{f'[{r.ci_low:.3f}, {r.ci_high:.3f}]':>15} {r.p_slower:>9.4f}  {r.verdict}")
    if rows:
        lines.append(_RATIO_FOOTER.format(
            kind=_PAIRED_RATIO if any(r.paired for r in rows) else _UNPAIRED_RATIO))
    return "\n".join(lines)

