"""The speed gate on crafted pytest-benchmark JSON: PASS, FAIL, missing model, malformed file.

No timing happens here (that is benchmarks/); these only prove the gate reads the JSON right and
fails when it should.
"""

from __future__ import annotations

import json

import pytest

from mnist_mlp import cli, golden
from mnist_mlp.gates import format_table, speed

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
    return {row.model: row.verdict for row in rows}


def test_within_budget_passes_with_ratios_from_the_medians():
    rows = speed.rows(bench_json(passing_times()), BUDGETS)
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
    rows = speed.rows(bench, BUDGETS)
    assert rows[0].median_ms == pytest.approx(3.0) and rows[0].passed
    step["extra_info"]["steps_per_call"] = 1  # the same call time read as one step: 12 x floor
    assert speed.rows(bench, BUDGETS)[0].verdict == "FAIL"


def test_step_over_budget_fails():
    times = passing_times() | {("step", "softmax"): 0.9}  # 18 x floor, budget 15
    assert statuses(speed.rows(bench_json(times), BUDGETS))["softmax"] == "FAIL"


def test_our_step_slower_than_train_on_batch_beyond_budget_fails():
    times = passing_times() | {("notebook_way", "arch1_relu"): 2.0}  # ours/nb 1.5 > 1.2
    assert statuses(speed.rows(bench_json(times), BUDGETS))["arch1_relu"] == "FAIL"


def test_slow_epoch_fails():
    times = passing_times() | {("epoch", "arch1_relu"): 469 * 2.0 * 3.5}
    assert statuses(speed.rows(bench_json(times), BUDGETS))["arch1_relu/epoch"] == "FAIL"


def test_missing_model_or_floor_is_missing_not_pass():
    times = passing_times()
    del times["step", "softmax"], times["floor", "arch1_relu"]
    result = statuses(speed.rows(bench_json(times), BUDGETS))
    assert result == {"arch1_relu": "MISSING", "softmax": "MISSING", "arch1_relu/epoch": "MISSING"}


def test_untagged_benchmarks_are_ignored():
    bench = bench_json(passing_times())
    bench["benchmarks"].append({"name": "test_other", "extra_info": {}, "stats": {"median": 9.0}})
    assert all(row.passed for row in speed.rows(bench, BUDGETS))


def test_table_shows_every_row_and_its_verdict():
    times = passing_times() | {("step", "softmax"): 0.9}
    table = format_table(speed.rows(bench_json(times), BUDGETS), speed.COLUMNS)
    lines = table.splitlines()
    assert len(lines) == 2 + 3
    assert lines[2].split()[0] == "arch1_relu" and lines[2].endswith("PASS")
    assert lines[3].split()[:5] == ["softmax", "0.900", "0.050", "18.00", "15.00"]
    assert lines[3].endswith("FAIL")


def test_calibrate_budgets_the_worst_run_times_the_margin():
    slow = passing_times() | {("step", "arch1_relu"): 3.3}
    gold = speed.calibrate(
        [bench_json(passing_times()), bench_json(slow)], 1.5, golden.load("seed_results"), {}
    )
    assert gold["models"]["arch1_relu"]["budget_ratio"] == 2.5  # ceil(1.65 * 1.5, 0.1)
    assert gold["models"]["arch1_relu"]["measured"]["ratio"] == [1.5, 1.65]
    assert gold["models"]["arch1_relu"]["notebook_us_per_sample"] == 57
    assert all(row.passed for row in speed.rows(bench_json(slow), gold))


# ---------------------------------------------------------------------------------------------
# The command: mnist-mlp bench-check BENCH_JSON, against the real golden/benchmarks.json


def golden_times(scale: float) -> dict[tuple[str, str], float]:
    """Times that put every golden step and epoch ratio at ``scale`` x its budget; ours/notebook
    stays at half its budget, so a step over budget fails on the step budget alone."""
    budgets = speed.section("tensorflow")
    times = {}
    for model, entry_ in budgets["models"].items():
        times["floor", model] = 1.0
        times["step", model] = entry_["budget_ratio"] * scale
        times["notebook_way", model] = entry_["budget_ratio"] / (0.5 * entry_["budget_ours_vs_notebook"])
    epoch = budgets["epoch"]
    times["epoch", epoch["model"]] = epoch["steps"] * epoch["budget_ratio"] * scale
    return times


def run_bench_check(capsys, path) -> tuple[int, str, str]:
    code = cli.main(["bench-check", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def verdicts(out: str) -> dict[str, str]:
    """model -> gate column of the printed table."""
    return {line.split()[0]: line.split()[-1] for line in out.splitlines()
            if line.split() and line.split()[-1] in ("PASS", "FAIL", "MISSING")}


def test_cli_passes_within_the_golden_budgets(tmp_path, capsys):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(bench_json(golden_times(0.9))))
    code, out, _ = run_bench_check(capsys, path)
    assert code == 0
    assert set(verdicts(out).values()) == {"PASS"}
    tensorflow = speed.section("tensorflow")
    assert len(verdicts(out)) == len(tensorflow["models"]) + 1


def test_cli_exit_1_names_the_model_over_budget(tmp_path, capsys):
    times = golden_times(0.9) | {("step", "arch2_relu"): golden_times(1.1)["step", "arch2_relu"]}
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(bench_json(times)))
    code, out, _ = run_bench_check(capsys, path)
    assert code == cli.EXIT_GATE_FAILED
    assert [m for m, v in verdicts(out).items() if v != "PASS"] == ["arch2_relu"]
    assert verdicts(out)["arch2_relu"] == "FAIL" and "arch2_relu" in out.splitlines()[-1]
    row = next(line.split() for line in out.splitlines() if line.startswith("arch2_relu"))
    assert float(row[6]) < float(row[7])  # ours/notebook within its budget: the step budget failed


def test_cli_exit_1_for_a_model_missing_from_the_run(tmp_path, capsys):
    times = {k: v for k, v in golden_times(0.9).items() if k[1] != "arch3_relu"}
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(bench_json(times)))
    code, out, _ = run_bench_check(capsys, path)
    assert code == cli.EXIT_GATE_FAILED
    assert verdicts(out)["arch3_relu"] == "MISSING" and "arch3_relu" in out.splitlines()[-1]


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
    assert golden.backend_section(budgets_file, "jax") == {"models": {}}
    assert golden.backend_section(budgets_file, "torch") is BUDGETS
    assert speed.section("some-future-backend") is golden.load("benchmarks")["backends"]["tensorflow"]
    tagged = bench_json(passing_times())
    assert speed.backend_of(tagged) == "tensorflow"
    tagged["benchmarks"][0]["extra_info"]["backend"] = "jax"
    assert speed.backend_of(tagged) == "jax"


# ---------------------------------------------------------------------------------------------
# The command: mnist-mlp bench-calibrate BENCH_JSON... --write FILE


def tagged(times: dict, backend: str) -> dict:
    bench = bench_json(times)
    for entry_ in bench["benchmarks"]:
        entry_["extra_info"].update(backend=backend, python="3.11.9", cpu="Crafted CPU")
    return bench


def test_cli_bench_calibrate_writes_the_backends_budgets(tmp_path, capsys):
    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    paths[0].write_text(json.dumps(tagged(passing_times(), "jax")))
    paths[1].write_text(json.dumps(tagged(passing_times() | {("step", "arch1_relu"): 3.3}, "jax")))
    target = tmp_path / "benchmarks.json"
    target.write_text(json.dumps({"_about": "kept", "default_backend": "tensorflow",
                                  "backends": {"tensorflow": BUDGETS}}))
    argv = ["bench-calibrate", *map(str, paths), "--margin", "1.5", "--write", str(target)]
    assert cli.main(argv) == 0
    assert capsys.readouterr().out == f"wrote the jax budgets of {target} from 2 run(s)\n"
    written = json.loads(target.read_text())
    assert written["_about"] == "kept" and written["backends"]["tensorflow"] == BUDGETS
    jax = written["backends"]["jax"]
    assert jax["models"]["arch1_relu"]["budget_ratio"] == 2.5  # ceil(1.65 * 1.5, 0.1)
    assert jax["epoch"]["budget_ratio"] == 3.2  # ceil(2000 / (469 * 2.0) * 1.5 = 3.198, 0.1)
    assert jax["calibration"] == {"runs": 2, "command": "mnist-mlp bench-calibrate",
                                  "python": "3.11.9", "backend": "jax", "cpu": "Crafted CPU"}


def test_cli_bench_calibrate_refuses_mixed_backends(tmp_path, capsys):
    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    paths[0].write_text(json.dumps(tagged(passing_times(), "jax")))
    paths[1].write_text(json.dumps(tagged(passing_times(), "torch")))
    target = tmp_path / "benchmarks.json"
    code = cli.main(["bench-calibrate", *map(str, paths), "--write", str(target)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE and "one backend" in err and len(err.strip().splitlines()) == 1
    assert not target.exists()
