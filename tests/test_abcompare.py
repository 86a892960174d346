"""``mnist-mlp bench-compare BASE CANDIDATE``: per-model candidate/base ratio with a confidence
interval, exit 1 only on a significant slowdown of at least the threshold (mnist_mlp.judging.abcompare)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mnist_mlp.cli import main as cli
from mnist_mlp.judging import abcompare


def bench(per_model: dict[str, list[float]], steps: int = 1, kind: str = "step",
          paired: bool = False) -> dict:
    """pytest-benchmark JSON with per-round ``stats.data`` (seconds per call); ``paired`` marks
    it as benchmarks/ab.py's merged output, whose rounds pair up with the other build's."""
    ab = {"ab_paired": True, "ab_pairs": 1} if paired else {}
    return {"machine_info": {}, "commit_info": {}, "version": "5.2.3", "benchmarks": [
        {"name": f"test_{kind}[{model}]", "group": model,
         "extra_info": {"kind": kind, "model": model, "steps_per_call": steps, "backend": "jax",
                        **ab},
         "stats": {"median": float(np.median(data)), "data": list(data)}}
        for model, data in per_model.items()]}


def noisy(center: float, n: int = 10, spread: float = 0.03, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(center * np.exp(rng.normal(0.0, spread, n)))


def test_hodges_lehmann_ratio_by_hand():
    # log(c/b) over all 9 pairs of c = [2, 4, 6], b = [1, 2, 3]: median is log 2.
    assert abcompare.hl_ratio(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0])) == \
        pytest.approx(2.0)


def test_samples_are_per_step_seconds_from_stats_data():
    data = abcompare.samples(bench({"arch1_relu": [0.008, 0.016]}, steps=8), "x.json")
    assert data["step", "arch1_relu"].values.tolist() == pytest.approx([0.001, 0.002])


def test_injected_fifteen_percent_is_a_significant_slowdown():
    rows = abcompare.compare(abcompare.samples(bench({"m": noisy(1.0, seed=1)}), "b"),
                             abcompare.samples(bench({"m": noisy(1.15, seed=2)}), "c"))
    (row,) = rows
    assert row.verdict == abcompare.SLOWER
    assert 1.10 < row.ratio < 1.20 and row.ci_low < row.ratio < row.ci_high
    assert row.p_slower < 0.01


def test_a_against_a_is_quiet():
    (row,) = abcompare.compare(abcompare.samples(bench({"m": noisy(1.0, seed=3)}), "b"),
                               abcompare.samples(bench({"m": noisy(1.0, seed=4)}), "c"))
    assert row.verdict == abcompare.SAME and row.ci_low < 1.0 < row.ci_high


def test_significant_but_smaller_than_the_threshold_is_not_a_slowdown():
    base, cand = noisy(1.0, 30, 0.005, 5), noisy(1.05, 30, 0.005, 6)
    (row,) = abcompare.compare(abcompare.samples(bench({"m": base}), "b"),
                               abcompare.samples(bench({"m": cand}), "c"))
    assert row.p_slower < 0.001 and row.verdict == abcompare.SAME
    (row,) = abcompare.compare(abcompare.samples(bench({"m": base}), "b"),
                               abcompare.samples(bench({"m": cand}), "c"), threshold=0.03)
    assert row.verdict == abcompare.SLOWER


def test_large_but_not_significant_is_not_a_slowdown():
    (row,) = abcompare.compare(abcompare.samples(bench({"m": [1.0, 1.5]}), "b"),
                               abcompare.samples(bench({"m": [1.3, 1.6]}), "c"))
    assert row.ratio >= 1.1 and row.p_slower > 0.05 and row.verdict == abcompare.SAME


def test_faster_is_reported_and_passes():
    (row,) = abcompare.compare(abcompare.samples(bench({"m": noisy(1.0, seed=7)}), "b"),
                               abcompare.samples(bench({"m": noisy(0.8, seed=8)}), "c"))
    assert row.verdict == abcompare.FASTER


def drifting(n: int = 60, seed: int = 0) -> np.ndarray:
    """A shared VM's slow phases: the step time moves to a new level (log-sd 0.25) every 10
    rounds, the same for both builds of a pair of adjacent rounds."""
    rng = np.random.default_rng(seed)
    return np.repeat(np.exp(rng.normal(0.0, 0.25, n // 10)), 10)


def paired_runs(drift: np.ndarray, slowdown: float, noise: float = 0.01, seed: int = 0):
    rng = np.random.default_rng(seed)
    base = drift * np.exp(rng.normal(0.0, noise, len(drift)))
    candidate = drift * slowdown * np.exp(rng.normal(0.0, noise, len(drift)))
    return (abcompare.samples(bench({"m": list(base)}, paired=True), "b"),
            abcompare.samples(bench({"m": list(candidate)}, paired=True), "c"))


def test_paired_rounds_see_through_drift_that_widens_the_unpaired_interval():
    base, candidate = paired_runs(drifting(seed=11), 1.15, seed=12)
    (paired,) = abcompare.compare(base, candidate)
    assert paired.paired and paired.verdict == abcompare.SLOWER
    assert paired.ratio == pytest.approx(1.15, abs=0.01) and paired.p_slower < 1e-6
    # The same numbers without the pairing: the drift's levels widen the interval.
    unpaired = abcompare.compare_one(("step", "m"), base["step", "m"].values,
                                     candidate["step", "m"].values)
    assert not unpaired.paired
    assert paired.ci_high - paired.ci_low < 0.2 * (unpaired.ci_high - unpaired.ci_low)


def test_paired_a_against_a_under_drift_is_quiet():
    (row,) = abcompare.compare(*paired_runs(drifting(seed=13), 1.0, seed=14))
    assert row.verdict == abcompare.SAME and row.ci_low < 1.0 < row.ci_high


def test_paired_slowdown_below_the_threshold_passes():
    (row,) = abcompare.compare(*paired_runs(drifting(seed=15), 1.05, noise=0.002, seed=16))
    assert row.p_slower < 1e-6 and row.verdict == abcompare.SAME


def test_runs_pair_only_when_both_are_marked_and_equally_long():
    paired = bench({"m": noisy(1.0, 10)}, paired=True)
    assert abcompare.samples(paired, "b")["step", "m"].paired
    assert not abcompare.samples(bench({"m": noisy(1.0, 10)}), "b")["step", "m"].paired
    (row,) = abcompare.compare(abcompare.samples(paired, "b"),
                               abcompare.samples(bench({"m": noisy(1.2, 12)}, paired=True), "c"))
    assert not row.paired  # 10 rounds against 12: nothing to pair, so Mann-Whitney


def write(tmp_path, name, content) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_cli_exit_1_names_the_slower_model(tmp_path, capsys):
    base = write(tmp_path, "base.json", bench({"a": noisy(1.0, seed=1), "b": noisy(2.0, seed=2)}))
    cand = write(tmp_path, "cand.json", bench({"a": noisy(1.0, seed=3), "b": noisy(2.4, seed=4)}))
    assert cli.main(["bench-compare", base, cand]) == 1
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith(("a ", "b "))}
    assert lines["a"].rstrip().endswith("same") and lines["b"].rstrip().endswith("SLOWER")



@pytest.mark.parametrize(("slowdown", "code"), [(1.07, 0), (1.15, 1)])
def test_cli_default_threshold_is_ten_percent(tmp_path, capsys, slowdown, code):
    """Both slowdowns are significant (40 rounds, 1 % noise); only the one past 10 % fails."""
    base = write(tmp_path, "base.json", bench({"a": noisy(1.0, 40, 0.01, seed=1)}))
    cand = write(tmp_path, "cand.json", bench({"a": noisy(slowdown, 40, 0.01, seed=2)}))
    assert cli.main(["bench-compare", base, cand]) == code
    assert ("of at least 10%" if code else "of 10% or more") in capsys.readouterr().out

def test_cli_exit_0_on_a_against_a(tmp_path, capsys):
    base = write(tmp_path, "base.json", bench({"a": noisy(1.0, seed=1)}))
    cand = write(tmp_path, "cand.json", bench({"a": noisy(1.0, seed=9)}))
    assert cli.main(["bench-compare", base, cand, "--threshold", "0.1"]) == 0


@pytest.mark.parametrize("content", [
    "{broken", {"benchmarks": 3},
    {"benchmarks": [{"name": "x", "extra_info": {"kind": "step", "model": "a"},
                     "stats": {"median": 1.0}}]},  # no per-round data
    {"benchmarks": [{"name": "x", "extra_info": {"kind": "step", "model": "a"},
                     "stats": {"median": 1.0, "data": [1.0, -2.0]}}]},
], ids=["not-json", "not-a-list", "no-data", "negative-time"])
def test_cli_exit_2_with_one_line_for_bad_input(tmp_path, capsys, content):
    good = write(tmp_path, "good.json", bench({"a": noisy(1.0)}))
    bad = write(tmp_path, "bad.json", content)
    assert cli.main(["bench-compare", good, bad]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert "bad.json" in captured.err


def test_cli_exit_2_when_the_runs_share_no_benchmark(tmp_path, capsys):
    base = write(tmp_path, "base.json", bench({"a": noisy(1.0)}))
    cand = write(tmp_path, "cand.json", bench({"b": noisy(1.0)}))
    assert cli.main(["bench-compare", base, cand]) == 2
    assert "no benchmark in common" in capsys.readouterr().err


def test_the_table_says_which_ratio_it_shows_beside_the_medians():
    """A paired ratio (median of per-round ratios) can point the other way than the two medians
    beside it; the table's footer says what each column is, so the reader trusts the ratio."""
    paired_rows = abcompare.compare(*paired_runs(drifting(seed=13), 1.0, seed=14))
    footer = abcompare.format_table(paired_rows, abcompare.THRESHOLD).splitlines()[-1]
    assert footer == ("base ms, cand ms: each build's median step. ratio and its interval: "
                      "candidate / base as the verdict judges it, the median of the per-round "
                      "ratios (paired rows: rounds taken in turns), not the ratio of the two medians.")
    base = abcompare.samples(bench({"m": noisy(1.0, 30, seed=1)}), "b")
    cand = abcompare.samples(bench({"m": noisy(1.0, 30, seed=2)}), "c")
    footer = abcompare.format_table(abcompare.compare(base, cand), abcompare.THRESHOLD).splitlines()[-1]
    assert footer == ("base ms, cand ms: each build's median step. ratio and its interval: "
                      "candidate / base as the verdict judges it, the Hodges-Lehmann ratio "
                      "(the median of all pairwise ratios), not the ratio of the two medians.")
