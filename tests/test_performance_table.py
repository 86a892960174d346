"""benchmarks/performance_table.py renders docs/results/performance.md's step table from benchmark
JSON."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "performance_table.py"


@pytest.fixture(scope="module")
def table():
    spec = importlib.util.spec_from_file_location("performance_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(backend: str, step_ms: float, mfu: float) -> dict:
    common = {"cpus": [0], "cpu": "test CPU", "backend": backend, "keras": "3", "busy_threads": 1}
    return {"benchmarks": [
        {"extra_info": {"kind": "blas_reference", "model": "arch1_relu", "blas_ms": 1.25,
                        **common}},
        {"extra_info": {"kind": "step", "model": "arch1_relu", "step_ms": step_ms, "mfu": mfu,
                        "floor_ms": 1.2, "peak_flops": 250e9, "peak_source": "jax",
                        "peaks_gflops": {"numpy": 240.0, "jax": 250.0}, "bandwidth_gbs": 20.0,
                        **common}},
    ]}


def tries(kind: str, ratios: list[float]) -> list[dict]:
    return [{"kind": kind, "ratios": {"arch1_relu": r, "arch2_relu": r - 0.01}} for r in ratios]


def test_one_row_per_model_with_each_backends_step_and_mfu(table):
    rates = {"backend": "jax", "models": ["arch1_relu", "arch2_relu"], "pairs": 2,
             "bench_rounds": 60, "inject": 0.15, "detected": 10, "false_alarms": 0, "tries": 10,
             "results": tries("injected", [1.17, 1.21]) + tries("a_vs_a", [0.98, 1.03])}
    text = table.render({"jax": run("jax", 1.6, 0.72), "torch": run("torch", 4.4, 0.26)}, rates)
    lines = text.splitlines()
    assert "| arch1_relu | 1.200 | 1.250 | 1.600 | 0.72 | 4.400 | 0.26 |" in lines
    assert lines[2].startswith("| model | floor ms | BLAS ref ms | jax ms | jax MFU | torch ms")
    assert ("(jax; arch1_relu, arch2_relu; 2 process pairs x 60 rounds taking turns): an "
            "injected 15% slowdown caught in 10/10 tries (ratios 1.16-1.21); A against A false "
            "alarms 0/10 (ratios 0.97-1.03).") in text
    assert "peak 250 GFLOP/s from jax" in text and "cpus [0]" in text


def test_write_results_replaces_only_between_the_markers(table, tmp_path, monkeypatch):
    results = tmp_path / table.RESULTS
    results.parent.mkdir(parents=True)
    results.write_text(f"intro\n{table.BEGIN}\nold\n{table.END}\nafter\n")
    monkeypatch.setattr(table, "TREE", tmp_path)
    assert table.write_results("new table") == results
    assert results.read_text() == f"intro\n{table.BEGIN}\nnew table\n{table.END}\nafter\n"


def test_write_results_creates_a_missing_file_with_its_markers(table, tmp_path, monkeypatch):
    monkeypatch.setattr(table, "TREE", tmp_path)
    table.write_results("new table")
    text = (tmp_path / table.RESULTS).read_text()
    assert text.startswith(table.TITLE)
    assert text.endswith(f"{table.BEGIN}\nnew table\n{table.END}\n")


def test_a_results_file_without_markers_is_refused_and_kept(table, tmp_path, monkeypatch):
    results = tmp_path / table.RESULTS
    results.parent.mkdir(parents=True)
    results.write_text("hand-written\n")
    monkeypatch.setattr(table, "TREE", tmp_path)
    with pytest.raises(SystemExit, match="no <!-- performance:begin -->"):
        table.write_results("new table")
    assert results.read_text() == "hand-written\n"


def test_the_repository_results_file_has_its_markers_and_the_readme_none(table):
    assert table.RESULTS.as_posix() == "docs/results/performance.md"
    text = (table.TREE / table.RESULTS).read_text("utf-8")
    assert text.count(table.BEGIN) == 1 and text.count(table.END) == 1
    assert table.BEGIN not in (table.TREE / "README.md").read_text("utf-8")


def test_error_rates_of_a_run_cut_short_say_how_many_tries_ran(table):
    rates = {"backend": "jax", "models": ["arch1_relu"], "pairs": 2, "bench_rounds": 60,
             "inject": 0.15, "detected": 7, "false_alarms": 1, "tries": 7, "planned_tries": 10,
             "complete": False, "results": tries("injected", [1.2]) + tries("a_vs_a", [1.0])}
    text = table.render({"jax": run("jax", 1.6, 0.72)}, rates)
    assert ("caught in 7/7 tries (ratios 1.19-1.20); A against A false alarms 1/7 (ratios "
            "0.99-1.00) (cut short: 7 of 10 planned tries).") in text
