"""Both gates at their edges: just above, at and just below every threshold, the golden section
each backend is held to, and one speed budget broken at a time.

Accuracy: a model passes at ``ours >= min_test_accuracy``; thresholds are rounded to 0.01 points
(4 decimals), so one step below is a fail. Speed: a row passes at ``step / floor <= budget`` and
``ours / notebook way <= its budget``; one epoch of fit passes at ``epoch <= steps x floor x budget``.
"""

from __future__ import annotations

import json
import math

import pytest
from conftest import make_result

from mnist_mlp import cli, golden, models
from mnist_mlp.gates import accuracy, speed

GATES = golden.load("gates")
BUDGETS = golden.load("benchmarks")
STEP = 1e-4  # one unit of the 4th decimal: the resolution of golden/gates.json

# -- accuracy gate ------------------------------------------------------------------------------


@pytest.mark.parametrize(("ours", "passed"), [(0.9801, True), (0.98, True), (0.9799, False),
                                              (0.98 - 1e-12, False)])
def test_gate_row_passes_at_and_above_the_threshold_only(ours, passed):
    assert accuracy.AccuracyRow("arch1_relu", ours, 0.9838, 0.98).passed is passed


def result(name: str, test_accuracy: float, backend: str):
    return make_result(name, test_accuracy=test_accuracy, backend=backend)


# Binary fractions: their mean over seven models is exact, so "at the threshold" is exact too.
CRAFTED = {"min_mean_test_accuracy": 0.984375,  # 63/64
           "models": {name: {"min_test_accuracy": 0.96875} for name in models.names()}}  # 31/32


@pytest.mark.parametrize(("offset", "passed"), [(STEP, True), (0.0, True), (-STEP, False)])
def test_every_model_row_at_its_threshold(offset, passed):
    results = {n: result(n, 0.96875 + offset, "tensorflow") for n in models.names()}
    rows = accuracy.rows(results, CRAFTED)
    assert [(row.model, row.passed) for row in rows if row.model != "mean(7)"] == \
        [(n, passed) for n in models.names()]


@pytest.mark.parametrize(("offset", "passed"), [(STEP, True), (0.0, True), (-STEP, False)])
def test_mean_row_at_its_threshold(offset, passed):
    results = {n: result(n, 0.984375 + offset, "tensorflow") for n in models.names()}
    rows = {row.model: row for row in accuracy.rows(results, CRAFTED)}
    assert rows["mean(7)"].ours == pytest.approx(0.984375 + offset, abs=1e-15)
    assert rows["mean(7)"].threshold == 0.984375
    assert rows["mean(7)"].passed is passed
    assert all(rows[n].passed for n in models.names())


def test_one_model_below_moves_the_mean_by_a_seventh():
    results = {n: result(n, 0.984375, "tensorflow") for n in models.names()}
    results["arch2_relu"] = result("arch2_relu", 0.984375 - 7 * STEP, "tensorflow")
    rows = {row.model: row for row in accuracy.rows(results, CRAFTED)}
    assert rows["mean(7)"].ours == pytest.approx(0.984375 - STEP, abs=1e-12)
    assert not rows["mean(7)"].passed


# Which golden section each backend's results are gated by: its own, else the default (tensorflow).
ACCURACY_SECTION = {"tensorflow": "tensorflow", "jax": "jax", "torch": "tensorflow",
                    "a-future-backend": "tensorflow"}


def test_the_backend_sections_differ_so_routing_is_observable():
    tf, jax = (GATES["backends"][b]["models"] for b in ("tensorflow", "jax"))
    assert sum(tf[n]["min_test_accuracy"] != jax[n]["min_test_accuracy"] for n in tf) >= 6
    assert GATES["default_backend"] == "tensorflow"


@pytest.mark.parametrize("backend", ACCURACY_SECTION)
def test_gates_for_picks_the_backends_section(backend):
    expected_section = ACCURACY_SECTION[backend]
    if backend == "torch" and "torch" in GATES["backends"]:
        expected_section = "torch"  # once PyTorch is calibrated, it gets its own section
    assert accuracy.section(backend) == GATES["backends"][expected_section]


@pytest.mark.parametrize("backend", ACCURACY_SECTION)
@pytest.mark.parametrize(("offset", "passed"), [(STEP, True), (0.0, True), (-STEP, False)])
def test_results_are_gated_by_their_own_backends_thresholds(backend, offset, passed):
    """Results recorded as trained on ``backend`` (no gates passed in): the run's backend chooses."""
    section = GATES["backends"].get(backend) or GATES["backends"][ACCURACY_SECTION[backend]]
    results = {n: result(n, round(section["models"][n]["min_test_accuracy"] + offset, 4), backend)
               for n in models.names()}
    rows = {row.model: row for row in accuracy.rows(results)}
    for name in models.names():
        assert rows[name].threshold == section["models"][name]["min_test_accuracy"], name
        assert rows[name].passed is passed, name
    assert rows["mean(7)"].threshold == section["min_mean_test_accuracy"]


# -- speed gate ---------------------------------------------------------------------------------


def bench(times_ms: dict[tuple[str, str], float], backend: str | None = None,
          epoch_steps: int = 4) -> dict:
    """pytest-benchmark JSON (the fields the gate reads) with these per-call medians in ms."""
    entries = []
    for (kind, model), ms in times_ms.items():
        info = {"kind": kind, "model": model, **({"backend": backend} if backend else {})}
        if kind == "epoch":
            info["steps"] = epoch_steps
        entries.append({"name": f"test_{kind}[{model}]", "extra_info": info,
                        "stats": {"median": ms / 1000}})
    return {"benchmarks": entries}


# Crafted budgets with binary-exact values, so "at the budget" is exact.
SPEED = {"models": {"arch1_relu": {"budget_ratio": 2.5, "budget_ours_vs_notebook": 1.25}},
         "epoch": {"model": "arch1_relu", "steps": 4, "budget_ratio": 3.0}}


def well_within() -> dict[tuple[str, str], float]:
    """Every ratio at half its budget: step/floor 1.25, ours/notebook 0.625, epoch 1.5 x 4 floors."""
    return {("floor", "arch1_relu"): 2.0, ("step", "arch1_relu"): 2.5,
            ("notebook_way", "arch1_relu"): 4.0, ("epoch", "arch1_relu"): 12.0}


def rows_of(times) -> dict[str, speed.SpeedRow]:
    return {row.model: row for row in speed.rows(bench(times), SPEED)}


def test_well_within_every_budget_passes():
    rows = rows_of(well_within())
    assert (rows["arch1_relu"].ratio, rows["arch1_relu"].vs_notebook) == (1.25, 0.625)
    assert rows["arch1_relu/epoch"].ratio == 1.5
    assert {m: r.verdict for m, r in rows.items()} == {"arch1_relu": "PASS", "arch1_relu/epoch": "PASS"}


@pytest.mark.parametrize(("step_ms", "status"), [(4.9, "PASS"), (5.0, "PASS"), (5.0001, "FAIL")])
def test_step_budget_alone_at_its_edge(step_ms, status):
    # The notebook way moves with the step, so ours/notebook stays at half its budget.
    times = well_within() | {("step", "arch1_relu"): step_ms,
                             ("notebook_way", "arch1_relu"): step_ms / 0.625}
    rows = rows_of(times)
    row = rows["arch1_relu"]
    assert row.vs_notebook == pytest.approx(0.625) and rows["arch1_relu/epoch"].passed
    assert row.ratio == pytest.approx(step_ms / 2.0, rel=1e-12)
    assert row.verdict == status


@pytest.mark.parametrize(("notebook_ms", "status"), [(2.1, "PASS"), (2.0, "PASS"), (1.9999, "FAIL")])
def test_notebook_way_budget_alone_at_its_edge(notebook_ms, status):
    rows = rows_of(well_within() | {("notebook_way", "arch1_relu"): notebook_ms})
    row = rows["arch1_relu"]
    assert row.ratio == 1.25 and rows["arch1_relu/epoch"].passed  # the step budget holds
    assert row.verdict == status


@pytest.mark.parametrize(("epoch_ms", "status"), [(23.9, "PASS"), (24.0, "PASS"), (24.001, "FAIL")])
def test_epoch_budget_alone_at_its_edge(epoch_ms, status):
    rows = rows_of(well_within() | {("epoch", "arch1_relu"): epoch_ms})
    assert rows["arch1_relu"].passed  # the step row holds
    assert rows["arch1_relu/epoch"].floor_ms == 8.0  # 4 steps x the 2 ms floor
    assert rows["arch1_relu/epoch"].verdict == status


# Per backend: which golden/benchmarks.json section bench-check holds a run to.
SPEED_SECTION = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch",
                 "a-future-backend": "tensorflow"}


def golden_edge_times(section: dict, scale: float) -> dict[tuple[str, str], float]:
    """Every step at ``scale`` x its budget over a 1 s floor; ours/notebook and the epoch at half."""
    times = {}
    for model, entry in section["models"].items():
        step = entry["budget_ratio"] * 1000.0 * scale
        times["floor", model] = 1000.0
        times["step", model] = step
        times["notebook_way", model] = step / (0.5 * entry["budget_ours_vs_notebook"])
    epoch = section["epoch"]
    times["epoch", epoch["model"]] = 1000.0 * epoch["steps"] * epoch["budget_ratio"] * 0.5
    return times


@pytest.mark.parametrize("backend", SPEED_SECTION)
@pytest.mark.parametrize(("scale", "verdict"), [(1.0, "PASS"), (1.001, "FAIL")])
def test_bench_check_uses_the_runs_backend_section(backend, scale, verdict, tmp_path, capsys):
    section = BUDGETS["backends"][SPEED_SECTION[backend]]
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(bench(golden_edge_times(section, scale), backend,
                                     section["epoch"]["steps"])))
    code = cli.main(["bench-check", str(path)])
    out = capsys.readouterr().out
    assert f"budgets calibrated on {SPEED_SECTION[backend]}" in out
    verdicts = {line.split()[0]: line.split()[-1] for line in out.splitlines()
                if line.split() and line.split()[-1] in ("PASS", "FAIL", "MISSING")}
    assert {m: v for m, v in verdicts.items() if not m.endswith("/epoch")} == \
        {m: verdict for m in section["models"]}
    assert code == (0 if verdict == "PASS" else cli.EXIT_GATE_FAILED)


def test_speed_sections_differ_so_routing_is_observable():
    steps = {b: BUDGETS["backends"][b]["models"]["arch1_relu"]["budget_ratio"]
             for b in ("tensorflow", "jax", "torch")}
    assert len(set(steps.values())) == 3
    assert BUDGETS["default_backend"] == "tensorflow"


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_golden_budgets_are_the_worst_calibration_run_times_the_margin(backend):
    """Each budget is recomputable from the file's own measurements: none was widened by hand."""
    section = BUDGETS["backends"][backend]

    def budget(ratios):
        return math.ceil(max(ratios) * section["margin"] * 10) / 10  # rounded up to 0.1

    for model, entry in section["models"].items():
        assert entry["budget_ratio"] == budget(entry["measured"]["ratio"]), model
        assert entry["budget_ours_vs_notebook"] == budget(entry["measured"]["ours_vs_notebook"]), model
    assert section["epoch"]["budget_ratio"] == budget(section["epoch"]["measured"]["ratio"])
    assert section["margin"] <= 2.0  # README: x2.0 over the worst run is the widest we allow
