"""A run folder's report: figures, the accuracy gate and the notebook's observations, checked.

``build_report(run_dir)`` reads the saved ``<run>/<model>/result.json`` files (and ``model.keras``
for the weight figures), never retrains, and writes ``<run>/figures/*.png``, ``report.md``
(images by relative path) and ``report.html`` (self-contained: images as data URIs, inline CSS).

The report is assembled once as a list of blocks (heading, paragraph, table, image...) and
rendered twice, so the HTML and the Markdown can never say different things. The notebook's three
observations are checked by pure functions over a results dict (``observations``), which also
run on the notebook's own published numbers (``notebook_results``) for comparison.

``mnist_mlp.plots`` (matplotlib, seaborn) is imported inside the functions that draw: cli.py takes
an ImportError of this module to mean "no report module", and would otherwise hide a missing
plotting library.
"""

from __future__ import annotations

import base64
import dataclasses
import html
from datetime import datetime, timezone
from pathlib import Path

from mnist_mlp import golden
from mnist_mlp.files import write_text
from mnist_mlp.models import NOTEBOOK_MODELS, get_spec, names
from mnist_mlp.results import ResultError, load_run
from mnist_mlp.verify import gate_rows, gates_for, run_backend

HOLDS = "holds"
FAILS = "does not hold"
UNCHECKABLE = "not checkable with the models present"

OVERFITTING_PAIRS = (
    ("arch1_relu", "arch1_bn_dropout"),
    ("arch2_relu", "arch2_bn_dropout"),
    ("arch3_relu", "arch3_bn_dropout"),
)
CONVERGENCE_LEVELS = (0.975, 0.98)  # "close to 98 %": the verdict uses the first, both are shown
CONVERGENCE_EPOCH = 15
DEPTH_SPREAD = 0.01
FLOAT_SLACK = 1e-9  # accuracies are k/10000 in binary floating point: 0.99 - 0.98 > 0.01


@dataclasses.dataclass(frozen=True)
class Claim:
    """One of the notebook's closing observations and how this report tests it."""

    name: str
    text: str
    test: str


CLAIMS = (
    Claim(
        "1. Batch Normalization and Dropout reduce overfitting",
        "Batch Normalization and Dropout layers reduce the variance of the model (prevent it from "
        "overfitting to the train data). The performance of the MLP on train data is much better "
        "with BN and Dropout.",
        "Gap = final validation loss - final train loss. Holds when each *_bn_dropout model's gap "
        "is smaller than its *_relu twin's, for every architecture pair present. The second "
        "sentence is read as the same statement: Dropout raises the training loss itself.",
    ),
    Claim(
        "2. All models reach close to 98 % within 15 epochs",
        "All the models are able to minimize the loss and give close to 98% accuracy after just 15 "
        "epochs.",
        f"Reading 'close to 98 %' as {CONVERGENCE_LEVELS[0]:.1%} validation accuracy: holds when "
        f"every notebook model present reaches it by epoch {CONVERGENCE_EPOCH}; the first epoch "
        f"at {CONVERGENCE_LEVELS[1]:.0%} is shown too. Softmax is not one of the notebook's models.",
    ),
    Claim(
        "3. Depth makes little difference",
        "For MNIST data, even a shallow NN works well, there's not much difference in the "
        "performance of models on increasing the depth of the neural network.",
        f"Holds when the final test accuracies of the notebook models present (at least two "
        f"depths) span at most {DEPTH_SPREAD * 100:.0f} percentage point, i.e. 100 of the 10,000 "
        "test images. The threshold is a judgement, not a measurement: a smaller spread is small "
        "next to the several points every one of these MLPs gains over a linear softmax "
        "classifier, and of the order that changing only the random seed moves one model "
        "(golden/gates.json lists measured seeds).",
    ),
)
WEIGHT_PLOT_NOTE = (
    "Each panel is one Dense layer's kernel, found by layer, for every Dense layer. The notebook's "
    "weight_plot instead takes get_weights()[0], [2] and [4] and labels them 'Hidden Layer 1', "
    "'Hidden Layer 2' and 'Output Layer'; that is right only for arch1_relu. Where it is not, "
    "the model's section below says what the notebook actually plotted."
)
NOTEBOOK_LABELS = ("Hidden Layer 1", "Hidden Layer 2", "Output Layer")
NOTEBOOK_PICKS = (0, 2, 4)
NOTEBOOK_MEANT = ("hidden 1 kernel", "hidden 2 kernel", "output kernel")


# ---------------------------------------------------------------------------------------------
# Observations


@dataclasses.dataclass(frozen=True)
class Table:
    """Cells as text, already formatted: both renderers print them as they are."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclasses.dataclass(frozen=True)
class Observation:
    """One notebook claim checked on one set of results: ``verdict`` is HOLDS, FAILS or
    UNCHECKABLE, ``evidence`` the numbers behind it."""

    claim: Claim
    evidence: str
    verdict: str
    table: Table | None = None


def _pct(value: float) -> str:
    return f"{value:.2%}"


def loss_gap(result: dict) -> float:
    """Final validation loss minus final train loss: how far the model overfits."""
    history = result["history"]
    return history["val_loss"][-1] - history["loss"][-1]


def check_overfitting(results: dict[str, dict]) -> Observation:
    """Claim 1: each *_bn_dropout model's loss gap is smaller than its *_relu twin's."""
    pairs = [(a, b) for a, b in OVERFITTING_PAIRS if a in results and b in results]
    if not pairs:
        return Observation(
            CLAIMS[0], "Needs an *_relu model and its *_bn_dropout twin in the same run.",
            UNCHECKABLE,
        )
    rows = []
    for plain, regularized in pairs:
        gaps = loss_gap(results[plain]), loss_gap(results[regularized])
        rows.append((plain.split("_")[0], f"{gaps[0]:.4f}", f"{gaps[1]:.4f}",
                     "yes" if gaps[1] < gaps[0] else "no"))
    smaller = sum(row[3] == "yes" for row in rows)
    evidence = (
        f"The gap is smaller with BN + Dropout in {smaller} of the {len(rows)} architecture "
        "pair(s) present."
    )
    table = Table(("architecture", "gap, ReLU", "gap, BN + Dropout", "smaller with BN + Dropout"),
                  tuple(rows))
    return Observation(CLAIMS[0], evidence, HOLDS if smaller == len(rows) else FAILS, table)


def first_epoch_reaching(values: list[float], level: float) -> int | None:
    """The first epoch (1-based) whose value is at least ``level``; None if none is."""
    return next((epoch for epoch, value in enumerate(values, start=1) if value >= level), None)


def check_convergence(results: dict[str, dict]) -> Observation:
    """Claim 2: every notebook model reaches 97.5 % validation accuracy by epoch 15.

    A model that has not got there in a run shorter than 15 epochs is neither a pass nor a fail.
    """
    low, high = CONVERGENCE_LEVELS
    present = [n for n in NOTEBOOK_MODELS if n in results]
    if not present:
        return Observation(CLAIMS[1], "Needs at least one of the notebook's seven models.",
                           UNCHECKABLE)
    rows, late, unknown = [], [], []
    for model in present:
        values = results[model]["history"]["val_accuracy"]
        reached = first_epoch_reaching(values, low)
        if reached is None or reached > CONVERGENCE_EPOCH:
            (late if len(values) >= CONVERGENCE_EPOCH else unknown).append(model)
        at_epoch = values[CONVERGENCE_EPOCH - 1] if len(values) >= CONVERGENCE_EPOCH else None
        rows.append((model, _epoch_text(reached), _epoch_text(first_epoch_reaching(values, high)),
                     "-" if at_epoch is None else _pct(at_epoch), str(len(values))))
    verdict = FAILS if late else UNCHECKABLE if unknown else HOLDS
    evidence = (
        f"{len(present) - len(late) - len(unknown)} of {len(present)} notebook model(s) reach "
        f"{low:.1%} validation accuracy by epoch {CONVERGENCE_EPOCH}"
        + (f"; not: {', '.join(late)}" if late else "")
        + (f"; too few epochs to tell: {', '.join(unknown)}" if unknown else "")
        + "."
    )
    headers = ("model", f"first epoch >= {low:.1%}", f"first epoch >= {high:.0%}",
               f"val accuracy at epoch {CONVERGENCE_EPOCH}", "epochs run")
    return Observation(CLAIMS[1], evidence, verdict, Table(headers, tuple(rows)))


def _epoch_text(epoch: int | None) -> str:
    return "never" if epoch is None else str(epoch)


def check_depth(results: dict[str, dict]) -> Observation:
    """Claim 3: the notebook models' final test accuracies lie within DEPTH_SPREAD of each other.

    Checkable only with models of at least two depths: otherwise the spread says nothing about
    depth.
    """
    present = [n for n in NOTEBOOK_MODELS if n in results]
    depths = {n: len(get_spec(n).hidden_units) for n in present}
    if len(set(depths.values())) < 2:
        return Observation(
            CLAIMS[2], "Needs notebook models of at least two depths in the same run.", UNCHECKABLE
        )
    accuracy = {n: results[n]["test_accuracy"] for n in present}
    best, worst = max(accuracy, key=accuracy.get), min(accuracy, key=accuracy.get)
    spread = accuracy[best] - accuracy[worst]
    within = spread <= DEPTH_SPREAD + FLOAT_SLACK
    evidence = (
        f"Test accuracies of the {len(present)} notebook model(s) present span "
        f"{spread * 100:.2f} percentage points (best {best} {_pct(accuracy[best])}, worst "
        f"{worst} {_pct(accuracy[worst])}): {'within' if within else 'more than'} "
        f"{DEPTH_SPREAD * 100:.0f} point."
    )
    rows = tuple((n, str(depths[n]), _pct(accuracy[n])) for n in present)
    table = Table(("model", "hidden layers", "test accuracy"), rows)
    return Observation(CLAIMS[2], evidence, HOLDS if within else FAILS, table)


def observations(results: dict[str, dict]) -> list[Observation]:
    """The notebook's three observations, each checked against ``results``."""
    return [check_overfitting(results), check_convergence(results), check_depth(results)]


def notebook_results() -> dict[str, dict]:
    """The notebook's published numbers shaped like our result dicts (the keys the checks and
    plots read), so every check and the loss figure's dashed curve use one code path."""
    keys = {"loss": "loss", "accuracy": "acc", "val_loss": "val_loss", "val_accuracy": "val_acc"}
    return {
        name: {
            "model": name,
            "test_loss": entry["test_score"],
            "test_accuracy": entry["test_accuracy"],
            "history": {ours: [e[theirs] for e in entry["epochs"]] for ours, theirs in keys.items()},
        }
        for name, entry in golden.load("seed_results")["models"].items()
    }


def weight_list_labels(name: str) -> list[str]:
    """What each entry of ``model.get_weights()`` is, in order, derived from the model's spec:
    Dense gives kernel and bias, BatchNormalization gamma, beta, moving mean and variance."""
    spec = get_spec(name)
    labels = []
    for i in range(1, len(spec.hidden_units) + 1):
        labels += [f"hidden {i} kernel", f"hidden {i} bias"]
        if spec.batch_norm:
            labels += [f"BN {i} {part}" for part in ("gamma", "beta", "moving mean",
                                                     "moving variance")]
    return labels + ["output kernel", "output bias"]


def notebook_weight_picks(name: str) -> list[tuple[str, str]]:
    """``(notebook's label, what it really plotted)`` for the notebook's weight_plot on ``name``."""
    labels = weight_list_labels(name)
    return [(label, labels[i] if i < len(labels) else "nothing (no such weight)")
            for label, i in zip(NOTEBOOK_LABELS, NOTEBOOK_PICKS)]


# ---------------------------------------------------------------------------------------------
# The document: blocks, then two renderers


@dataclasses.dataclass(frozen=True)
class Image:
    """A saved PNG: embedded as a data URI in HTML, linked by relative path in Markdown."""

    path: Path
    caption: str


def load_gates(results: dict[str, dict]) -> dict:
    """golden/gates.json's section for the run's backend, or a one-line ResultError naming the fix."""
    try:
        return gates_for(run_backend(results))
    except FileNotFoundError:
        raise ResultError(
            "golden/gates.json not found; create it with 'mnist-mlp calibrate RUN_DIR...'"
        ) from None


def _merged(results: dict[str, dict], key: str) -> list[tuple[str, str]]:
    """``(field, value)`` rows of ``result[key]`` over all models; a field whose value differs
    between models lists each value with its models, so a mixed run cannot hide."""
    fields = list(dict.fromkeys(f for r in results.values() for f in r.get(key, {})))
    rows = []
    for field in fields:
        by_value: dict[str, list[str]] = {}
        for name, result in results.items():
            by_value.setdefault(str(result.get(key, {}).get(field, "-")), []).append(name)
        text = "; ".join(
            value if len(by_value) == 1 else f"{value} ({', '.join(models)})"
            for value, models in by_value.items()
        )
        rows.append((field, text))
    return rows


def _environment_blocks(results: dict[str, dict]) -> list[tuple]:
    total = sum(r.get("train_seconds", 0.0) for r in results.values())
    rows = [
        *_merged(results, "environment"),
        *((f"recipe.{field}", value) for field, value in _merged(results, "recipe")),
        ("total training time", f"{total / 60:.1f} min"),
        ("finished", _span([str(r.get("finished", "-")) for r in results.values()])),
    ]
    return [("h2", "Environment and recipe"), ("table", Table(("field", "value"), tuple(rows)))]


def _span(values: list[str]) -> str:
    """``first to last`` of sortable texts (ISO timestamps), or the one value they all share."""
    first, last = min(values), max(values)
    return first if first == last else f"{first} to {last}"


def _gate_blocks(rows) -> list[tuple]:
    table = Table(
        ("model", "this run", "notebook", "difference", "gate minimum", "gate"),
        tuple(
            (r.model, _pct(r.ours), "-" if r.notebook is None else _pct(r.notebook),
             "-" if r.difference is None else f"{r.difference * 100:+.2f} pt",
             _pct(r.threshold), "PASS" if r.passed else "FAIL")
            for r in rows
        ),
    )
    return [
        ("h2", "Accuracy gate"),
        ("p", (
            "Final test accuracy against the notebook's published Test accuracy and the minimum "
            "in golden/gates.json (the same table 'mnist-mlp verify' prints)."
        )),
        ("table", table),
    ]


def _model_blocks(results: dict[str, dict]) -> list[tuple]:
    rows = tuple(
        (name, get_spec(name).layer_summary, f"{r['params']['total']:,}",
         str(len(r["history"]["loss"])), f"{r.get('train_seconds', 0.0):.0f} s",
         f"{r['step_ms']:.1f} ms")
        for name, r in results.items()
    )
    headers = ("model", "layers", "parameters", "epochs", "training time", "step (median)")
    return [("h2", "Models"), ("table", Table(headers, rows))]


def _observation_blocks(results: dict[str, dict]) -> list[tuple]:
    blocks = [
        ("h2", "The notebook's observations, checked against this run"),
        ("p", (
            "Each claim from the notebook's closing 'Observations' is turned into a test on this "
            "run's numbers, then run on the notebook's own published numbers for comparison "
            "(the transcript cuts some of those val_acc values to 2 or 3 decimals)."
        )),
    ]
    published = observations(notebook_results())
    for obs, theirs in zip(observations(results), published):
        blocks += [
            ("h3", obs.claim.name),
            ("quote", obs.claim.text),
            ("p", f"Test: {obs.claim.test}"),
            ("verdict", ("Verdict on this run", obs.verdict)),
            ("p", obs.evidence),
        ]
        blocks += [("table", obs.table)] if obs.table else []
        blocks.append(("p", f"On the notebook's own numbers: {theirs.verdict}. {theirs.evidence}"))
    return blocks


def _weights_blocks(run_dir: Path, name: str, target: Path) -> list[tuple]:
    """The weight figure of one model, or a sentence saying why there is none."""
    from mnist_mlp import plots

    path = run_dir / name / "model.keras"
    if not path.is_file():
        return [("p", f"No {name}/model.keras in this run folder: weights figure skipped.")]
    try:
        model = plots.load_model(path)
    except (OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return [("p", f"{name}/model.keras could not be read ({reason}): weights figure skipped.")]
    plots.plot_weights(model, target)
    return [("image", Image(target, f"{name}: Dense kernels after training"))]


def _picks_blocks(name: str) -> list[tuple]:
    """A sentence on what the notebook's weight_plot really showed, where it is not what it says."""
    picks = notebook_weight_picks(name)
    if name not in NOTEBOOK_MODELS or tuple(real for _, real in picks) == NOTEBOOK_MEANT:
        return []
    said = ", ".join(f"'{label}' = {real}" for label, real in picks)
    return [("p", f"The notebook's weight_plot for this model shows {said}.")]


def _overview_blocks(figures: Path, results: dict[str, dict], rows) -> list[tuple]:
    """The two run-wide figures, drawn into ``figures``."""
    from mnist_mlp import plots

    test, val = figures / "test_accuracy.png", figures / "val_accuracy.png"
    plots.plot_test_accuracy(rows, test)
    plots.plot_val_accuracy(results, val)
    return [
        ("image", Image(test, "Final test accuracy: this run, the notebook and the gate minimum")),
        ("image", Image(val, "Validation accuracy per epoch, all models")),
    ]


def _per_model_blocks(run_dir: Path, results: dict[str, dict]) -> list[tuple]:
    """Loss and weight figures of each model, with the notebook section and notes."""
    from mnist_mlp import plots

    figures = run_dir / "figures"
    reference = notebook_results()
    blocks = [("h2", "Per model: loss and weights"), ("p", WEIGHT_PLOT_NOTE)]
    for name, result in results.items():
        spec = get_spec(name)
        loss = figures / f"loss_{name}.png"
        plots.plot_loss(result, loss, reference.get(name))
        blocks += [("h3", f"{name}: {spec.layer_summary}"), ("p", spec.section)]
        blocks += [("p", spec.note)] if spec.note else []
        dashed = " (dashed: the notebook's validation loss)" if name in reference else ""
        blocks.append(("image", Image(loss, f"{name}: loss per epoch{dashed}")))
        blocks += _weights_blocks(run_dir, name, figures / f"weights_{name}.png")
        blocks += _picks_blocks(name)
    return blocks


def document(title: str, run_dir: Path, results: dict[str, dict], rows) -> list[tuple]:
    """Every block of the report, in reading order; figures are drawn on the way."""
    missing = [n for n in names() if n not in results]
    failed = [r.model for r in rows if not r.passed]
    blocks = [
        ("h1", title),
        ("p", (
            f"Built {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC from the saved results in "
            f"{run_dir} (nothing retrained). Models in this run: {', '.join(results)}."
        )),
        ("verdict", ("Accuracy gate", "FAIL" if failed else "PASS")),
    ]
    if failed:
        blocks.append(("p", f"Below the gate minimum: {', '.join(failed)}."))
    if missing:
        blocks += [("p", "Not in this run:"), ("list", missing)]
    return (
        blocks + _gate_blocks(rows) + _overview_blocks(run_dir / "figures", results, rows)
        + _observation_blocks(results) + _per_model_blocks(run_dir, results)
        + _model_blocks(results) + _environment_blocks(results)
    )


VERDICT_CLASSES = {HOLDS: "good", "PASS": "good", FAILS: "bad", "FAIL": "bad"}
CSS = """
body { font-family: system-ui, sans-serif; max-width: 1150px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
h1, h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .8em 0; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; }
th { background: #f3f3f3; }
.good { color: #11692b; font-weight: bold; }
.bad { color: #b00020; font-weight: bold; }
blockquote { margin: .5em 0; padding: .3em 1em; border-left: 4px solid #bbb; color: #555; }
figure { margin: 1em 0; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #666; font-size: .9em; }
"""


def _css_class(verdict: str) -> str:
    css = VERDICT_CLASSES.get(verdict)
    return f' class="{css}"' if css else ""


def _html_table(table: Table) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in table.headers)
    body = "".join(
        "<tr>" + "".join(f"<td{_css_class(c)}>{esc(c)}</td>" for c in row) + "</tr>\n"
        for row in table.rows
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>"


def _html_image(image: Image) -> str:
    data = base64.b64encode(image.path.read_bytes()).decode("ascii")
    caption = html.escape(image.caption)
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{caption}" />'
            f"<figcaption>{caption}</figcaption></figure>")


HTML_BLOCKS = {
    "h1": lambda text: f"<h1>{html.escape(text)}</h1>",
    "h2": lambda text: f"<h2>{html.escape(text)}</h2>",
    "h3": lambda text: f"<h3>{html.escape(text)}</h3>",
    "p": lambda text: f"<p>{html.escape(text)}</p>",
    "quote": lambda text: f"<blockquote>Notebook: {html.escape(text)}</blockquote>",
    "verdict": lambda pair: (f"<p><strong>{html.escape(pair[0])}:</strong> "
                             f"<span{_css_class(pair[1])}>{html.escape(pair[1])}</span></p>"),
    "list": lambda items: "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>",
    "table": _html_table,
    "image": _html_image,
}


def render_html(blocks: list[tuple], title: str) -> str:
    """A self-contained page: inline CSS, images as data URIs, well-formed (every tag closed)."""
    title = html.escape(title)
    body = "\n".join(HTML_BLOCKS[kind](content) for kind, content in blocks)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8" />\n'
        f"<title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def _md_table(table: Table) -> str:
    lines = [table.headers, ("---",) * len(table.headers), *table.rows]
    return "\n".join("| " + " | ".join(_md_cell(c) for c in line) + " |" for line in lines)


def render_markdown(blocks: list[tuple], run_dir: Path) -> str:
    """The same report as Markdown, images referenced relative to the run folder."""
    renderers = {
        "h1": lambda text: f"# {text}",
        "h2": lambda text: f"## {text}",
        "h3": lambda text: f"### {text}",
        "p": lambda text: text,
        "quote": lambda text: f"> Notebook: {text}",
        "verdict": lambda pair: f"**{pair[0]}: {pair[1]}**",
        "list": lambda items: "\n".join(f"- {i}" for i in items),
        "table": _md_table,
        "image": lambda image: f"![{image.caption}]({image.path.relative_to(run_dir).as_posix()})",
    }
    return "\n\n".join(renderers[kind](content) for kind, content in blocks) + "\n"


def build_report(run_dir: str | Path, gates: dict | None = None) -> Path:
    """(Re)build figures, report.md and report.html of ``run_dir`` from its saved results alone.

    Models missing from the run are listed, not fatal; a folder with no result at all raises
    ResultError. ``gates`` defaults to golden/gates.json's section for the run's backend. Returns the report.html path.
    """
    run_dir = Path(run_dir)
    results = load_run(run_dir)
    rows = gate_rows(results, gates or load_gates(results))
    title = f"MNIST MLP run {run_dir.resolve().name}"
    blocks = document(title, run_dir, results, rows)
    write_text(run_dir / "report.md", render_markdown(blocks, run_dir))
    html_path = run_dir / "report.html"
    write_text(html_path, render_html(blocks, title))
    return html_path
