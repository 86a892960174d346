"""The speed gate on crafted pytest-benchmark JSON: PASS, FAIL, missing model, malformed file.

No timing happens here (that is benchmarks/); these only prove the gate reads the JSON right and
fails when it should.
"""

from __future__ import annotations

import json

import pytest

from mnist_mlp import benchcheck, cli, golden

BUDGETS = {
    "models": {
        "arch1_relu": {"budget_ratio": 2.0, "budget_ours_vs_notebook": 1.2},
        "softmax": {"budget_ratio": 15.0},
    },
    "epoch": {"model": "arch1_relu", "steps": 469, "budget_ratio": 3.0},
}


def entry(kind: str, model: str, median_ms: float, **extra) -> dict:
    """One benchmark as pytest-benchmark's --benchmark-json writes it (the fields we read)."""
    return {
        "group": model, "name": f"test_{kind}[{model}]",
        "fullname": f"benchmarks/test_training_speed.py::test_{kind}[{model}]",
        "extra_info": {"kind": kind, "model": model, **extra},
        "stats": {"min": median_ms / 1100, "median": median_ms / 1000, "rounds": 50},
    }


def bench_json(times: dict[tuple[str, str], float]) -> dict:
    return {
        "machine_info": {"node": "test"}, "commit_info": {}, "datetime": "2026-01-01T00:00:00",
        "version": "5.2.3",
        "benchmarks": [entry(kind, model, ms, **({"steps": 469} if kind == "epoch" else {}))
                       for (kind, model), ms in times.items()],
    }


def passing_times() -> dict[tuple[str, str], float]:
    return {
        ("floor", "arch1_relu"): 2.0, ("step", "arch1_relu"): 3.0,
        ("notebook_way", "arch1_relu"): 3.3, ("epoch", "arch1_relu"): 2000.0,
        ("floor", "softmax"): 0.05, ("step", "softmax"): 0.5, ("notebook_way", "softmax"): 0.6,
    }


def statuses(rows) -> dict[str, str]:
    return {row.model: row.status for row in rows}


def test_within_budget_passes_with_ratios_from_the_medians():
    rows = benchcheck.check(bench_json(passing_times()), BUDGETS)
    assert statuses(rows) == {"arch1_relu": "PASS", "softmax": "PASS", "arch1_relu/epoch": "PASS"}
    arch1, softmax, epoch = rows
    assert arch1.ratio == pytest.approx(1.5) and arch1.vs_notebook == pytest.approx(3.0 / 3.3)
    assert softmax.ratio == pytest.approx(10.0)
    assert epoch.floor_ms == pytest.approx(469 * 2.0)


def test_a_step_call_of_several_steps_is_divided_by_its_step_count():
    bench = bench_json(passing_times())
    step = next(b for b in bench["benchmarks"] if b["name"] == "test_step[arch1_relu]")
    step["stats"]["median"] *= 8
    step["extra_info"]["steps_per_call"] = 8
    rows = benchcheck.check(bench, BUDGETS)
    assert rows[0].median_ms == pytest.approx(3.0) and rows[0].passed
    step["extra_info"]["steps_per_call"] = 1  # the same call time read as one step: 12 x floor
    assert benchcheck.check(bench, BUDGETS)[0].status == "FAIL"


def test_step_over_budget_fails():
    times = passing_times() | {("step", "softmax"): 0.9}  # 18 x floor, budget 15
    assert statuses(benchcheck.check(bench_json(times), BUDGETS))["softmax"] == "FAIL"


def test_our_step_slower_than_train_on_batch_beyond_budget_fails():
    times = passing_times() | {("notebook_way", "arch1_relu"): 2.0}  # ours/nb 1.5 > 1.2
    assert statuses(benchcheck.check(bench_json(times), BUDGETS))["arch1_relu"] == "FAIL"


def test_slow_epoch_fails():
    times = passing_times() | {("epoch", "arch1_relu"): 469 * 2.0 * 3.5}
    assert statuses(benchcheck.check(bench_json(times), BUDGETS))["arch1_relu/epoch"] == "FAIL"


def test_missing_model_or_floor_is_missing_not_pass():
    times = passing_times()
    del times["step", "softmax"], times["floor", "arch1_relu"]
    result = statuses(benchcheck.check(bench_json(times), BUDGETS))
    assert result == {"arch1_relu": "MISSING", "softmax": "MISSING", "arch1_relu/epoch": "MISSING"}


def test_untagged_benchmarks_are_ignored():
    bench = bench_json(passing_times())
    bench["benchmarks"].append({"name": "test_other", "extra_info": {}, "stats": {"median": 9.0}})
    assert all(row.passed for row in benchcheck.check(bench, BUDGETS))


def test_table_shows_every_row_and_its_verdict():
    times = passing_times() | {("step", "softmax"): 0.9}
    table = benchcheck.format_table(benchcheck.check(bench_json(times), BUDGETS))
    lines = table.splitlines()
    assert len(lines) == 2 + 3
    assert lines[2].split()[0] == "arch1_relu" and lines[2].endswith("PASS")
    assert lines[3].split()[:5] == ["softmax", "0.900", "0.050", "18.00", "15.00"]
    assert lines[3].endswith("FAIL")


def test_calibrate_budgets_the_worst_run_times_the_margin():
    slow = passing_times() | {("step", "arch1_relu"): 3.3}
    gold = benchcheck.calibrate(
        [bench_json(passing_times()), bench_json(slow)], 1.5, golden.load("seed_results"), {}
    )
    assert gold["models"]["arch1_relu"]["budget_ratio"] == 2.5  # ceil(1.65 * 1.5, 0.1)
    assert gold["models"]["arch1_relu"]["measured"]["ratio"] == [1.5, 1.65]
    assert gold["models"]["arch1_relu"]["notebook_us_per_sample"] == 57
    assert all(row.passed for row in benchcheck.check(bench_json(slow), gold))


# ---------------------------------------------------------------------------------------------
# The command on malformed input (its gate against the golden file: tests/test_speed_gate_mfu.py)


def run_bench_check(capsys, path) -> tuple[int, str, str]:
    code = cli.main(["bench-check", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "content",
    ["{not json", json.dumps({"benchmarks": "none"}), json.dumps([1, 2]),
     json.dumps({"benchmarks": [{"name": "x", "extra_info": {"kind": "step", "model": "softmax"},
                                 "stats": {"median": "fast"}}]})],
    ids=["not-json", "benchmarks-not-a-list", "not-an-object", "median-not-a-number"],
)
def test_cli_exit_2_with_one_line_for_malformed_json(tmp_path, capsys, content):
    path = tmp_path / "bench.json"
    path.write_text(content)
    code, out, err = run_bench_check(capsys, path)
    assert code == cli.EXIT_USAGE
    assert out == "" and len(err.strip().splitlines()) == 1 and str(path) in err


def test_cli_exit_2_for_a_missing_file(tmp_path, capsys):
    code, _, err = run_bench_check(capsys, tmp_path / "absent.json")
    assert code == cli.EXIT_USAGE
    assert "no such file" in err and len(err.strip().splitlines()) == 1


def test_budgets_are_per_backend_with_a_default():
    budgets_file = {"default_backend": "tensorflow",
                    "backends": {"tensorflow": BUDGETS, "jax": {"models": {}}}}
    assert benchcheck.budgets_for(budgets_file, "jax") == {"models": {}}
    assert benchcheck.budgets_for(budgets_file, "torch") is BUDGETS
    tagged = bench_json(passing_times())
    assert benchcheck.backend_of(tagged) == "tensorflow"
    tagged["benchmarks"][0]["extra_info"]["backend"] = "jax"
    assert benchcheck.backend_of(tagged) == "jax"
