"""The measured pages of docs/results/ that come from kept runs are what their scripts render from
them: power-demonstration.md (benchmarks/power_demonstration.py, with today's golden/measured/gates.json)
and the section-equality pages (benchmarks/section_equality.py). Each kept run is its result.json only."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

TREE = Path(__file__).resolve().parent.parent
KEPT = TREE / "benchmarks" / "results" / "power-demonstration"
PAGE = TREE / "docs" / "results" / "power-demonstration.md"


def script(name: str):
    """A script of benchmarks/ as a module (its work runs under ``__main__`` only)."""
    spec = importlib.util.spec_from_file_location(name, TREE / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def demonstration():
    return script("power_demonstration")


def test_page_is_what_the_kept_runs_render():
    page = demonstration().render(KEPT / "clean", KEPT / "label_noise_07pct", "arch1_relu", 4)
    assert page == PAGE.read_text("utf-8"), "rerun benchmarks/power_demonstration.py --write"
    assert "caught by the gate in 10/10" in page and "quiet in 10/10" in page


def test_a_missed_try_shows_on_the_page(tmp_path):
    """Planted: the defect's seeds 101-104 replaced by the clean runs: try 1 is missed."""
    planted = tmp_path / "label_noise_07pct"
    shutil.copytree(KEPT / "label_noise_07pct", planted)
    for seed in range(101, 105):
        shutil.copy(KEPT / "clean" / f"seed-{seed}" / "arch1_relu" / "result.json",
                    planted / f"seed-{seed}" / "arch1_relu" / "result.json")
    page = demonstration().render(KEPT / "clean", planted, "arch1_relu", 4)
    assert "caught by the gate in 9/10" in page
    assert "| 1 | 101-104 | PASS (quiet) | PASS (missed) | identical | +0.000 |" in page


EQUALITY = TREE / "benchmarks" / "results" / "section-equality"


def test_section_equality_page_is_what_the_kept_runs_render():
    page = script("section_equality").render(EQUALITY / "tf-v1", EQUALITY / "jax-v1")
    assert page == (TREE / "docs" / "results" / "section-equality.md").read_text("utf-8")
    assert ("| arch1_relu | 5 / 11 / 5 | 98.016 ± 0.073 | 98.004 ± 0.065 | +0.001 ± 0.096 "
            "| 0.983 | 0.766 |") in page


def test_keras_2_section_equality_page_is_what_the_kept_runs_render():
    page = script("section_equality").render(EQUALITY / "k2-v1", EQUALITY / "jax-v1")
    assert page == (TREE / "docs" / "results" / "section-equality-keras2.md").read_text("utf-8")
    assert "(backend tensorflow, Keras 2.15.0)" in page


def test_pytorch_section_equality_page_is_what_the_kept_runs_render():
    page = script("section_equality").render(EQUALITY / "torch-v1", EQUALITY / "jax-v1")
    assert page == (TREE / "docs" / "results" / "section-equality-torch.md").read_text("utf-8")
    assert "(backend torch, Keras 3.15.1)" in page
    assert ("| softmax | 5 / 11 / 5 | 92.698 ± 0.024 | 92.702 ± 0.027 | +0.000 ± 0.000 | identical "
            "| 0.793 |") in page


def test_ci_runs_page_is_what_the_kept_runs_render():
    ci_runs = script("ci_runs")
    page = ci_runs.render(ci_runs.kept_records())
    assert page == (TREE / "docs" / "results" / "ci-runs.md").read_text("utf-8"), \
        "rerun python benchmarks/ci_runs.py render"
    assert any(r["name"].startswith("pip") for r in ci_runs.kept_records())  # the base of every ratio


def test_steps_per_execution_page_is_what_the_kept_run_renders():
    import json

    kept = json.loads((TREE / "benchmarks" / "results" / "steps-per-execution.json").read_text("utf-8"))
    page = script("steps_per_execution").render(kept)
    assert page == (TREE / "docs" / "results" / "steps-per-execution.md").read_text("utf-8")
    assert "| jax | arch1_bn_dropout | 32 | 2.13 | 4.27 | 0.91 | 137 |" in page


def test_upgrade_error_rates_page_is_what_the_kept_tries_render():
    import json

    tries = json.loads((TREE / "benchmarks" / "results" / "upgrade-error-rates.json").read_text())
    page = script("upgrade_error_rates").render(tries)
    assert page == (TREE / "docs" / "results" / "upgrade-error-rates.md").read_text("utf-8"), (
        "rerun python benchmarks/upgrade_error_rates.py render")
    # the seeds each accuracy try's verdict chose, named
    assert "| 0 | 11-14 | -0.183 | worse | 1 | 654 |" in page and "| 1 | 11-18 | -0.194 | worse |" in page


MATRIX = TREE / "benchmarks" / "results" / "matrix"


def test_matrix_page_is_what_its_kept_runs_render():
    """The kept matrix page is `mnist-mlp matrix` of the kept run folders (each model's result.json
    and trained_config.json, each env's benchmarks.json), against matrix-py313-tf221."""
    import re
    from datetime import datetime, timezone

    from mnist_mlp.judging import matrix
    from mnist_mlp.report.markdown import render_markdown
    from mnist_mlp.report.matrix import document

    page = (MATRIX / "matrix.md").read_text("utf-8")
    built = datetime.strptime(re.search(r"Built (\d{4}-\d\d-\d\d \d\d:\d\d) UTC", page)[1],
                              "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)
    envs = [matrix.load_env_run(folder) for folder in sorted((MATRIX / "envs").iterdir())]
    table = matrix.build_matrix(envs, "matrix-py313-tf221", matrix.golden_gate)
    figures = {"Test accuracy per env (mean and every seed)": MATRIX / "figures" / "matrix_accuracy.png",
               "Training-step MFU per env": MATRIX / "figures" / "matrix_mfu.png"}
    assert render_markdown(document(table, figures, built), MATRIX) == page
    assert all(path.is_file() for path in figures.values())
    # every env drew its seeds the project's way, so every delta is paired over the seeds
    from mnist_mlp.notebook.draws import SCHEME
    assert {result.draws for env in envs for run in env.seeds.values() for result in run.values()} == {SCHEME}
