"""A run folder's report: figures, the accuracy gate and the notebook's observations, checked.

``build_report(run_dir)`` reads the saved ``<run>/<model>/result.json`` files (and ``model.keras``
for the weight figures), never retrains, and writes ``<run>/figures/*.png``, ``report.md``
(images by relative path) and ``report.html`` (self-contained: images as data URIs, inline CSS).

The report is assembled once as a list of blocks (heading, paragraph, table, image...) and
rendered twice, so the HTML and the Markdown can never say different things. The notebook's three
observations are checked by pure functions over a results dict (``observations``), which also
run on the notebook's own published numbers (``notebook_results``) for comparison; they live
in ``mnist_mlp.observations``.

``mnist_mlp.plots`` (matplotlib, seaborn) is imported inside the functions that draw, so that
reading a run's numbers does not pay for the plotting libraries.
"""

from __future__ import annotations

import base64
import dataclasses
import html
from datetime import datetime, timezone
from pathlib import Path

from mnist_mlp.files import write_text
from mnist_mlp.models import NOTEBOOK_MODELS, get_spec, names
from mnist_mlp.observations import (
    FAILS,
    HOLDS,
    NOTEBOOK_MEANT,
    WEIGHT_PLOT_NOTE,
    Table,
    notebook_results,
    notebook_weight_picks,
    observations,
    percent,
)
from mnist_mlp.results import ResultError, load_run
from mnist_mlp.verify import gate_rows, gates_for, run_backend

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
            (r.model, percent(r.ours), "-" if r.notebook is None else percent(r.notebook),
             "-" if r.difference is None else f"{r.difference * 100:+.2f} pt",
             percent(r.threshold), "PASS" if r.passed else "FAIL")
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
