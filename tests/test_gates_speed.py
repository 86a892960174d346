"""The speed gate on crafted pytest-benchmark JSON (no timing here): the MFU verdicts and the CPU
check of bench-check (MFU = step FLOPs / (median per step x peak), against golden minimums), each
budget at its edge (a row passes at ``MFU >= its minimum`` and ``ours / notebook way <= its
budget``), and the plumbing: malformed files, the golden section each backend gets, the
bench-calibrate command."""

from __future__ import annotations

import json
import math

import pytest

from mnist_mlp.cli import main as cli
from mnist_mlp.judging.gates import speed
from mnist_mlp.measuring import benchjson
from mnist_mlp.notebook import golden

PEAK = 100e9
BUDGETS = {
    "models": {"arch1_relu": {"min_mfu": 0.2, "budget_ours_vs_notebook": 1.2},
               "softmax": {"min_mfu": 0.01}},
    "epoch": {"model": "arch1_relu", "steps": 469, "min_mfu": 0.1},
}


def entry(kind, model, median_s, busy=1, cpus=(0,), **extra) -> dict:
    return {"name": f"test_{kind}[{model}]",
            "extra_info": {"kind": kind, "model": model, "busy_threads": busy, "cpus": list(cpus),
                           **extra},
            "stats": {"median": median_s}}


def run(arch1_step_s=8e-3, busy=1, notebook_s=1.1e-3, epoch_s=469 * 2e-3) -> dict:
    flops = {"flops": 25e6, "peak_flops": PEAK, "floor_ms": 0.3}
    return {"benchmarks": [
        entry("blas_reference", "arch1_relu", 0.4e-3),
        entry("step", "arch1_relu", arch1_step_s, busy=busy, steps_per_call=8, **flops),
        entry("notebook_way", "arch1_relu", notebook_s),
        entry("epoch", "arch1_relu", epoch_s, steps=469, **flops),
        entry("step", "softmax", 8 * 0.1e-3, steps_per_call=8,
              flops=4e6, peak_flops=PEAK, floor_ms=0.05),
    ]}


def rows_by_model(bench) -> dict:
    return {row.model: row for row in speed.rows(bench, BUDGETS)}


def test_mfu_is_flops_over_step_time_over_peak():
    rows = rows_by_model(run())
    # 25 MFLOP in 1 ms per step = 25 GFLOP/s of a 100 GFLOP/s peak
    assert rows["arch1_relu"].mfu == pytest.approx(0.25)
    assert rows["arch1_relu"].step_ms == pytest.approx(1.0)
    assert rows["softmax"].mfu == pytest.approx(4e6 / 1e-4 / PEAK)  # 0.4
    assert rows["arch1_relu/epoch"].mfu == pytest.approx(25e6 / 2e-3 / PEAK)  # 0.125
    assert all(row.passed for row in rows.values())


def test_mfu_below_the_minimum_fails():
    rows = rows_by_model(run(arch1_step_s=8 * 1.5e-3))  # 0.167 < 0.2
    assert rows["arch1_relu"].verdict == "FAIL" and rows["softmax"].passed


def test_slow_epoch_fails():
    assert rows_by_model(run(epoch_s=469 * 3e-3))["arch1_relu/epoch"].verdict == "FAIL"  # 0.083


def test_more_busy_threads_than_cpus_is_flagged_not_failed():
    bench = run(busy=2)
    row = rows_by_model(bench)["arch1_relu"]
    assert row.too_many_threads and row.verdict == "PASS"
    assert speed.thread_flags(bench) == ["test_step[arch1_relu]: 2 busy threads on cpus [0]"]
    assert speed.thread_flags(run()) == []


def test_slower_than_the_notebook_way_beyond_budget_fails():
    assert rows_by_model(run(notebook_s=0.8e-3))["arch1_relu"].verdict == "FAIL"  # 1.25 > 1.2


def test_missing_step_is_missing():
    bench = run()
    bench["benchmarks"] = [b for b in bench["benchmarks"] if b["name"] != "test_step[softmax]"]
    assert rows_by_model(bench)["softmax"].verdict == "MISSING"


def test_calibrate_sets_minimum_mfu_to_the_worst_run_over_the_margin():
    gold = speed.calibrate([run(), run(arch1_step_s=8 * 1.25e-3)], 2.0,
                                    {"provisional": "test"})
    assert gold["models"]["arch1_relu"]["measured"]["mfu"] == [0.25, 0.2]
    assert gold["models"]["arch1_relu"]["min_mfu"] == 0.1
    assert gold["models"]["arch1_relu"]["budget_ours_vs_notebook"] == 2.3  # ceil(1.136 x 2)
    assert gold["epoch"] == {"model": "arch1_relu", "steps": 469, "min_mfu": 0.062,
                             "measured": {"mfu": [0.125, 0.125]}}
    assert gold["provisional"] == "test" and gold["gate"] == "mfu"
    assert all(row.passed for row in speed.rows(run(arch1_step_s=8 * 1.25e-3), gold))


# ---------------------------------------------------------------------------------------------
# The command: mnist-mlp bench-check BENCH_JSON, against the real golden/measured/benchmarks.json


def golden_run(scale: float, backend: str = "tensorflow") -> dict:
    """A run that puts every model's MFU at ``scale`` x its golden minimum."""

    budgets = speed.section(backend)
    benchmarks = []
    for model, entry_ in budgets["models"].items():
        mfu = entry_["min_mfu"] * scale
        benchmarks.append(entry("step", model, 25e6 / (mfu * PEAK), flops=25e6, peak_flops=PEAK,
                                floor_ms=0.1, backend=backend))
        nb = entry_.get("budget_ours_vs_notebook")
        if nb:
            benchmarks.append(entry("notebook_way", model, 25e6 / (mfu * PEAK) / nb * 1.1))
    epoch = budgets["epoch"]
    benchmarks.append(entry("epoch", epoch["model"], 469 * 25e6 / (epoch["min_mfu"] * scale * PEAK),
                            steps=469, flops=25e6, peak_flops=PEAK, floor_ms=0.1))
    return {"benchmarks": benchmarks}


def bench_check(tmp_path, capsys, bench) -> tuple[int, str]:
    import json

    from mnist_mlp.cli import main as cli

    path = tmp_path / "bench.json"
    path.write_text(json.dumps(bench))
    code = cli.main(["bench-check", str(path)])
    return code, capsys.readouterr().out


def verdicts(out: str) -> dict[str, str]:
    return {line.split()[0]: line.split()[-1] for line in out.splitlines()
            if line.split() and line.split()[-1] in ("PASS", "FAIL", "MISSING")}


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_cli_passes_above_every_golden_minimum(tmp_path, capsys, backend):
    code, out = bench_check(tmp_path, capsys, golden_run(1.1, backend))
    assert code == 0 and set(verdicts(out).values()) == {"PASS"}
    assert len(verdicts(out)) == 9  # eight models and the epoch


def test_cli_exit_1_names_the_model_below_its_minimum(tmp_path, capsys):
    bench = golden_run(1.1)
    slow = golden_run(0.9)["benchmarks"]
    bench["benchmarks"] = [b if b["name"] != "test_step[arch2_relu]" else
                           next(s for s in slow if s["name"] == "test_step[arch2_relu]")
                           for b in bench["benchmarks"]]
    code, out = bench_check(tmp_path, capsys, bench)
    assert code == 1
    assert [m for m, v in verdicts(out).items() if v != "PASS"] == ["arch2_relu"]


def test_cli_flags_too_many_busy_threads_without_failing(tmp_path, capsys):
    bench = golden_run(1.1)
    bench["benchmarks"][0]["extra_info"]["busy_threads"] = 2
    code, out = bench_check(tmp_path, capsys, bench)
    assert code == 0 and "more busy threads than cpus: test_step[arch1_relu]" in out
    assert verdicts(out)["arch1_relu"] == "PASS"


def test_bench_calibrate_writes_one_backends_section_and_keeps_the_others(tmp_path, capsys):
    import json

    from mnist_mlp.cli import main as cli
    from mnist_mlp.notebook import golden

    target = tmp_path / "benchmarks.json"
    target.write_text(json.dumps(golden.load("benchmarks")))
    runs = []
    for i, step_s in enumerate((8e-3, 8 * 1.25e-3)):
        bench = run(arch1_step_s=step_s)
        for b in bench["benchmarks"]:
            b["extra_info"]["backend"] = "jax"
        runs.append(tmp_path / f"run{i}.json")
        runs[-1].write_text(json.dumps(bench))
    code = cli.main(["bench-calibrate", *map(str, runs), "--write", str(target),
                     "--provisional", "measured under load"])
    assert code == 0 and "wrote the jax MFU budgets" in capsys.readouterr().out
    written = json.loads(target.read_text())
    jax = written["backends"]["jax"]
    assert jax["models"]["arch1_relu"]["min_mfu"] == 0.1 and jax["provisional"] == "measured under load"
    assert jax["calibration"]["backend"] == "jax" and jax["runs"] == 2
    assert written["backends"]["torch"] == golden.load("benchmarks")["backends"]["torch"]


def test_bench_calibrate_refuses_runs_of_two_backends(tmp_path, capsys):
    import json

    from mnist_mlp.cli import main as cli

    paths = []
    for backend in ("jax", "torch"):
        bench = run()
        bench["benchmarks"][0]["extra_info"]["backend"] = backend
        paths.append(tmp_path / f"{backend}.json")
        paths[-1].write_text(json.dumps(bench))
    assert cli.main(["bench-calibrate", *map(str, paths), "--write", str(tmp_path / "g.json")]) == 2
    assert "one backend" in capsys.readouterr().err


CALIBRATION = {"backend": "jax", "keras": "3.15.1", "jax": "0.10.2", "tensorflow": "2.21.0",
               "cpu": "AMD EPYC", "threads": {"blas": 1}}


def test_conditions_that_differ_from_the_calibration_are_named():
    bench = run()
    bench["benchmarks"][1]["extra_info"].update(backend="jax", keras="3.16.0", jax="0.11.0",
                                                tensorflow=None, cpu="AMD EPYC",
                                                threads={"blas": 2})
    # TensorFlow is not the run's backend: not installed is no change that matters.
    assert speed.condition_changes(bench, {"calibration": CALIBRATION}) == [
        "keras 3.15.1 -> 3.16.0", "threads {'blas': 1} -> {'blas': 2}", "jax 0.10.2 -> 0.11.0"]


def test_the_calibrated_conditions_raise_nothing():
    bench = run()
    bench["benchmarks"][1]["extra_info"].update(CALIBRATION)
    assert speed.condition_changes(bench, {"calibration": CALIBRATION}) == []


def test_cli_prints_what_differs_from_the_calibration(tmp_path, capsys):
    bench = golden_run(1.1, "jax")
    for item in bench["benchmarks"]:
        item["extra_info"].update(keras="9.9.9")
    code, out = bench_check(tmp_path, capsys, bench)
    assert code == 0
    assert f"differs from the calibration: keras {speed.section('jax')['calibration']['keras']} " \
           "-> 9.9.9" in out


# --- plumbing: files, sections, bench-calibrate ---------------------------------------------


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
                    "backends": {"tensorflow": {"models": {"x": 1}}, "jax": {"models": {}}}}
    assert golden.backend_section(budgets_file, "jax") == {"models": {}}
    assert golden.backend_section(budgets_file, "torch") == {"models": {"x": 1}}
    assert speed.section("some-future-backend") is golden.load("benchmarks")["backends"]["tensorflow"]
    tagged = run()
    assert speed.backend_of(tagged) == "tensorflow"
    for benchmark in tagged["benchmarks"]:
        benchmark["extra_info"]["backend"] = "jax"
    assert speed.backend_of(tagged) == "jax"


def test_a_benchmark_file_that_mixes_backends_is_refused():
    """Seen: a JAX file whose first entry said tensorflow was judged against TensorFlow's budgets."""
    mixed = run()
    for benchmark in mixed["benchmarks"]:
        benchmark["extra_info"]["backend"] = "jax"
    mixed["benchmarks"][0]["extra_info"]["backend"] = "tensorflow"
    with pytest.raises(benchjson.BenchJSONError, match=r"mixes backends \['jax', 'tensorflow'\]"):
        speed.backend_of(mixed)


# ---------------------------------------------------------------------------------------------
# The command: mnist-mlp bench-calibrate BENCH_JSON... --write FILE


def tagged(bench: dict, backend: str) -> dict:
    for entry_ in bench["benchmarks"]:
        entry_["extra_info"].update(backend=backend, python="3.11.9", cpu="Crafted CPU")
    return bench


def test_cli_bench_calibrate_writes_the_backends_mfu_minimums(tmp_path, capsys):
    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    paths[0].write_text(json.dumps(tagged(run(), "jax")))
    paths[1].write_text(json.dumps(tagged(run(arch1_step_s=8 * 1.25e-3), "jax")))
    target = tmp_path / "benchmarks.json"
    kept = {"models": {"arch1_relu": {"min_mfu": 0.5}}}
    target.write_text(json.dumps({"_about": "kept", "default_backend": "tensorflow",
                                  "backends": {"tensorflow": kept}}))
    argv = ["bench-calibrate", *map(str, paths), "--margin", "2", "--write", str(target)]
    assert cli.main(argv) == 0
    assert capsys.readouterr().out == f"wrote the jax MFU budgets of {target} from 2 run(s)\n"
    written = json.loads(target.read_text())
    assert written["_about"] == "kept" and written["backends"]["tensorflow"] == kept
    jax = written["backends"]["jax"]
    assert jax["models"]["arch1_relu"]["min_mfu"] == 0.1  # worst MFU 0.2 / margin 2
    assert jax["epoch"]["min_mfu"] == 0.062  # 0.125 / 2, rounded down to 0.001
    assert jax["calibration"] == {"runs": 2, "command": "mnist-mlp bench-calibrate",
                                  "python": "3.11.9", "backend": "jax", "cpu": "Crafted CPU"}


def test_cli_bench_calibrate_refuses_mixed_backends(tmp_path, capsys):
    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    paths[0].write_text(json.dumps(tagged(run(), "jax")))
    paths[1].write_text(json.dumps(tagged(run(), "torch")))
    target = tmp_path / "benchmarks.json"
    code = cli.main(["bench-calibrate", *map(str, paths), "--write", str(target)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE and "one backend" in err and len(err.strip().splitlines()) == 1
    assert not target.exists()


GOLDEN_BUDGETS = golden.load("benchmarks")


# -- speed gate (MFU) ---------------------------------------------------------------------------
# A step passes at ``mfu >= min_mfu`` and ``ours / notebook way <= its budget``; busy threads
# beyond the CPU set are flagged. Binary-exact crafted numbers: 2**-3 of a 2**30 FLOP/s peak, so
# "at" is exact.

EDGE_PEAK = 2.0**30
EDGE_FLOPS = 2.0**20  # per step: at MFU 1/8 a step takes 2**20 / 2**27 s = 1/128 s


def step_entry(kind: str, seconds_per_step: float, busy: int = 1, cpus=(0,), **extra) -> dict:
    info = {"kind": kind, "model": "arch1_relu", "busy_threads": busy, "cpus": list(cpus), **extra}
    if kind == "step":
        info.update(flops=EDGE_FLOPS, peak_flops=EDGE_PEAK, floor_ms=1.0, steps_per_call=1)
    return {"name": f"test_{kind}[arch1_relu]", "extra_info": info, "stats": {"median": seconds_per_step}}


MFU_BUDGET = {"models": {"arch1_relu": {"min_mfu": 0.125, "budget_ours_vs_notebook": 0.5}}}


def mfu_row(mfu: float, notebook_ratio: float = 0.25, busy: int = 1, cpus=(0,)):
    step_s = EDGE_FLOPS / (mfu * EDGE_PEAK)
    bench = {"benchmarks": [step_entry("step", step_s, busy, cpus),
                            step_entry("notebook_way", step_s / notebook_ratio)]}
    (row,) = speed.rows(bench, MFU_BUDGET)
    return row


@pytest.mark.parametrize(("mfu", "verdict"), [(0.125 * (1 + 2**-10), "PASS"), (0.125, "PASS"),
                                              (0.125 * (1 - 2**-10), "FAIL")])
def test_mfu_alone_at_its_minimum(mfu, verdict):
    row = mfu_row(mfu)
    assert row.mfu == pytest.approx(mfu, rel=1e-12)
    assert row.vs_notebook == pytest.approx(0.25) and not row.too_many_threads
    assert row.verdict == verdict


@pytest.mark.parametrize(("ratio", "verdict"), [(0.5 * (1 - 2**-10), "PASS"), (0.5, "PASS"),
                                                (0.5 * (1 + 2**-10), "FAIL")])
def test_notebook_way_budget_alone_at_its_edge(ratio, verdict):
    row = mfu_row(0.5, notebook_ratio=ratio)
    assert row.mfu == pytest.approx(0.5) and row.verdict == verdict


@pytest.mark.parametrize(("busy", "cpus", "flagged"), [(1, (0,), False), (2, (0,), True),
                                                       (2, (0, 1), False), (3, (0, 1), True)])
def test_busy_threads_beyond_the_cpu_count_are_flagged_not_failed(busy, cpus, flagged):
    row = mfu_row(0.5, busy=busy, cpus=cpus)
    assert row.too_many_threads is flagged and row.verdict == "PASS"


# Per backend: which golden/measured/benchmarks.json section bench-check holds a run to.
SPEED_SECTION = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch",
                 "a-future-backend": "tensorflow"}


def golden_edge_run(section: dict, scale: float, backend: str) -> dict:
    """Every step at ``scale`` x its minimum MFU, ours/notebook at half its budget, epoch passing."""
    benchmarks = []
    for model, entry in section["models"].items():
        step_s = EDGE_FLOPS / (entry["min_mfu"] * scale * EDGE_PEAK)
        info = {"kind": "step", "model": model, "backend": backend, "flops": EDGE_FLOPS,
                "peak_flops": EDGE_PEAK, "floor_ms": 1.0, "busy_threads": 1, "cpus": [0]}
        benchmarks.append({"name": f"test_step[{model}]", "extra_info": info,
                           "stats": {"median": step_s}})
        if "budget_ours_vs_notebook" in entry:
            benchmarks.append({"name": f"test_notebook_way[{model}]",
                               "extra_info": {"kind": "notebook_way", "model": model},
                               "stats": {"median": step_s / (0.5 * entry["budget_ours_vs_notebook"])}})
    epoch = section.get("epoch")
    if epoch:
        benchmarks.append({"name": "test_epoch", "stats": {"median": epoch["steps"] * EDGE_FLOPS / (
            2 * epoch["min_mfu"] * EDGE_PEAK)}, "extra_info": {
            "kind": "epoch", "model": epoch["model"], "steps": epoch["steps"], "flops": EDGE_FLOPS,
            "peak_flops": EDGE_PEAK, "floor_ms": 1.0}})
    return {"benchmarks": benchmarks}


@pytest.mark.parametrize("backend", SPEED_SECTION)
@pytest.mark.parametrize(("scale", "verdict"), [(1.001, "PASS"), (0.999, "FAIL")])
def test_bench_check_uses_the_runs_backend_section(backend, scale, verdict, tmp_path, capsys):
    section = GOLDEN_BUDGETS["backends"][SPEED_SECTION[backend]]
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(golden_edge_run(section, scale, backend)))
    code = cli.main(["bench-check", str(path)])
    out = capsys.readouterr().out
    assert f"budgets calibrated on {section['calibration']['backend']}" in out
    verdicts = {line.split()[0]: line.split()[-1] for line in out.splitlines()
                if line.split() and line.split()[-1] in ("PASS", "FAIL", "MISSING")}
    assert {m: v for m, v in verdicts.items() if not m.endswith("/epoch")} == \
        {m: verdict for m in section["models"]}
    assert code == (0 if verdict == "PASS" else cli.EXIT_GATE_FAILED)


def test_speed_sections_differ_so_routing_is_observable():
    minimums = {b: GOLDEN_BUDGETS["backends"][b]["models"]["arch1_relu"]["min_mfu"]
                for b in ("tensorflow", "jax", "torch")}
    assert len(set(minimums.values())) == 3
    assert GOLDEN_BUDGETS["default_backend"] == "tensorflow"


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_golden_minimums_are_the_worst_calibration_run_over_the_margin(backend):
    """Each minimum is recomputable from the file's own measurements: none was set by hand."""
    section = GOLDEN_BUDGETS["backends"][backend]
    for model, entry in section["models"].items():
        worst = min(entry["measured"]["mfu"])
        assert entry["min_mfu"] == math.floor(worst / section["margin"] * 1000) / 1000, model
    assert section["margin"] <= 2.0  # docs/performance.md: the widest allowed
