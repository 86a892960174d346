"""The matrix report: ``mnist-mlp matrix RUN_DIR... --out DIR`` writes ``matrix.html``,
``matrix.md`` and ``figures/`` from the envs' run folders (``mnist_mlp.judging.matrix`` does the numbers).

Each cell reads ``mean ± sd (n) verdict``, then the step time and MFU where the env ran the
benchmarks; a delta line against the reference env follows (accuracy: ``*`` marks a significant
change; speed: the A/B's verdict, SLOWER / faster / same).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from mnist_mlp.files import real_folder, write_text
from mnist_mlp.judging import abcompare
from mnist_mlp.judging.gates import FAIL, PASS
from mnist_mlp.judging.matrix import Cell, Matrix
from mnist_mlp.judging.stats import IDENTICAL, PAIRED
from mnist_mlp.report.blocks import Block, Figure, Heading, Paragraph, Table

STACK_FIELDS = ("python", "keras", "backend", "tensorflow", "jax", "torch", "numpy", "cpu")


def _accuracy_text(cell: Cell) -> str:
    spread = "" if cell.spread is None else f" ± {cell.spread * 100:.2f}"
    verdict = {True: PASS, False: FAIL, None: "no gate"}[cell.passed]
    return f"{cell.mean * 100:.2f}{spread} (n={len(cell.accuracies)}) {verdict}"


def _speed_text(cell: Cell) -> str:
    if cell.step is None:
        return ""
    mfu = "" if cell.step.mfu is None else f", MFU {cell.step.mfu * 100:.0f} %"
    return f"; {cell.step.median_ms:.2f} ms/step{mfu}"


def _delta_text(cell: Cell) -> str:
    parts = []
    if cell.accuracy_delta is not None:
        d = cell.accuracy_delta
        mark = "*" if d.significant else ""
        p = "n/a" if d.p_value is None else f"{d.p_value:.3f}"
        paired = ", paired" if d.test == PAIRED else ""
        parts.append("Δacc identical" if d.test == IDENTICAL
                     else f"Δacc {d.delta * 100:+.2f}{mark} (p {p}{paired})")
    if cell.speed_delta is not None:
        s = cell.speed_delta
        parts.append(f"step x{s.ratio:.2f} {s.verdict}")
    return "; ".join(parts)


def cell_text(cell: Cell | None) -> str:
    if cell is None:
        return "-"
    delta = _delta_text(cell)
    return _accuracy_text(cell) + _speed_text(cell) + (f" [{delta}]" if delta else "")


MAX_DRIFT_LINES = 40  # per env: a changed default shows in every model; the rest is in the files


def config_blocks(matrix: Matrix) -> list[Block]:
    """Where each env's configuration as trained (Keras's own description, saved beside each
    result) departs from the reference env's and from the notebook's golden one."""
    rows = []
    for env in matrix.envs:
        lines = matrix.drift.get(env, [])
        shown = lines[:MAX_DRIFT_LINES] + ([f"... {len(lines) - MAX_DRIFT_LINES} more"]
                                           if len(lines) > MAX_DRIFT_LINES else [])
        rows += [(env, line) for line in shown] or [(env, "none")]
    return [
        Heading(2, "Configuration as trained"),
        Paragraph("Every field of the model, optimizer, compile, Keras settings and fit that Keras "
                  "reports (mnist_mlp/judging/trained_config.py) and that differs from the reference env's "
                  f"({matrix.reference}) or from golden/notebook/trained_config.json ('(golden)'): a changed "
                  "default is named here even when the accuracy does not move."),
        Table(("env", "difference"), tuple(rows)),
    ]


def document(matrix: Matrix, figures: dict[str, Path], now: datetime) -> list[Block]:
    """The matrix report as blocks: a pure function of the matrix and the drawn figures."""
    stack_rows = tuple(
        (env, *(str(matrix.environments[env].get(k) or "-") for k in STACK_FIELDS))
        for env in matrix.envs
    )
    table_rows = tuple(
        (model, *(cell_text(matrix.cells.get((model, env))) for env in matrix.envs))
        for model in matrix.models
    )
    return [
        Heading(1, "MNIST MLPs across envs"),
        Paragraph(f"Built {now:%Y-%m-%d %H:%M} UTC from {len(matrix.envs)} run folders; "
                  f"deltas against {matrix.reference}."),
        Heading(2, "Envs"),
        Table(("env", *STACK_FIELDS), stack_rows),
        Heading(2, "Accuracy and speed"),
        Paragraph("Cell: test accuracy in % as mean ± sd over seeds (n seeds) and the gate verdict "
                  "(every seed at or above its backend's threshold in golden/measured/gates.json); median "
                  "training step and MFU where the env ran the benchmarks; in brackets the delta "
                  f"against {matrix.reference}: accuracy paired over the seeds both trained where "
                  "the project drew them ('identical': equal on every seed), else by Welch's t-test "
                  "over seeds, * marking p < 0.05 (with two seeds a side only large changes can be "
                  "significant); step time by bench-compare's rule for unpaired runs "
                  f"(Hodges-Lehmann ratio, SLOWER at x{1 + abcompare.THRESHOLD:.2f} or more with "
                  f"a one-sided Mann-Whitney p < {abcompare.ALPHA}). The envs ran one after the "
                  "other: a speed delta includes the machine's drift between them."),
        Table(("model", *matrix.envs), table_rows),
        *config_blocks(matrix),
        Heading(2, "Figures"),
        *(Figure(path, caption) for caption, path in figures.items()),
    ]


def build_matrix_report(matrix: Matrix, out: str | Path) -> Path:
    """Draw the figures, write ``matrix.md`` and ``matrix.html`` into ``out``; return the HTML path."""
    from mnist_mlp.report import plots
    from mnist_mlp.report.html import render_html
    from mnist_mlp.report.markdown import render_markdown

    out = Path(out)
    figures = real_folder(out / "figures")
    accuracy_png, mfu_png = figures / "matrix_accuracy.png", figures / "matrix_mfu.png"
    plots.plot_matrix_accuracy(matrix, accuracy_png)
    figures = {"Test accuracy per env (mean and every seed)": accuracy_png}
    if any(cell.step and cell.step.mfu for cell in matrix.cells.values()):
        plots.plot_matrix_mfu(matrix, mfu_png)
        figures["Training-step MFU per env"] = mfu_png
    blocks = document(matrix, figures, datetime.now(timezone.utc))
    write_text(out / "matrix.md", render_markdown(blocks, out))
    html_path = out / "matrix.html"
    write_text(html_path, render_html(blocks, "MNIST MLPs across envs"))
    return html_path
