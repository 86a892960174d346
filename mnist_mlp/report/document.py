"""The report as a list of blocks, in reading order: a pure function of the results, the gate
rows and the figures already drawn (no I/O), rendered by ``html`` and ``markdown`` alike, so the
two can never say different things."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from mnist_mlp.judging.gates import FAIL, PASS
from mnist_mlp.measuring.efficiency import result_flops
from mnist_mlp.notebook.models import NOTEBOOK_MODELS, get_spec, names
from mnist_mlp.report.blocks import (
    Block,
    BulletList,
    Drawn,
    Figure,
    Heading,
    Paragraph,
    Quote,
    Table,
    Verdict,
)
from mnist_mlp.report.observations import (
    NOTEBOOK_MEANT,
    WEIGHT_PLOT_NOTE,
    notebook_results,
    notebook_weight_picks,
    observations,
    percent,
)
from mnist_mlp.training.results import RunResult

Results = Mapping[str, RunResult]


def _merged(fields_of: Mapping[str, Mapping]) -> list[tuple[str, str]]:
    """``(field, value)`` rows over all models' mappings; a field whose value differs between
    models lists each value with its models, so a mixed run cannot hide."""
    fields = list(dict.fromkeys(f for mapping in fields_of.values() for f in mapping))
    rows = []
    for field in fields:
        by_value: dict[str, list[str]] = {}
        for name, mapping in fields_of.items():
            by_value.setdefault(str(mapping.get(field, "-")), []).append(name)
        text = "; ".join(
            value if len(by_value) == 1 else f"{value} ({', '.join(models)})"
            for value, models in by_value.items()
        )
        rows.append((field, text))
    return rows


def _span(values: list[str]) -> str:
    """``first to last`` of sortable texts (ISO timestamps), or the one value they all share."""
    first, last = min(values), max(values)
    return first if first == last else f"{first} to {last}"


def _environment_blocks(results: Results) -> list[Block]:
    total = sum(r.train_seconds for r in results.values())
    work = sum(map(result_flops, results.values()))
    recipes = {name: r.recipe.as_dict() for name, r in results.items()}
    rows = [
        *_merged({name: r.environment for name, r in results.items()}),
        *((f"recipe.{field}", value) for field, value in _merged(recipes)),
        ("total training time", f"{total / 60:.1f} min"),
        ("matrix products", (f"{work / 1e12:.2f} TFLOP, {work / max(total, 1e-9) / 1e9:.0f} GFLOP/s over "
                             "the training time (reproduce prints the floor and writes efficiency.json)")),
        ("finished", _span([r.finished for r in results.values()])),
    ]
    return [Heading(2, "Environment and recipe"), Table(("field", "value"), tuple(rows))]


def _gate_blocks(rows, statistic: str) -> list[Block]:
    table = Table(
        ("model", "final", "notebook", "difference", "gated statistic", "gate minimum", "gate"),
        tuple(
            (r.model, percent(r.final_accuracy), "-" if r.notebook is None else percent(r.notebook),
             "-" if r.difference is None else f"{r.difference * 100:+.2f} pt",
             percent(r.ours), percent(r.threshold), r.verdict)
            for r in rows
        ),
    )
    return [
        Heading(2, "Accuracy gate"),
        Paragraph(
            f"The gate judges {statistic} against the minimum in golden/measured/gates.json; the final test "
            "accuracy stands beside the notebook's published Test accuracy (the same table "
            "'mnist-mlp verify' prints)."
        ),
        table,
    ]


def _model_blocks(results: Results) -> list[Block]:
    rows = tuple(
        (name, get_spec(name).layer_summary, f"{r.params['total']:,}", str(len(r.epochs)),
         f"{r.train_seconds:.0f} s", f"{r.step_ms:.1f} ms")
        for name, r in results.items()
    )
    headers = ("model", "layers", "parameters", "epochs", "training time", "step (median)")
    return [Heading(2, "Models"), Table(headers, rows)]


def _observation_blocks(results: Results) -> list[Block]:
    blocks: list[Block] = [
        Heading(2, "The notebook's observations, checked against this run"),
        Paragraph(
            "Each claim from the notebook's closing 'Observations' is turned into a test on this "
            "run's numbers, then run on the notebook's own published numbers for comparison "
            "(the transcript cuts some of those val_acc values to 2 or 3 decimals)."
        ),
    ]
    published = observations(notebook_results())
    for obs, theirs in zip(observations(results), published):
        blocks += [
            Heading(3, obs.claim.name),
            Quote(obs.claim.text),
            Paragraph(f"Test: {obs.claim.test}"),
            Verdict("Verdict on this run", obs.verdict),
            Paragraph(obs.evidence),
        ]
        blocks += [obs.table] if obs.table else []
        blocks.append(Paragraph(f"On the notebook's own numbers: {theirs.verdict}. {theirs.evidence}"))
    return blocks


def _picks_blocks(name: str) -> list[Block]:
    """A sentence on what the notebook's weight_plot really showed, where it is not what it says."""
    picks = notebook_weight_picks(name)
    if name not in NOTEBOOK_MODELS or tuple(real for _, real in picks) == NOTEBOOK_MEANT:
        return []
    said = ", ".join(f"'{label}' = {real}" for label, real in picks)
    return [Paragraph(f"The notebook's weight_plot for this model shows {said}.")]


def _per_model_blocks(results: Results, drawn: Drawn) -> list[Block]:
    """Loss and weight figures of each model, with the notebook section and notes."""
    reference = notebook_results()
    blocks: list[Block] = [Heading(2, "Per model: loss and weights"), Paragraph(WEIGHT_PLOT_NOTE)]
    for name in results:
        spec = get_spec(name)
        blocks += [Heading(3, f"{name}: {spec.layer_summary}"), Paragraph(spec.section)]
        blocks += [Paragraph(spec.note)] if spec.note else []
        dashed = " (dashed: the notebook's validation loss)" if name in reference else ""
        blocks.append(Figure(drawn.loss[name], f"{name}: loss per epoch{dashed}"))
        weights = drawn.weights[name]
        blocks.append(Paragraph(weights) if isinstance(weights, str)
                      else Figure(weights, f"{name}: Dense kernels after training"))
        blocks += _picks_blocks(name)
    return blocks


def _config_blocks(drift: Mapping[str, list[str]]) -> list[Block]:
    """Where each model's configuration as trained departs from golden/notebook/trained_config.json."""
    if not drift:
        return []
    lines = tuple(f"{name}: {line}" for name, found in drift.items() for line in found)
    return [Heading(2, "Configuration as trained"),
            Paragraph("Every field Keras reports for the model, optimizer, compile, Keras settings "
                      "and fit, against golden/notebook/trained_config.json: "
                      + (f"{len(lines)} difference{'s' if len(lines) > 1 else ''}." if lines else
                         f"identical for {', '.join(drift)}.")),
            *([BulletList(lines)] if lines else [])]


def document(title: str, run_dir: Path, results: Results, rows, drawn: Drawn,
             built: datetime, statistic: str = "the final test accuracy",
             drift: Mapping[str, list[str]] | None = None) -> list[Block]:
    """Every block of the report, in reading order; ``statistic`` names what the gate judged,
    ``drift`` each model's departures from its golden configuration (saved runs only)."""
    missing = [n for n in names() if n not in results]
    failed = [r.model for r in rows if not r.passed]
    blocks: list[Block] = [
        Heading(1, title),
        Paragraph(
            f"Built {built:%Y-%m-%d %H:%M} UTC from the saved results in "
            f"{run_dir} (nothing retrained). Models in this run: {', '.join(results)}."
        ),
        Verdict("Accuracy gate", FAIL if failed else PASS),
    ]
    if failed:
        blocks.append(Paragraph(f"Below the gate minimum: {', '.join(failed)}."))
    if missing:
        blocks += [Paragraph("Not in this run:"), BulletList(tuple(missing))]
    overview = [
        Figure(drawn.test_accuracy, "The gated statistic of this run, the notebook's final test accuracy "
               "and the gate minimum"),
        Figure(drawn.val_accuracy, "Validation accuracy per epoch, all models"),
    ]
    return (
        blocks + _gate_blocks(rows, statistic) + overview + _observation_blocks(results)
        + _per_model_blocks(results, drawn) + _model_blocks(results) + _config_blocks(drift or {})
        + _environment_blocks(results)
    )
