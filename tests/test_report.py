"""The report and its figures, built from crafted run folders (no training, no MNIST).

One run folder is crafted per module and reported once; every figure the report draws is
recorded, so the tests read back exactly what was plotted. The observation checks are pure
functions and are flipped here by flipping the crafted numbers.
"""

from __future__ import annotations

import html.parser
import os
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from mnist_mlp import report
from mnist_mlp.cli import main as cli
from mnist_mlp.compat import weight_path
from mnist_mlp.notebook import golden
from mnist_mlp.notebook.models import NOTEBOOK_MODELS, build_model, names
from mnist_mlp.report import observations, plots
from mnist_mlp.training.results import ResultError

PRESENT = ("arch1_relu", "arch1_bn_dropout", "arch2_relu", "arch3_bn_dropout", "softmax")
MISSING = tuple(n for n in names() if n not in PRESENT)
WITH_MODEL_FILE = ("arch1_bn_dropout", "softmax")
CORRUPT_MODEL_FILE = "arch2_relu"
GATES = {
    "min_mean_test_accuracy": 0.97,
    "models": {n: {"min_test_accuracy": 0.90 if n == "softmax" else 0.97} for n in names()},
}
TEST_ACCURACY = {
    "arch1_relu": 0.9821, "arch1_bn_dropout": 0.9815, "arch2_relu": 0.9808,
    "arch3_bn_dropout": 0.9790, "softmax": 0.9262,
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------------------------
# Crafted results (conftest's make_result)


def craft_run(make_result, write_run, run_dir: Path, models=PRESENT) -> Path:
    write_run(run_dir, [make_result(name, test_accuracy=TEST_ACCURACY[name]) for name in models])
    return run_dir


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, after checking the PNG signature."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


class TagBalance(html.parser.HTMLParser):
    """Fails on a closing tag that does not close the innermost open element."""

    VOID = frozenset({"meta", "img", "br", "hr", "link", "input"})

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass  # <img ... />: opens and closes itself

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()


@pytest.fixture(scope="module")
def built(tmp_path_factory, make_result, write_run):
    """A crafted run reported once; ``figures`` maps each saved file name to its Figure."""
    run_dir = craft_run(make_result, write_run, tmp_path_factory.mktemp("run"))
    for name in WITH_MODEL_FILE:
        build_model(name, seed=0).save(run_dir / name / "model.keras")
    (run_dir / CORRUPT_MODEL_FILE / "model.keras").write_bytes(b"not a zip file")
    save_configs(run_dir)
    figures: dict[str, object] = {}

    def recording(function):
        def wrapper(*args, **kwargs):
            fig = function(*args, **kwargs)
            figures[Path(args[1]).name] = fig
            return fig

        return wrapper

    with pytest.MonkeyPatch.context() as mp:
        for function in ("plot_loss", "plot_weights", "plot_test_accuracy", "plot_val_accuracy"):
            mp.setattr(plots, function, recording(getattr(plots, function)))
        html_path = report.build_report(run_dir, gates=GATES)
    return {
        "run": run_dir,
        "html": html_path.read_text("utf-8"),
        "md": (run_dir / "report.md").read_text("utf-8"),
        "figures": figures,
    }


def save_configs(run_dir):
    """The golden configuration saved beside softmax's result, and arch1_bn_dropout's with Adam's
    epsilon planted at 1e-3 (the other models trained before descriptions were saved)."""
    import json

    from mnist_mlp.judging import trained_config

    for name in ("softmax", "arch1_bn_dropout"):
        description = json.loads(json.dumps(trained_config.expected(name, "3")))
        if name == "arch1_bn_dropout":
            description["optimizer"]["epsilon"] = 0.001
        (run_dir / name / trained_config.SAVED).write_text(json.dumps(description))


def test_report_names_each_configuration_difference_from_golden(built):
    assert "against golden/notebook/trained_config.json: 1 difference." in built["md"]
    assert "- arch1_bn_dropout: optimizer.epsilon: expected 1e-07, got 0.001" in built["md"]
    assert "softmax:" not in built["md"].split("## Configuration as trained")[1].split("##")[0]


# ---------------------------------------------------------------------------------------------
# Figures


def expected_sizes() -> dict[str, tuple[int, int]]:
    """Pixels at 100 dpi, written out: the notebook's loss figsize (10, 6); a weights figure is
    3 inches per Dense layer, at least 9, by 7 (three panels and one are both 900 x 700); the
    two accuracy figures are 11 x 6 inches."""
    sizes = {f"loss_{n}.png": (1000, 600) for n in PRESENT}
    sizes |= {"weights_arch1_bn_dropout.png": (900, 700), "weights_softmax.png": (900, 700)}
    sizes["test_accuracy.png"] = (1100, 600)
    sizes["val_accuracy.png"] = (1100, 600)
    return sizes


def test_every_figure_is_a_png_of_figsize_times_dpi(built):
    files = {p.name: p for p in (built["run"] / "figures").glob("*.png")}
    assert {name: png_size(path) for name, path in files.items()} == expected_sizes()


def lines_by_label(ax) -> dict:
    return {line.get_label(): line for line in ax.lines}


def test_loss_figure_plots_the_history_and_the_notebooks_validation_loss(built, make_result):
    result = make_result("arch1_relu", test_accuracy=TEST_ACCURACY["arch1_relu"])
    ax = built["figures"]["loss_arch1_relu.png"].axes[0]
    lines = lines_by_label(ax)
    np.testing.assert_allclose(lines["Train Loss"].get_ydata(), result.metric("loss"))
    np.testing.assert_allclose(lines["Validation Loss"].get_ydata(), result.metric("val_loss"))
    assert list(lines["Train Loss"].get_xdata()) == list(range(1, 21))
    published = lines["Validation Loss (notebook)"]
    assert published.get_linestyle() == "--"
    notebook = golden.load("seed_results")["models"]["arch1_relu"]["epochs"]
    assert list(published.get_ydata()) == [e["val_loss"] for e in notebook]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "Categorical Crossentropy Loss")
    assert ax.get_legend() is not None and ax.get_title()


def test_loss_figure_has_no_notebook_curve_for_softmax(built):
    lines = lines_by_label(built["figures"]["loss_softmax.png"].axes[0])
    assert set(lines) == {"Train Loss", "Validation Loss"}


def test_violin_panels_are_the_dense_kernels_by_layer(built):
    from mnist_mlp.compat import keras

    weights = keras.models.load_model(built["run"] / "arch1_bn_dropout" / "model.keras").get_weights()
    # get_weights() order of Dense, BN (gamma, beta, mean, variance), Dropout, Dense, BN, ..., Dense:
    # the three kernels are entries 0, 6 and 12.
    kernels = [weights[0], weights[6], weights[12]]
    assert [k.shape for k in kernels] == [(784, 600), (600, 100), (100, 10)]
    axes = built["figures"]["weights_arch1_bn_dropout.png"].axes
    assert len(axes) == 3
    for ax, kernel in zip(axes, kernels):
        assert str(kernel.shape) in ax.get_xlabel()
        # cut=0: the violin spans exactly the kernel's range (a BN gamma would be all ones).
        extent = ax.collections[0].get_paths()[0].vertices[:, 1]
        np.testing.assert_allclose([extent.min(), extent.max()], [kernel.min(), kernel.max()],
                                   rtol=1e-5)


def test_weights_figure_has_one_panel_per_dense_layer_of_a_deep_model(tmp_path):
    fig = plots.plot_weights(build_model("arch3_relu", seed=0), tmp_path / "w.png")
    shapes = [(784, 700), (700, 350), (350, 200), (200, 100), (100, 50), (50, 10)]
    assert [str(s) in ax.get_xlabel() for ax, s in zip(fig.axes, shapes)] == [True] * 6
    assert len(fig.axes) == 6
    assert png_size(tmp_path / "w.png") == (1800, 700)  # 6 panels x 3 inches, 7 high, 100 dpi


def test_accuracy_bars_show_ours_the_notebook_and_the_gate(built):
    ax = built["figures"]["test_accuracy.png"].axes[0]
    ours, theirs = ax.containers[:2]
    assert [b.get_height() for b in ours] == [TEST_ACCURACY[n] for n in PRESENT]
    notebook = golden.load("seed_results")["models"]
    expected = [notebook[n]["test_accuracy"] if n in notebook else np.nan for n in PRESENT]
    np.testing.assert_array_equal([b.get_height() for b in theirs], expected)
    gate = ax.collections[0]  # the hlines
    levels = sorted({round(seg[0][1], 6) for seg in gate.get_segments()})
    assert levels == [0.90, 0.97]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(PRESENT)


def test_validation_accuracy_curves_of_all_models_on_one_axis(built, make_result):
    (ax,) = built["figures"]["val_accuracy.png"].axes
    lines = lines_by_label(ax)
    for name in PRESENT:
        expected = make_result(name, test_accuracy=TEST_ACCURACY[name]).metric("val_accuracy")
        np.testing.assert_allclose(lines[name].get_ydata(), expected)


# ---------------------------------------------------------------------------------------------
# The reports


def test_html_is_self_contained_and_well_formed(built):
    page = built["html"]
    figure_count = len(list((built["run"] / "figures").glob("*.png")))
    assert page.count('src="data:image/png;base64,') == figure_count == len(expected_sizes())
    assert not re.search(r"<(script|link)\b|src=\"(?!data:)|url\(", page)
    parser = TagBalance()
    parser.feed(page)
    parser.close()
    assert parser.stack == []
    ET.fromstring(page.split("\n", 1)[1])  # well-formed XML once the doctype line is off


def test_reports_name_every_model_and_the_verify_table(built):
    for text in (built["html"], built["md"]):
        for name in PRESENT:
            assert name in text
        assert text.count("PASS") >= len(PRESENT) + 1  # every row, plus the headline verdict
        assert "Crafted CPU @ 2.0GHz" in text and "recipe.batch_size" in text


def test_markdown_references_every_figure_by_relative_path(built):
    targets = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", built["md"])
    assert sorted(Path(t).name for t in targets) == sorted(expected_sizes())
    assert all(not Path(t).is_absolute() and (built["run"] / t).is_file() for t in targets)


def test_missing_models_are_listed(built):
    listed = built["md"].split("Not in this run:", 1)[1].split("\n\n", 2)[1]
    assert listed.splitlines() == [f"- {n}" for n in MISSING]
    assert all(f"<li>{n}</li>" in built["html"] for n in MISSING)


def test_missing_or_unreadable_model_file_is_reported_not_raised(built):
    assert "No arch1_relu/model.keras in this run folder: weights figure skipped." in built["md"]
    assert f"{CORRUPT_MODEL_FILE}/model.keras could not be read" in built["md"]
    assert "Traceback" not in built["md"]


def test_report_says_what_the_notebooks_weight_plot_really_showed(built):
    assert observations.notebook_weight_picks("arch1_bn") == [
        ("Hidden Layer 1", "hidden 1 kernel"),
        ("Hidden Layer 2", "BN 1 gamma"),
        ("Output Layer", "BN 1 moving mean"),
    ]
    assert "'Hidden Layer 2' = BN 1 gamma" in built["md"]  # arch1_bn_dropout's section
    assert "'Output Layer' = hidden 3 kernel" in built["md"]  # arch2_relu's


@pytest.mark.parametrize("name", NOTEBOOK_MODELS)
def test_weight_list_labels_follow_the_built_models_weights(name):
    words = {"kernel": "kernel", "bias": "bias", "gamma": "gamma", "beta": "beta",
             "mean": "moving_mean", "variance": "moving_variance"}
    labels = observations.weight_list_labels(name)
    paths = [weight_path(w) for w in build_model(name).weights]
    assert [words[label.split()[-1]] for label in labels] == [p.split("/")[-1] for p in paths]


def test_notebook_results_carry_the_published_numbers():
    published = golden.load("seed_results")["models"]["arch2_bn_dropout"]
    converted = observations.notebook_results()["arch2_bn_dropout"]
    assert converted.metric("val_accuracy") == [e["val_acc"] for e in published["epochs"]]
    assert converted.test_accuracy == published["test_accuracy"]


# ---------------------------------------------------------------------------------------------
# Observations, flipped


def verdict(check, *results) -> observations.Observation:
    return check({r.model: r for r in results})


@pytest.mark.parametrize(
    ("relu_gap", "bn_dropout_gap", "expected"),
    [(0.08, -0.01, observations.HOLDS), (0.01, 0.05, observations.FAILS), (0.03, 0.03, observations.FAILS)],
)
def test_overfitting_verdict_follows_the_loss_gaps(relu_gap, bn_dropout_gap, expected, make_result):
    obs = verdict(
        observations.check_overfitting,
        make_result("arch1_relu", gap=0.07), make_result("arch1_bn_dropout", gap=0.0),
        make_result("arch2_relu", gap=relu_gap), make_result("arch2_bn_dropout", gap=bn_dropout_gap),
    )
    assert obs.verdict == expected
    assert [row[0] for row in obs.table.rows] == ["arch1", "arch2"]
    assert obs.table.rows[1][1:3] == (f"{relu_gap:.4f}", f"{bn_dropout_gap:.4f}")


def test_overfitting_is_not_checkable_without_a_pair(make_result):
    obs = verdict(observations.check_overfitting, make_result("arch1_relu"), make_result("arch2_bn_dropout"))
    assert obs.verdict == observations.UNCHECKABLE


@pytest.mark.parametrize(
    ("reach_epoch", "epochs", "expected", "first"),
    [
        (10, 20, observations.HOLDS, "10"),
        (15, 20, observations.HOLDS, "15"),
        (16, 20, observations.FAILS, "16"),
        (None, 20, observations.FAILS, "never"),
        (None, 10, observations.UNCHECKABLE, "never"),
    ],
)
def test_convergence_verdict_follows_the_epoch_of_reaching(reach_epoch, epochs, expected, first, make_result):
    obs = verdict(
        observations.check_convergence,
        make_result("arch1_relu", reach_epoch=3),
        make_result("arch3_relu", reach_epoch=reach_epoch, epochs=epochs),
        make_result("softmax", reach_epoch=None, test_accuracy=0.92),  # not a notebook model
    )
    assert obs.verdict == expected
    assert [row[:2] for row in obs.table.rows] == [("arch1_relu", "3"), ("arch3_relu", first)]


def test_convergence_reports_both_levels(make_result):
    result = make_result("arch1_relu", reach_epoch=4, test_accuracy=0.985)
    values = result.metric("val_accuracy")
    (row,) = verdict(observations.check_convergence, result).table.rows
    assert row[1:3] == ("4", str(observations.first_epoch_reaching(values, 0.98)))
    assert observations.first_epoch_reaching([0.97, 0.98, 0.975], 0.975) == 2


def test_convergence_is_not_checkable_without_notebook_models(make_result):
    obs = verdict(observations.check_convergence, make_result("softmax", test_accuracy=0.92))
    assert obs.verdict == observations.UNCHECKABLE


@pytest.mark.parametrize(
    ("deep", "shallow", "expected"),
    [(0.981, 0.976, observations.HOLDS), (0.99, 0.98, observations.HOLDS),
     (0.985, 0.970, observations.FAILS)],
)
def test_depth_verdict_follows_the_accuracy_spread(deep, shallow, expected, make_result):
    obs = verdict(
        observations.check_depth,
        make_result("arch1_relu", test_accuracy=shallow),
        make_result("arch3_relu", test_accuracy=deep),
        make_result("softmax", test_accuracy=0.5),  # not a notebook model: outside the spread
    )
    assert obs.verdict == expected
    assert f"{(deep - shallow) * 100:.2f} percentage points" in obs.evidence


def test_depth_is_not_checkable_with_one_depth(make_result):
    obs = verdict(observations.check_depth, make_result("arch1_relu"), make_result("arch1_bn"))
    assert obs.verdict == observations.UNCHECKABLE


def test_observations_on_the_notebooks_own_numbers():
    verdicts = [o.verdict for o in observations.observations(observations.notebook_results())]
    # arch3_bn_dropout's printed val_acc is 0.97 from epoch 8 to 17: 97.5 % only at epoch 18.
    assert verdicts == [observations.HOLDS, observations.FAILS, observations.HOLDS]


def test_verdicts_appear_in_the_report(built):
    # Overfitting: arch1 is the only pair present and both gaps are the crafted 0.07, so the gap
    # is not smaller with BN + Dropout. Convergence: every model reaches 97.5 % at epoch 5.
    # Depth: 98.21 % to 97.90 % is 0.31 points, within 1.
    expected = ["does not hold", "holds", "holds"]
    found = re.findall(r"\*\*Verdict on this run: ([^*]+)\*\*", built["md"])
    assert found == expected


# ---------------------------------------------------------------------------------------------
# Errors and the CLI


def test_empty_or_absent_folder_raises_result_error(tmp_path):
    with pytest.raises(ResultError, match="no <model>/result.json"):
        report.build_report(tmp_path, gates=GATES)
    with pytest.raises(ResultError, match="no such run folder"):
        report.build_report(tmp_path / "absent", gates=GATES)


def test_cli_report_on_an_empty_folder_is_a_one_line_error(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path)]) == cli.EXIT_USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("mnist-mlp: error: ") and err.count("\n") == 1


def test_cli_report_builds_the_report(tmp_path, capsys, monkeypatch, make_result, write_run):
    monkeypatch.setattr(report, "load_gates", lambda results: GATES)
    craft_run(make_result, write_run, tmp_path, ["arch1_relu"])
    assert cli.main(["report", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"report: {tmp_path / 'report.html'}\n"
    assert (tmp_path / "report.md").is_file()


# ---------------------------------------------------------------------------------------------
# Hostile text: what a result.json or a folder name holds is shown, never interpreted

HOSTILE = "<script>alert(1)</script> | R&D"
HOSTILE_MD = r"&lt;script&gt;alert(1)&lt;/script&gt; \| R&amp;D"


def table_cells(line: str) -> int:
    """Cells of a Markdown table row: its pipes that no backslash escapes, less one."""
    return len(re.findall(r"(?<!\\)\|", line.replace("\\\\", ""))) - 1


def assert_markdown_is_inert(md: str) -> None:
    """No raw HTML tag, and every table row has as many cells as its header."""
    assert not re.search(r"<[A-Za-z/!?]", md)
    for block in md.split("\n\n"):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        assert len({table_cells(row) for row in rows}) <= 1, block


def test_markdown_escapes_html_and_pipes_in_every_text(tmp_path, make_result, write_run):
    import dataclasses

    run_dir = tmp_path / "<img src=x onerror=alert(1)>"
    result = make_result("softmax", test_accuracy=0.93)
    write_run(run_dir, [dataclasses.replace(
        result, environment=result.environment | {"cpu": HOSTILE, "<b>field</b>": "a\\|b"})])
    report.build_report(run_dir, gates=GATES)
    md = (run_dir / "report.md").read_text("utf-8")
    assert_markdown_is_inert(md)
    assert f"| cpu | {HOSTILE_MD} |" in md
    assert r"| &lt;b&gt;field&lt;/b&gt; | a\\\|b |" in md
    assert "# MNIST MLP run &lt;img src=x onerror=alert(1)&gt;" in md
    assert "<script>" not in (run_dir / "report.html").read_text("utf-8")


def test_environment_states_the_runs_matrix_flops_and_rate(make_result):
    """Hand counts (tests/test_efficiency.py): arch1_relu's 20 epochs 2,920,308,000,000 FLOPs,
    softmax's 40,924,800,000; the fake results train 60 s each."""
    from mnist_mlp.report.document import _environment_blocks

    table = _environment_blocks({n: make_result(n) for n in ("arch1_relu", "softmax")})[1]
    assert dict(table.rows)["matrix products"].startswith("2.96 TFLOP, 25 GFLOP/s over the training time")


def test_model_figures_drawn_since_training_are_reused_and_older_ones_redrawn(tmp_path, make_result,
                                                                               write_run, monkeypatch):
    """What the pool draws as each model ends is not drawn again by the report; a figure older
    than its result.json (the model retrained since) is."""
    run_dir = craft_run(make_result, write_run, tmp_path / "run", models=("arch1_relu", "softmax"))
    drawn = []
    monkeypatch.setattr(plots, "plot_loss", lambda result, target, reference: drawn.append(result.model))
    monkeypatch.setattr(plots, "_weights_figure", lambda run, name, target: "skipped")
    for overview in ("plot_test_accuracy", "plot_val_accuracy"):
        monkeypatch.setattr(plots, overview, lambda *args: None)
    for name in ("arch1_relu", "softmax"):
        for figure in plots.model_figures(run_dir, name):
            figure.parent.mkdir(exist_ok=True)
            figure.write_bytes(PNG_SIGNATURE)
    trained = (run_dir / "softmax" / "result.json").stat().st_mtime_ns
    for figure in plots.model_figures(run_dir, "softmax"):  # drawn before softmax's retraining
        os.utime(figure, ns=(trained - 10**9, trained - 10**9))
    results = {n: make_result(n) for n in ("arch1_relu", "softmax")}
    plots.draw_all(run_dir, results, [], reuse_model_figures=True)
    assert drawn == ["softmax"]
    plots.draw_all(run_dir, results, [], reuse_model_figures=False)  # `mnist-mlp report`: all anew
    assert drawn == ["softmax", "arch1_relu", "softmax"]


@pytest.mark.parametrize("text", ["[click](javascript:alert(2))", "![t](http://example.invalid/x.png)",
                                  "[ref]: http://example.invalid"])
def test_untrusted_link_and_image_syntax_is_inert_in_markdown(text):
    """Text from a result (its environment strings, a folder name) never becomes a live link or
    image in report.md or matrix.md: its brackets are escaped, in paragraphs and table cells."""
    from mnist_mlp.report.blocks import Paragraph, Table
    from mnist_mlp.report.markdown import render_block

    for rendered in (render_block(Paragraph(text), Path(".")),
                     render_block(Table(("env",), ((text,),)), Path("."))):
        assert "[" not in rendered.replace("\\[", "") and "]" not in rendered.replace("\\]", "")
    assert render_block(Paragraph("[click](javascript:alert(2))"), Path(".")) == (
        "\\[click\\](javascript:alert(2))")
