"""Generated results for docs/: the accuracy gate's calibration tables, rendered from
``golden/measured/gates.json`` as Markdown (pure Python and json; no Keras).

    python -m mnist_mlp.report.docs_tables            # rewrite docs/results/accuracy-gates.md
    python -m mnist_mlp.report.docs_tables --check    # exit 1 when the file is not what gates.json gives

Fields are read with ``.get``: a field the file lacks prints as "-", and optional section keys
(``statistic``, ``method``, ``calibrated_on``, ...) are shown when present.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from mnist_mlp.notebook import golden

# Relative to the repository root, where the command runs (an installed wheel has no docs/).
OUT = Path("docs") / "results" / "accuracy-gates.md"
MEAN_ROW = "mean(7)"


def _pct(value) -> str:
    """An accuracy fraction as percent with two decimals; '-' when missing."""
    return "-" if not isinstance(value, (int, float)) else f"{value * 100:.2f}"


def _points(value) -> str:
    """A difference of accuracy fractions in percentage points; '-' when missing."""
    return "-" if not isinstance(value, (int, float)) else f"{value * 100:.2f}"


def _seeds(keys) -> str:
    """Seeds as compact ranges: [1, 2, 3, 5] -> '1-3, 5'."""
    try:
        seeds = sorted({int(k) for k in keys})
    except (TypeError, ValueError):
        return ", ".join(str(k) for k in keys) or "-"
    if not seeds:
        return "-"
    parts, start, prev = [], seeds[0], seeds[0]
    for seed in seeds[1:] + [None]:
        if seed is not None and seed == prev + 1:
            prev = seed
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if seed is not None:
            start = prev = seed
    return ", ".join(parts)


def _spread(measured: dict) -> tuple[float | None, float | None]:
    """Mean and sample sd of a ``{seed: accuracy}`` mapping (None where it cannot be computed)."""
    values = [v for v in (measured or {}).values() if isinstance(v, (int, float))]
    mean = statistics.fmean(values) if values else None
    sd = statistics.stdev(values) if len(values) > 1 else None
    return mean, sd


MORE_SEEDS = ("4", "8")  # the seed counts whose detectable drop the table shows beside one seed's


def _row(name: str, seeds: str, mean, sd, gate, drop, final_sd=None, by_seeds=None) -> str:
    more = " | ".join(_points((by_seeds or {}).get(k)) for k in MORE_SEEDS)
    return (f"| {name} | {seeds} | {_pct(mean)} | {_points(sd)} | {_points(final_sd)} | {_pct(gate)} "
            f"| {_points(drop)} | {more} |")


def _calibrated_on(stack: dict) -> str:
    parts = [f"{key} {stack[key]}" for key in
             ("python", "keras", "backend", "tensorflow", "jax", "torch", "numpy", "cpu")
             if stack.get(key) not in (None, "")]
    if stack.get("cpu_count"):
        parts.append(f"{stack['cpu_count']} cores")
    return ", ".join(parts)


def render_section(name: str, section: dict) -> list[str]:
    lines = [f"## `{name}`", ""]
    statistic = section.get("statistic")
    if statistic is not None:
        if isinstance(statistic, dict) and isinstance(statistic.get("last_epochs"), int):
            shown = f"the mean test accuracy of the last {statistic['last_epochs']} epochs"
        else:
            shown = statistic if isinstance(statistic, str) else json.dumps(statistic, sort_keys=True)
        lines += [f"Statistic: {shown}", ""]
    facts = []
    if section.get("method"):
        facts.append(f"method: {section['method']}")
    if section.get("alpha") is not None:
        facts.append(f"alpha {section['alpha']} per gate")
    if isinstance(section.get("familywise_false_alarm"), (int, float)):
        facts.append(f"false alarm per gated run {section['familywise_false_alarm']:.1%}")
    if section.get("power") is not None:
        facts.append(f"power {section['power']}")
    if section.get("gate_seed") is not None:
        facts.append(f"gated seed {section['gate_seed']}")
    if facts:
        text = "; ".join(facts)
        lines += [text[0].upper() + text[1:] + ".", ""]
    if isinstance(section.get("calibrated_on"), dict) and section["calibrated_on"]:
        lines += [f"Calibrated on: {_calibrated_on(section['calibrated_on'])}.", ""]
    default_seeds = section.get("calibration_seeds") or []
    if section.get("draws"):
        lines += [f"Draws: {section['draws']} (the project drew the initial weights and batch order).", ""]
    lines += [("| model | calibration seeds | mean % | sd (points) | final-epoch sd (points) "
              "| min (gate) % | detects drop, 1 seed (points) | 4 seeds | 8 seeds |"),
              "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for model, entry in (section.get("models") or {}).items():
        entry = entry or {}
        measured = entry.get("measured") or {}
        mean, sd = _spread(measured)
        lines.append(_row(model, _seeds(measured.keys() or default_seeds),
                          entry.get("mean", mean), entry.get("sd", sd),
                          entry.get("min_test_accuracy"), entry.get("detects_drop"),
                          entry.get("final_sd"), entry.get("detects_drop_by_seeds")))
    means = section.get("measured_means") or {}
    mean, sd = _spread(means)
    if means or section.get("min_mean_test_accuracy") is not None:
        lines.append(_row(MEAN_ROW, _seeds(means.keys() or default_seeds),
                          section.get("mean_mean", mean), section.get("mean_sd", sd),
                          section.get("min_mean_test_accuracy"), section.get("mean_detects_drop")))
    lines += ["", (f"min_mean_test_accuracy (the mean of the notebook's seven): "
                  f"{_pct(section.get('min_mean_test_accuracy'))} %; detects a drop of "
                  f"{_points(section.get('mean_detects_drop'))} points."), ""]
    return lines


def render(gates: dict) -> str:
    """The Markdown page for a parsed gates.json."""
    lines = [
        "# Accuracy gates: the calibration in golden/measured/gates.json",
        "",
        ("Generated from `golden/measured/gates.json` by `python -m mnist_mlp.report.docs_tables`; do not "
        "edit by hand (`tests/test_docs.py` fails when the two disagree). What the columns mean: "
        "[../accuracy-gate.md](../accuracy-gate.md). Percentages are test accuracy; *min (gate)* "
        "is the threshold a gated run must reach; *detects drop* is the drop in a model's mean "
        "that one gated seed (or the mean of 4 or 8) catches with the stated power; *sd* is the "
        "seed-to-seed sd of the gated statistic, *final-epoch sd* that of the final epoch's test "
        "accuracy over the same seeds (sections that gate the final epoch show '-')."),
        "",
    ]
    if gates.get("default_backend"):
        default = gates["default_backend"]
        lines += [f"A backend without a section of its own is held to `{default}`.", ""]
    for name, section in (gates.get("backends") or {}).items():
        lines += render_section(name, section or {})
    return "\n".join(lines).rstrip("\n") + "\n"


def render_file(path: Path | None = None) -> str:
    """Render ``path`` (default: the golden gates.json)."""
    path = path or golden.path("gates")
    return render(json.loads(Path(path).read_text("utf-8")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gates", type=Path, help="gates.json to render (default: golden/)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when --out differs from the rendering")
    args = parser.parse_args(argv)
    text = render_file(args.gates)
    if args.check:
        current = args.out.read_text("utf-8") if args.out.exists() else None
        if current != text:
            print(f"docs_tables: {args.out} is stale; run python -m mnist_mlp.report.docs_tables",
                  file=sys.stderr)
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, "utf-8")
    print(f"docs_tables: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
