"""The accuracy gate: a run's final test accuracies against ``golden/gates.json`` and the notebook.

``golden/gates.json`` holds, per Keras backend (seeded numbers differ by backend), a minimum test
accuracy per model and a minimum mean over the notebook's seven, calibrated from measured seeds
(``calibrate``), never from hope. A backend never calibrated uses the ``default_backend`` section.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

from mnist_mlp import golden
from mnist_mlp.gates import FAIL, PASS, CalibrationError, Column, number
from mnist_mlp.models import NOTEBOOK_MODELS, names
from mnist_mlp.results import RunResult, load_run, read_json, run_backend

MEAN_ROW = "mean(7)"
ABOUT = (
    "Accuracy gate, per Keras backend. Each threshold is the worst measured seed minus "
    "margin; the mean gate is the worst seed's mean over the notebook's seven minus "
    "mean_margin. Regenerate a backend's section with 'mnist-mlp calibrate RUN_DIR...' "
    "after 'mnist-mlp reproduce --seed S --out RUN_DIR' for three or more seeds."
)


@dataclasses.dataclass(frozen=True)
class AccuracyRow:
    """One model's (or the mean's) test accuracy against its gate minimum and the notebook."""

    model: str
    ours: float
    notebook: float | None
    threshold: float

    @property
    def passed(self) -> bool:
        return self.ours >= self.threshold

    @property
    def verdict(self) -> str:
        return PASS if self.passed else FAIL

    @property
    def difference(self) -> float | None:
        return None if self.notebook is None else self.ours - self.notebook


def _percent(value: float | None) -> str:
    return number(None if value is None else value * 100, ".2f")


COLUMNS: tuple[Column, ...] = (
    ("model", -18, lambda r: r.model),
    ("ours %", 7, lambda r: _percent(r.ours)),
    ("notebook %", 10, lambda r: _percent(r.notebook)),
    ("diff", 6, lambda r: number(None if r.difference is None else r.difference * 100, "+.2f")),
    ("min %", 6, lambda r: _percent(r.threshold)),
    ("", 0, lambda r: ""),  # two spaces before the verdict
    ("gate", -4, lambda r: r.verdict),
)


def notebook_accuracy(name: str) -> float | None:
    entry = golden.load("seed_results")["models"].get(name)
    return None if entry is None else entry["test_accuracy"]


def section(backend: str) -> dict:
    """The gates calibrated on ``backend``, else those of the file's default backend."""
    return golden.backend_section(golden.load("gates"), backend)


def rows(results: Mapping[str, RunResult], gates: dict | None = None) -> list[AccuracyRow]:
    """One row per model in ``results``, plus a ``mean(7)`` row when all seven are present.

    ``gates`` defaults to the golden section for the backend the results were trained on.
    """
    gates = gates or section(run_backend(results))
    found = [
        AccuracyRow(name, r.test_accuracy, notebook_accuracy(name),
                    gates["models"][name]["min_test_accuracy"])
        for name, r in results.items()
    ]
    if all(name in results for name in NOTEBOOK_MODELS):
        ours = statistics.fmean(results[n].test_accuracy for n in NOTEBOOK_MODELS)
        notebook = statistics.fmean(notebook_accuracy(n) for n in NOTEBOOK_MODELS)
        found.append(AccuracyRow(MEAN_ROW, ours, notebook, gates["min_mean_test_accuracy"]))
    return found


def calibrate(seed_runs: Mapping[int, Mapping[str, RunResult]], margin: float, mean_margin: float,
              env: Mapping) -> dict:
    """One backend's gates.json section from several seeds' results: threshold = worst seed - margin."""
    per_model = {}
    for name in next(iter(seed_runs.values())):
        accuracies = {str(seed): run[name].test_accuracy for seed, run in seed_runs.items()}
        worst = min(accuracies.values())
        per_model[name] = {
            "min_test_accuracy": round(worst - margin, 4),
            "measured": accuracies,
            "notebook": notebook_accuracy(name),
        }
    means = {
        str(seed): statistics.fmean(run[n].test_accuracy for n in NOTEBOOK_MODELS)
        for seed, run in seed_runs.items()
    }
    return {
        "margin": margin,
        "mean_margin": mean_margin,
        "calibrated_on": dict(env),
        "min_mean_test_accuracy": round(min(means.values()) - mean_margin, 4),
        "measured_means": means,
        "models": per_model,
    }


def merge_gates(existing: dict | None, backend: str, new_section: dict) -> dict:
    """gates.json with ``backend``'s section replaced; the other backends' sections are kept."""
    skeleton = {"_about": ABOUT, "default_backend": golden.UNRECORDED_BACKEND, "backends": {}}
    return golden.with_backend_section(existing or skeleton, backend, new_section)


def seed_runs(run_dirs: Sequence[str | Path]) -> dict[int, dict[str, RunResult]]:
    """``seed -> run`` for run folders that each hold every model trained with one seed, all on
    one backend; anything else is a CalibrationError naming the folder."""
    runs = {}
    for run_dir in run_dirs:
        run = load_run(run_dir)
        seeds = {r.seed for r in run.values()}
        if len(seeds) != 1 or set(run) != set(names()):
            raise CalibrationError(f"{run_dir}: calibrate needs one seed and all models per run folder")
        runs[seeds.pop()] = run
    backends = {run_backend(run) for run in runs.values()}
    if len(backends) != 1:
        raise CalibrationError(f"calibrate needs runs of one backend, got {sorted(backends)}")
    return runs


def calibrate_file(run_dirs: Sequence[str | Path], target: Path, margin: float,
                   mean_margin: float) -> tuple[str, list[int]]:
    """Rewrite ``target``'s section for the runs' backend from ``run_dirs``; return the backend
    and the seeds used."""
    from mnist_mlp.files import write_json

    runs = seed_runs(run_dirs)
    first = next(iter(runs.values()))
    backend = run_backend(first)
    existing = read_json(target, "gates") if target.is_file() else None
    new = calibrate(runs, margin, mean_margin, next(iter(first.values())).environment)
    write_json(target, merge_gates(existing, backend, new))
    return backend, sorted(runs)
