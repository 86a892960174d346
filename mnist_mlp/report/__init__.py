"""A run folder's report: figures, the accuracy gate and the notebook's observations, checked.

``build_report(run_dir)`` reads the saved ``<run>/<model>/result.json`` files (and ``model.keras``
for the weight figures), never retrains, and writes ``<run>/figures/*.png``, ``report.md``
(images by relative path) and ``report.html`` (self-contained: images as data URIs, inline CSS).

The parts, in the order they run: ``plots`` draws every figure; ``document`` assembles the
blocks of ``blocks`` (a pure function of results, gate rows and figures); ``html`` and
``markdown`` render them. ``observations`` checks the notebook's three closing claims.
Importing this package loads no plotting library: ``plots`` (matplotlib, seaborn) is imported
when a report is built.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from mnist_mlp.files import write_text
from mnist_mlp.judging.gates import accuracy
from mnist_mlp.training.results import ResultError, RunResult, load_run


def load_gates(results: dict[str, RunResult]) -> dict:
    """golden/measured/gates.json's section for the run's stack, or a one-line ResultError naming the fix."""
    try:
        return accuracy.section_of(next(iter(results.values())))
    except FileNotFoundError:
        raise ResultError(
            "golden/measured/gates.json not found; create it with 'mnist-mlp calibrate RUN_DIR...'"
        ) from None


def html_path(run_dir: str | Path) -> Path:
    """Where ``build_report`` writes a run folder's report.html."""
    return Path(run_dir) / "report.html"


def config_drift(run_dir: Path, results) -> dict[str, list[str]]:
    """Per model that saved its configuration as trained, where it departs from the golden one."""
    from mnist_mlp.judging import trained_config

    saved = {name: trained_config.saved_drift(run_dir / name, result) for name, result in results.items()}
    return {name: found[1] for name, found in saved.items() if found is not None}


def draw_task_figures(task, result: RunResult) -> None:
    """A pool task's own figures, drawn on its worker as it ends (``pool.run``'s ``after_each``),
    while the other workers still train."""
    from mnist_mlp.report import plots

    plots.draw_model(Path(task.run_dir), result)


def build_report(run_dir: str | Path, gates: dict | None = None, reuse_model_figures: bool = False) -> Path:
    """(Re)build figures, report.md and report.html of ``run_dir`` from its saved results alone.

    Models missing from the run are listed, not fatal; a folder with no result at all raises
    ResultError. ``gates`` defaults to golden/measured/gates.json's section for the run's backend;
    ``reuse_model_figures`` keeps model figures drawn since the model trained. Returns the
    report.html path.
    """
    from mnist_mlp.report import plots
    from mnist_mlp.report.document import document
    from mnist_mlp.report.html import render_html
    from mnist_mlp.report.markdown import render_markdown

    run_dir = Path(run_dir)
    results = load_run(run_dir)
    gates = gates or load_gates(results)
    rows = accuracy.rows(results, gates)
    drawn = plots.draw_all(run_dir, results, rows, reuse_model_figures)
    title = f"MNIST MLP run {run_dir.resolve().name}"
    blocks = document(title, run_dir, results, rows, drawn, datetime.now(timezone.utc),
                      accuracy.describe_statistic(gates), config_drift(run_dir, results))
    write_text(run_dir / "report.md", render_markdown(blocks, run_dir))
    target = html_path(run_dir)
    write_text(target, render_html(blocks, title))
    return target
