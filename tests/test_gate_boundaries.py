"""Both gates at their edges: just above, at and just below every threshold, the golden section
each backend is held to, and one speed budget broken at a time.

Accuracy: a model passes at ``ours >= min_test_accuracy`` (ours: the section's gated statistic);
thresholds are rounded to 0.01 points (4 decimals), so one step below is a fail. Speed: a row
passes at ``MFU >= its minimum`` and ``ours / notebook way <= its budget``.
"""

from __future__ import annotations

import dataclasses
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
    """A result whose every epoch ends at ``test_accuracy``: the final accuracy and the mean of
    any last epochs are that value, whichever statistic a section gates."""
    made = make_result(name, test_accuracy=test_accuracy, backend=backend)
    made = dataclasses.replace(made, draws="numpy-v1")  # as every run trains now
    flat = tuple(dataclasses.replace(e, val_accuracy=test_accuracy) for e in made.epochs)
    return dataclasses.replace(made, epochs=flat)


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


# Which golden section each backend's results (drawn the project's way, as every run now is) are
# gated by: their stack's own when it was calibrated on such runs, else the default backend's
# (jax, the main job's). TensorFlow's section predates the project's draws, so it judges older
# TensorFlow results only.
ACCURACY_SECTION = {"tensorflow": "jax", "jax": "jax", "torch": "jax", "a-future-backend": "jax"}


def test_the_backend_sections_differ_so_routing_is_observable():
    tf, jax = (GATES["backends"][b]["models"] for b in ("tensorflow", "jax"))
    assert sum(tf[n]["min_test_accuracy"] != jax[n]["min_test_accuracy"] for n in tf) >= 6
    assert GATES["default_backend"] == "jax"


@pytest.mark.parametrize("backend", ACCURACY_SECTION)
def test_gates_for_picks_the_backends_section(backend):
    expected_section = ACCURACY_SECTION[backend]
    if backend == "torch" and "torch" in GATES["backends"]:
        expected_section = "torch"  # once PyTorch is calibrated, it gets its own section
    assert accuracy.section(backend, "3.15.1", "numpy-v1") == GATES["backends"][expected_section]
    if backend in GATES["backends"]:  # naming no draws: the stack's own section, whatever drew it
        assert accuracy.section(backend) == GATES["backends"][backend]


@pytest.mark.parametrize("backend", ACCURACY_SECTION)
@pytest.mark.parametrize(("offset", "passed"), [(STEP, True), (0.0, True), (-STEP, False)])
def test_results_are_gated_by_their_own_backends_thresholds(backend, offset, passed):
    """Results recorded as trained on ``backend`` (no gates passed in): the run's backend chooses."""
    section = GATES["backends"][ACCURACY_SECTION[backend]]
    results = {n: result(n, round(section["models"][n]["min_test_accuracy"] + offset, 4), backend)
               for n in models.names()}
    rows = {row.model: row for row in accuracy.rows(results)}
    for name in models.names():
        assert rows[name].threshold == section["models"][name]["min_test_accuracy"], name
        assert rows[name].passed is passed, name
    assert rows["mean(7)"].threshold == section["min_mean_test_accuracy"]


# -- speed gate (MFU) ---------------------------------------------------------------------------
# A step passes at ``mfu >= min_mfu`` and ``ours / notebook way <= its budget``; busy threads
# beyond the CPU set are flagged. Binary-exact crafted numbers: 2**-3 of a 2**30 FLOP/s peak, so "at" is exact.

PEAK = 2.0**30
FLOPS = 2.0**20  # per step: at MFU 1/8 a step takes 2**20 / 2**27 s = 1/128 s


def step_entry(kind: str, seconds_per_step: float, busy: int = 1, cpus=(0,), **extra) -> dict:
    info = {"kind": kind, "model": "arch1_relu", "busy_threads": busy, "cpus": list(cpus), **extra}
    if kind == "step":
        info.update(flops=FLOPS, peak_flops=PEAK, floor_ms=1.0, steps_per_call=1)
    return {"name": f"test_{kind}[arch1_relu]", "extra_info": info, "stats": {"median": seconds_per_step}}


MFU_BUDGET = {"models": {"arch1_relu": {"min_mfu": 0.125, "budget_ours_vs_notebook": 0.5}}}


def mfu_row(mfu: float, notebook_ratio: float = 0.25, busy: int = 1, cpus=(0,)):
    step_s = FLOPS / (mfu * PEAK)
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


# Per backend: which golden/benchmarks.json section bench-check holds a run to.
SPEED_SECTION = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch",
                 "a-future-backend": "tensorflow"}


def golden_edge_run(section: dict, scale: float, backend: str) -> dict:
    """Every step at ``scale`` x its minimum MFU, ours/notebook at half its budget, epoch passing."""
    benchmarks = []
    for model, entry in section["models"].items():
        step_s = FLOPS / (entry["min_mfu"] * scale * PEAK)
        info = {"kind": "step", "model": model, "backend": backend, "flops": FLOPS,
                "peak_flops": PEAK, "floor_ms": 1.0, "busy_threads": 1, "cpus": [0]}
        benchmarks.append({"name": f"test_step[{model}]", "extra_info": info,
                           "stats": {"median": step_s}})
        if "budget_ours_vs_notebook" in entry:
            benchmarks.append({"name": f"test_notebook_way[{model}]",
                               "extra_info": {"kind": "notebook_way", "model": model},
                               "stats": {"median": step_s / (0.5 * entry["budget_ours_vs_notebook"])}})
    epoch = section.get("epoch")
    if epoch:
        benchmarks.append({"name": "test_epoch", "stats": {"median": epoch["steps"] * FLOPS / (
            2 * epoch["min_mfu"] * PEAK)}, "extra_info": {
            "kind": "epoch", "model": epoch["model"], "steps": epoch["steps"], "flops": FLOPS,
            "peak_flops": PEAK, "floor_ms": 1.0}})
    return {"benchmarks": benchmarks}


@pytest.mark.parametrize("backend", SPEED_SECTION)
@pytest.mark.parametrize(("scale", "verdict"), [(1.001, "PASS"), (0.999, "FAIL")])
def test_bench_check_uses_the_runs_backend_section(backend, scale, verdict, tmp_path, capsys):
    section = BUDGETS["backends"][SPEED_SECTION[backend]]
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
    minimums = {b: BUDGETS["backends"][b]["models"]["arch1_relu"]["min_mfu"]
                for b in ("tensorflow", "jax", "torch")}
    assert len(set(minimums.values())) == 3
    assert BUDGETS["default_backend"] == "tensorflow"


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_golden_minimums_are_the_worst_calibration_run_over_the_margin(backend):
    """Each minimum is recomputable from the file's own measurements: none was set by hand."""
    section = BUDGETS["backends"][backend]
    for model, entry in section["models"].items():
        worst = min(entry["measured"]["mfu"])
        assert entry["min_mfu"] == math.floor(worst / section["margin"] * 1000) / 1000, model
    assert section["margin"] <= 2.0  # docs/performance.md: the widest allowed
