"""``mnist-mlp bench-compare BASE CANDIDATE``: per-model candidate/base ratio with a confidence
interval, exit 1 only on a significant slowdown of at least the threshold (mnist_mlp.abcompare)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mnist_mlp import abcompare, cli


def bench(per_model: dict[str, list[float]], steps: int = 1, kind: str = "step") -> dict:
    """pytest-benchmark JSON with per-round ``stats.data`` (seconds per call)."""
    return {"machine_info": {}, "commit_info": {}, "version": "5.2.3", "benchmarks": [
        {"name": f"test_{kind}[{model}]", "group": model,
         "extra_info": {"kind": kind, "model": model, "steps_per_call": steps, "backend": "jax"},
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
    assert data["step", "arch1_relu"].tolist() == pytest.approx([0.001, 0.002])


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
