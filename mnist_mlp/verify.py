"""The accuracy gate: a run's final test accuracies against ``golden/gates.json`` and the notebook.

``golden/gates.json`` holds, per Keras backend (seeded numbers differ by backend), a minimum test
accuracy per model and a minimum mean over the notebook's seven, calibrated from measured seeds
(``calibrate``), never from hope. A backend never calibrated uses the ``default_backend`` section.
"""

from __future__ import annotations

import dataclasses
import statistics

from mnist_mlp import golden
from mnist_mlp.models import NOTEBOOK_MODELS


@dataclasses.dataclass(frozen=True)
class GateRow:
    model: str
    ours: float
    notebook: float | None
    threshold: float

    @property
    def passed(self) -> bool:
        return self.ours >= self.threshold

    @property
    def difference(self) -> float | None:
        return None if self.notebook is None else self.ours - self.notebook


def notebook_accuracy(name: str) -> float | None:
    entry = golden.load("seed_results")["models"].get(name)
    return None if entry is None else entry["test_accuracy"]


def gates_for(backend: str) -> dict:
    """The gates calibrated on ``backend``, else those of the file's default backend."""
    return golden.backend_section(golden.load("gates"), backend)


def run_backend(results: dict[str, dict]) -> str:
    return next(iter(results.values()))["environment"].get("backend", "tensorflow")


def gate_rows(results: dict[str, dict], gates: dict | None = None) -> list[GateRow]:
    """One row per model in ``results``, plus a ``mean(7)`` row when all seven are present.

    ``gates`` defaults to the golden section for the backend the results were trained on.
    """
    gates = gates or gates_for(run_backend(results))
    rows = [
        GateRow(name, r["test_accuracy"], notebook_accuracy(name), gates["models"][name]["min_test_accuracy"])
        for name, r in results.items()
    ]
    if all(name in results for name in NOTEBOOK_MODELS):
        ours = statistics.fmean(results[n]["test_accuracy"] for n in NOTEBOOK_MODELS)
        notebook = statistics.fmean(notebook_accuracy(n) for n in NOTEBOOK_MODELS)
        rows.append(GateRow("mean(7)", ours, notebook, gates["min_mean_test_accuracy"]))
    return rows


def format_table(rows: list[GateRow]) -> str:
    def pct(value: float | None, signed: bool = False) -> str:
        if value is None:
            return "-"
        return f"{value * 100:+.2f}" if signed else f"{value * 100:.2f}"

    header = f"{'model':<18} {'ours %':>7} {'notebook %':>10} {'diff':>6} {'min %':>6}  gate"
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row.model:<18} {pct(row.ours):>7} {pct(row.notebook):>10} "
            f"{pct(row.difference, signed=True):>6} {pct(row.threshold):>6}  "
            f"{'PASS' if row.passed else 'FAIL'}"
        )
    return "\n".join(lines)


def calibrate(seed_runs: dict[int, dict[str, dict]], margin: float, mean_margin: float, env: dict) -> dict:
    """One backend's gates.json section from several seeds' results: threshold = worst seed - margin."""
    names = [n for n in next(iter(seed_runs.values()))]
    per_model = {}
    for name in names:
        accuracies = {str(seed): run[name]["test_accuracy"] for seed, run in seed_runs.items()}
        worst = min(accuracies.values())
        per_model[name] = {
            "min_test_accuracy": round(worst - margin, 4),
            "measured": accuracies,
            "notebook": notebook_accuracy(name),
        }
    means = {
        str(seed): statistics.fmean(run[n]["test_accuracy"] for n in NOTEBOOK_MODELS)
        for seed, run in seed_runs.items()
    }
    return {
        "margin": margin,
        "mean_margin": mean_margin,
        "calibrated_on": env,
        "min_mean_test_accuracy": round(min(means.values()) - mean_margin, 4),
        "measured_means": means,
        "models": per_model,
    }


def merge_gates(existing: dict | None, backend: str, section: dict) -> dict:
    """gates.json with ``backend``'s section replaced; the other backends' sections are kept."""
    gates = existing or {
        "_about": (
            "Accuracy gate, per Keras backend. Each threshold is the worst measured seed minus "
            "margin; the mean gate is the worst seed's mean over the notebook's seven minus "
            "mean_margin. Regenerate a backend's section with 'mnist-mlp calibrate RUN_DIR...' "
            "after 'mnist-mlp reproduce --seed S --out RUN_DIR' for three or more seeds."
        ),
        "default_backend": "tensorflow",
        "backends": {},
    }
    gates["backends"][backend] = section
    return gates
