"""The run's figures, drawn headless and saved as PNG files atomically.

Each ``plot_*`` function draws one figure from saved results (never from a live training
session), writes it to ``target`` and returns the matplotlib ``Figure`` so callers and tests can
read the plotted data back. Figures are built with ``matplotlib.figure.Figure`` rather than
``pyplot``: nothing is registered in pyplot's global figure list, so building a report of many
figures neither leaks memory nor needs closing.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot (seaborn imports it): reports are built on headless machines

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from mnist_mlp.files import atomic_path, real_folder
from mnist_mlp.report.blocks import Drawn
from mnist_mlp.report.observations import CONVERGENCE_EPOCH, CONVERGENCE_LEVELS, notebook_results
from mnist_mlp.training.results import RunResult

DPI = 100
LOSS_SIZE = (10.0, 6.0)  # the notebook's loss_plot figsize
TEST_ACCURACY_SIZE = (11.0, 6.0)
VAL_ACCURACY_SIZE = (11.0, 6.0)
WEIGHT_PANEL_SIZE = (3.0, 7.0)  # per Dense layer; the notebook's (15, 7) held three panels
WEIGHT_MIN_WIDTH = 9.0

# One colour per architecture, one line style per variant, identical in every figure, so a
# reader can tell arch2_bn_dropout from arch3_relu without reading the legend each time.
FAMILY_COLORS = {"arch1": "tab:blue", "arch2": "tab:orange", "arch3": "tab:green"}
VARIANT_STYLES = {"relu": "-", "bn": ":", "bn_dropout": "--"}
PANEL_COLORS = ("tab:blue", "tab:red", "gold", "tab:green", "tab:purple", "tab:brown")


def model_style(name: str) -> dict:
    """Line colour and style for a model name (softmax and unknown names: grey, solid)."""
    family, _, variant = name.partition("_")
    return {
        "color": FAMILY_COLORS.get(family, "tab:gray"),
        "linestyle": VARIANT_STYLES.get(variant, "-"),
    }


def weights_size(panels: int) -> tuple[float, float]:
    """Figure size for ``panels`` violins: wide enough that each keeps its own readable label."""
    width, height = WEIGHT_PANEL_SIZE
    return max(WEIGHT_MIN_WIDTH, width * panels), height


def _figure(size: tuple[float, float]) -> Figure:
    """A Figure with constrained layout: labels and outside legends fit without changing size."""
    return Figure(figsize=size, dpi=DPI, layout="constrained")


def save(fig: Figure, target: str | os.PathLike) -> Figure:
    """Write ``fig`` as PNG at ``DPI`` (exactly figsize * DPI pixels: no tight bbox)."""
    with atomic_path(target, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)
    return fig


def _epochs(values: list) -> range:
    """Epoch numbers as the notebook plots them: 1..N."""
    return range(1, len(values) + 1)


def plot_loss(result: RunResult, target: str | os.PathLike,
              reference: RunResult | None = None) -> Figure:
    """The notebook's ``loss_plot``: validation (blue) and train (red) loss per epoch.

    ``reference`` is the notebook's result for the same model (``observations.notebook_results``);
    its validation loss is drawn dashed, so the reader sees at once whether this run trains like
    the published one.
    """
    val_loss, loss = result.metric("val_loss"), result.metric("loss")
    fig = _figure(LOSS_SIZE)
    ax = fig.subplots()
    ax.plot(_epochs(val_loss), val_loss, "b", label="Validation Loss")
    ax.plot(_epochs(loss), loss, "r", label="Train Loss")
    if reference is not None:
        published = reference.metric("val_loss")
        ax.plot(_epochs(published), published, "b--", alpha=0.5, label="Validation Loss (notebook)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("Categorical Crossentropy Loss")
    ax.set_title(
        f"{result.model}: variation of loss with epochs "
        f"(test accuracy {result.test_accuracy:.2%})"
    )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True)
    ax.legend(loc="best")
    return save(fig, target)


def dense_kernels(model) -> list[tuple[str, np.ndarray]]:
    """``(layer name, kernel)`` for every Dense layer, in order.

    Picked by layer, not by ``get_weights()`` index: in a BatchNormalization model the notebook's
    indices 0, 2, 4 are a kernel, a BN gamma and a BN moving mean.
    """
    from mnist_mlp.compat import keras

    return [
        (layer.name, np.asarray(layer.kernel.numpy()))
        for layer in model.layers
        if isinstance(layer, keras.layers.Dense)
    ]


def load_model(path: str | os.PathLike):
    """A saved model, uncompiled: plotting needs its weights, not its optimizer."""
    from mnist_mlp.compat import keras

    return keras.models.load_model(path, compile=False)


def plot_weights(model, target: str | os.PathLike) -> Figure:
    """The notebook's ``weight_plot``, corrected: one violin per Dense kernel, all layers.

    Violins use ``cut=0`` so each one spans exactly the kernel's smallest to largest weight
    rather than inventing density beyond the data.
    """
    import seaborn as sns

    kernels = dense_kernels(model)
    fig = _figure(weights_size(len(kernels)))
    axes = fig.subplots(1, len(kernels), squeeze=False)[0]
    for i, (ax, (layer_name, kernel)) in enumerate(zip(axes, kernels)):
        role = "output" if i == len(kernels) - 1 else f"hidden {i + 1}"
        sns.violinplot(y=kernel.ravel(), ax=ax, color=PANEL_COLORS[i % len(PANEL_COLORS)], cut=0)
        ax.set_xlabel(f"{role} ({layer_name})\nkernel {tuple(kernel.shape)}")
        ax.set_ylabel("weight value" if i == 0 else "")
    fig.suptitle(f"{model.name}: Dense kernels after training")
    return save(fig, target)


def plot_test_accuracy(rows, target: str | os.PathLike) -> Figure:
    """The gated statistic per model (the final test accuracy, or the mean of the last epochs'),
    this run beside the notebook's final test accuracy, gate minimum as a black bar.

    ``rows`` are ``gates.accuracy.AccuracyRow``s, so the figure shows exactly what the gate judged.
    The axis is zoomed to the data (the models differ by tenths of a point); each bar carries its value.
    """
    fig = _figure(TEST_ACCURACY_SIZE)
    ax = fig.subplots()
    x = np.arange(len(rows))
    width = 0.4
    ours = ax.bar(x - width / 2, [r.ours for r in rows], width, label="this run", color="tab:blue")
    notebook = [np.nan if r.notebook is None else r.notebook for r in rows]
    theirs = ax.bar(x + width / 2, notebook, width, label="notebook", color="tab:gray")
    ax.hlines(
        [r.threshold for r in rows], x - 0.45, x + 0.45, colors="black", linewidth=2.5,
        label="gate minimum",
    )
    for bars, values in ((ours, [r.ours for r in rows]), (theirs, notebook)):
        labels = ["" if np.isnan(v) else f"{v:.2%}" for v in values]  # no bar, no label
        ax.bar_label(bars, labels, rotation=90, padding=3, fontsize=8)
    values = [v for v in [*[r.ours for r in rows], *notebook, *[r.threshold for r in rows]]
              if not np.isnan(v)]
    low, high = min(values) - 0.01, max(values)
    ax.set_ylim(low, high + 0.15 * (high - low))  # headroom for the rotated value labels
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.set_xticks(x, [r.model for r in rows], rotation=20, ha="right")
    ax.set_ylabel("test accuracy")
    ax.set_title("Gated test accuracy: this run vs the notebook, with each model's gate minimum")
    ax.grid(True, axis="y", alpha=0.4)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save(fig, target)


def plot_val_accuracy(results: dict[str, RunResult], target: str | os.PathLike) -> Figure:
    """Validation accuracy per epoch of every model on one axis, with the 97.5 % and 98 % levels
    and epoch 15 marked: the picture behind the notebook's 'close to 98 % after 15 epochs'."""
    fig = _figure(VAL_ACCURACY_SIZE)
    ax = fig.subplots()
    for name, result in results.items():
        values = result.metric("val_accuracy")
        ax.plot(_epochs(values), values, label=name, linewidth=1.8, **model_style(name))
    for level in CONVERGENCE_LEVELS:
        ax.axhline(level, color="black", linewidth=0.8, linestyle=(0, (1, 3)))
    ax.axvline(CONVERGENCE_EPOCH, color="black", linewidth=0.8, linestyle=(0, (1, 3)))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.set_title(
        f"Validation accuracy per epoch (dotted: {' and '.join(f'{v:.1%}' for v in CONVERGENCE_LEVELS)}"
        f", epoch {CONVERGENCE_EPOCH})"
    )
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.4)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save(fig, target)


def read_model(run_dir: Path, name: str):
    """``<run_dir>/<name>/model.keras``, or the sentence saying why the report has no model."""
    path = run_dir / name / "model.keras"
    if not path.is_file():
        return f"No {name}/model.keras in this run folder: weights figure skipped."
    try:
        return load_model(path)
    except Exception as exc:  # noqa: BLE001 (whatever zipfile, h5py or Keras raise on a damaged file)
        reason = str(exc).splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        return f"{name}/model.keras could not be read ({reason}): weights figure skipped."


def _weights_figure(run_dir: Path, name: str, target: Path) -> Path | str:
    model = read_model(run_dir, name)
    if isinstance(model, str):
        return model
    plot_weights(model, target)
    return target


def model_figures(run_dir: Path, name: str) -> tuple[Path, Path]:
    """Where one model's loss and weights figures go."""
    figures = real_folder(run_dir / "figures")
    return figures / f"loss_{name}.png", figures / f"weights_{name}.png"


def draw_model(run_dir: Path, result: RunResult) -> tuple[Path, Path | str]:
    """One model's figures: its loss curves and its weights (or why the weights are missing)."""
    loss, weights = model_figures(run_dir, result.model)
    plot_loss(result, loss, notebook_results().get(result.model))
    return loss, _weights_figure(run_dir, result.model, weights)


def _drawn_since_trained(run_dir: Path, name: str) -> bool:
    """Both of a model's figures exist and are newer than its result.json."""
    trained = (run_dir / name / "result.json").stat().st_mtime_ns
    return all(p.is_file() and p.stat().st_mtime_ns >= trained for p in model_figures(run_dir, name))


def draw_all(run_dir: Path, results: dict[str, RunResult], rows, reuse_model_figures: bool = False) -> Drawn:
    """Every figure of a run's report, saved under ``run_dir/figures``; with
    ``reuse_model_figures`` a model's figures drawn after its training (the pool draws them as
    each model ends) are kept."""
    figures = real_folder(run_dir / "figures")
    test, val = figures / "test_accuracy.png", figures / "val_accuracy.png"
    plot_test_accuracy(rows, test)
    plot_val_accuracy(results, val)
    loss, weights = {}, {}
    for name, result in results.items():
        if reuse_model_figures and _drawn_since_trained(run_dir, name):
            loss[name], weights[name] = model_figures(run_dir, name)
        else:
            loss[name], weights[name] = draw_model(run_dir, result)
    return Drawn(test, val, loss, weights)


MATRIX_SIZE = (11.0, 6.0)


def _per_env_offsets(envs: list[str]) -> dict[str, float]:
    """Horizontal offsets that spread ``envs`` side by side within one model's slot."""
    step = 0.8 / max(len(envs), 1)
    return {env: (i - (len(envs) - 1) / 2) * step for i, env in enumerate(envs)}


def _save_per_model(fig: Figure, ax, matrix, ylabel: str, title: str, target) -> Figure:
    """Label a models-on-x, percent-on-y matrix figure, with the envs' legend outside; save it."""
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.set_xticks(range(len(matrix.models)), matrix.models, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, axis="y", alpha=0.4)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save(fig, target)


def plot_matrix_accuracy(matrix, target: str | os.PathLike) -> Figure:
    """Test accuracy per model and env: the mean over seeds with every seed's value as a dot. The
    softmax baseline (~92 %) gets its own narrow panel, so the MLPs' tenths of a point show."""
    fig = _figure(MATRIX_SIZE)
    groups = [[m for m in matrix.models if m != "softmax"], [m for m in matrix.models if m == "softmax"]]
    groups = [g for g in groups if g]
    axes = fig.subplots(1, len(groups), width_ratios=[len(g) for g in groups], squeeze=False)[0]
    offsets = _per_env_offsets(matrix.envs)
    colors = {env: f"C{i}" for i, env in enumerate(matrix.envs)}
    for ax, group in zip(axes, groups):
        for env in matrix.envs:
            cells = [(i, cell) for i, model in enumerate(group)
                     if (cell := matrix.cells.get((model, env))) is not None]
            xs = [i + offsets[env] for i, _ in cells]
            ax.plot(xs, [cell.mean for _, cell in cells], "_", markersize=14, markeredgewidth=2.5,
                    color=colors[env], label=env)
            ax.plot([x for x, (_, cell) in zip(xs, cells) for _ in cell.accuracies],
                    [a for _, cell in cells for a in cell.accuracies], ".", color=colors[env], alpha=0.7)
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
        ax.set_xticks(range(len(group)), group, rotation=20, ha="right")
        ax.set_xlim(-0.5, len(group) - 0.5)
        ax.grid(True, axis="y", alpha=0.4)
    axes[0].set_ylabel("test accuracy (bar: mean over seeds, dots: seeds)")
    fig.suptitle("Final test accuracy per env")
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save(fig, target)


def plot_matrix_mfu(matrix, target: str | os.PathLike) -> Figure:
    """Model FLOP utilisation of the training step per model and env (benchmarked envs only)."""
    fig = _figure(MATRIX_SIZE)
    ax = fig.subplots()
    offsets = _per_env_offsets(matrix.envs)
    width = 0.8 / max(len(matrix.envs), 1)
    for env in matrix.envs:
        points = [(i + offsets[env], cell.step.mfu) for i, model in enumerate(matrix.models)
                  if (cell := matrix.cells.get((model, env))) and cell.step and cell.step.mfu]
        if points:
            ax.bar([x for x, _ in points], [m for _, m in points], width, label=env)
    return _save_per_model(fig, ax, matrix, "MFU (step FLOPs / step time / measured peak)",
                           "Training-step MFU per env", target)


UPGRADE_PANEL_WIDTH, UPGRADE_ROW_HEIGHT = 5.0, 0.45
OUTCOME_COLORS = {"identical": "tab:gray", "same": "tab:blue", "better": "tab:green", "worse": "tab:red",
                  "SLOWER": "tab:red", "faster": "tab:green"}


def _interval_dot(ax, value: float, y: int, interval, outcome: str) -> None:
    low, high = interval if interval is not None else (value, value)
    ax.errorbar(value, y, xerr=[[max(0.0, value - low)], [max(0.0, high - value)]], fmt="o",
                capsize=3, color=OUTCOME_COLORS.get(outcome, "tab:blue"))


def plot_upgrade(verdict, slower_at: float, target: str | os.PathLike) -> Figure:
    """Per model, the paired accuracy difference (points) and, when timed, the step-time ratio
    (candidate / base), each with its interval and coloured by its outcome; the ratio against 1
    and the SLOWER threshold ``1 + slower_at``."""
    rows = verdict.paired()
    speed = {row.model: row for row in verdict.speed}
    models = [row.model for row in rows] + [m for m in speed if m not in {r.model for r in rows}]
    panels = 2 if speed else 1
    fig = _figure((UPGRADE_PANEL_WIDTH * panels, 1.5 + UPGRADE_ROW_HEIGHT * len(models)))
    axes = fig.subplots(1, panels, sharey=True, squeeze=False)[0]
    for row in rows:
        interval = row.interval and (row.interval[0] * 100, row.interval[1] * 100)
        _interval_dot(axes[0], row.mean * 100, models.index(row.model), interval, row.outcome)
    axes[0].axvline(0.0, color="black", linewidth=0.8)
    axes[0].set_xlabel("accuracy: candidate - base (points)")
    axes[0].set_yticks(range(len(models)), models)
    axes[0].set_ylim(len(models) - 0.5, -0.5)
    if speed:
        for model, row in speed.items():
            _interval_dot(axes[1], row.ratio, models.index(model), (row.ci_low, row.ci_high), row.verdict)
        axes[1].axvline(1.0, color="black", linewidth=0.8)
        axes[1].axvline(1.0 + slower_at, color="tab:red", linestyle="--", linewidth=1)
        axes[1].set_xlabel("step time: candidate / base")
    for ax in axes:
        ax.grid(True, axis="x", alpha=0.4)
    fig.suptitle(f"{verdict.base.name} → {verdict.candidate.name}")
    return save(fig, target)

