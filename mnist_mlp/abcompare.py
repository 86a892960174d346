"""A/B of two benchmark runs: is the candidate slower than the base, by at least a threshold?

Input: two pytest-benchmark ``--benchmark-json`` files whose benchmarks keep their per-round
times in ``stats.data`` (``--benchmark-json`` always does; ``benchmarks/ab.py`` writes one value
per benchmark process there, its median, from rounds interleaved with the other build's). Per
benchmark (``kind``, ``model``), the candidate/base ratio is the Hodges-Lehmann estimate (median
of all pairwise log ratios), with a bootstrap 95 % confidence interval; the candidate is SLOWER
when that ratio is at least ``1 + threshold`` and a one-sided Mann-Whitney U test says the
candidate's times are larger (p < alpha): the rule of ``asv continuous`` (a factor and a
Mann-Whitney test), with a median-based ratio.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import stats

from mnist_mlp.gates.speed import BenchJSONError, load_bench_json

SLOWER, FASTER, SAME = "SLOWER", "faster", "same"
THRESHOLD, ALPHA, CONFIDENCE, RESAMPLES = 0.10, 0.05, 0.95, 2000


def samples(bench: dict, source: str) -> dict[tuple[str, str], np.ndarray]:
    """``(kind, model) -> seconds per step`` of every round, from tagged benchmarks."""
    found = {}
    for entry in bench["benchmarks"]:
        info = entry.get("extra_info", {})
        if "kind" not in info:
            continue
        data = entry.get("stats", {}).get("data")
        if not isinstance(data, list) or not data:
            raise BenchJSONError(f"{source}: {entry.get('name', '?')} has no per-round stats.data "
                                 "(write it with --benchmark-json or benchmarks/ab.py)")
        values = np.asarray(data, dtype=float) if all(
            isinstance(v, (int, float)) for v in data) else None
        if values is None or not np.all(values > 0):
            raise BenchJSONError(f"{source}: {entry.get('name', '?')} has non-positive or "
                                 "non-numeric times in stats.data")
        found[info["kind"], info.get("model")] = values / info.get("steps_per_call", 1)
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


def compare_one(key: tuple[str, str], base: np.ndarray, candidate: np.ndarray,
                threshold: float = THRESHOLD, alpha: float = ALPHA) -> Comparison:
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
    if ratio >= 1 + threshold and p_slower < alpha:
        verdict = SLOWER
    elif ratio <= 1 / (1 + threshold) and p_faster < alpha:
        verdict = FASTER
    else:
        verdict = SAME
    return Comparison(key[0], key[1], len(base), len(candidate), float(np.median(base)) * 1e3,
                      float(np.median(candidate)) * 1e3, ratio, low, high, p_slower, p_faster,
                      verdict)


def compare(base: dict, candidate: dict, threshold: float = THRESHOLD,
            alpha: float = ALPHA) -> list[Comparison]:
    """One comparison per benchmark present in both runs, in the base's order."""
    return [compare_one(key, base[key], candidate[key], threshold, alpha)
            for key in base if key in candidate]


def load_pair(base_path, candidate_path) -> tuple[dict, dict]:
    base = samples(load_bench_json(base_path), str(base_path))
    candidate = samples(load_bench_json(candidate_path), str(candidate_path))
    if not set(base) & set(candidate):
        raise BenchJSONError(f"{base_path} and {candidate_path} have no benchmark in common")
    return base, candidate


def format_table(rows: list[Comparison], threshold: float) -> str:
    header = (f"{'model':<18} {'kind':<13} {'n':>5} {'base ms':>9} {'cand ms':>9} {'ratio':>6} "
              f"{'95% CI':>15} {'p(slower)':>9}  verdict (slower = ratio >= {1 + threshold:.2f}"
              " and p < alpha)")
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(f"{r.model:<18} {r.kind:<13} {f'{r.n_base}/{r.n_candidate}':>5} "
                     f"{r.base_ms:>9.3f} {r.candidate_ms:>9.3f} {r.ratio:>6.3f} "
                     f"{f'[{r.ci_low:.3f}, {r.ci_high:.3f}]':>15} {r.p_slower:>9.4f}  {r.verdict}")
    return "\n".join(lines)
