"""The accuracy gate: a run's final test accuracies against ``golden/gates.json`` and the notebook.

``golden/gates.json`` holds, per Keras backend (seeded numbers differ by backend), a minimum test
accuracy per model and a minimum mean over the notebook's seven, calibrated from measured seeds
(``calibrate``), never from hope. Keras 2 gets a section of its own (``tensorflow-keras2``): its
seed-to-seed spread differs from Keras 3's. A stack never calibrated uses its backend's section,
else the ``default_backend`` one.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

from mnist_mlp import golden, stats
from mnist_mlp.gates import FAIL, PASS, CalibrationError, Column, number
from mnist_mlp.models import NOTEBOOK_MODELS, names
from mnist_mlp.recipe import NOTEBOOK
from mnist_mlp.results import RunResult, load_run, read_json

MEAN_ROW = "mean(7)"
GATE_SEED = NOTEBOOK.seed  # the seed the gate judges (tox -e accuracy); never a calibration seed
ALPHA = 0.001  # false-alarm rate per gated model
POWER = 0.9  # the probability at which each gate's detectable drop is stated
MIN_CALIBRATION_SEEDS = 5
# What must match for measurements of two calibrations to be pooled: the software that computes
# the training (the backend's own package by name, e.g. "jax" for JAX).
SAME_STACK = ("python", "keras", "backend", "numpy")
ABOUT = (
    "Accuracy gate, per Keras backend; Keras 2 (TensorFlow only) has its own section, "
    "'tensorflow-keras2': it reshuffles the training set every epoch while seeded Keras 3 on "
    "TensorFlow repeats one order, so their seed-to-seed spreads differ. Each threshold is the one-sided prediction bound "
    "mean - t(1-alpha, n-1) * sd * sqrt(1 + 1/n) over n calibration seeds (never the gated "
    "seed), so a new seed falls below it by chance with probability alpha if nothing changed "
    "(normal theory; final-epoch accuracies of the BatchNormalization models are skewed, so "
    "treat their rate as approximate). Thresholds are rounded down to 0.01 points. "
    "detects_drop is the drop in a model's mean accuracy that one gated seed catches with "
    "probability power: (mean - threshold) + z(power) * sd. The mean(7) gate is the same bound "
    "over the seeds' means of the notebook's seven. Add seeds with 'mnist-mlp reproduce --seeds "
    "S... --out DIR' then 'mnist-mlp calibrate DIR/seed-*': measurements already in this file "
    "from the same software stack are kept and pooled."
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


def section_name(backend: str, keras: str | None = None) -> str:
    """The gates.json section that judges a stack: its backend, with ``-keras2`` for Keras 2."""
    major = (keras or "3").split(".")[0]
    return backend if major == "3" else f"{backend}-keras{major}"


def section(backend: str, keras: str | None = None) -> dict:
    """The gates calibrated on this backend and Keras major, else the backend's, else those of
    the file's default backend."""
    gates = golden.load("gates")
    return gates["backends"].get(section_name(backend, keras)) or golden.backend_section(gates, backend)


def section_of(result: RunResult) -> dict:
    """The gates that judge ``result``: those of the stack it was trained on."""
    return section(result.backend, result.environment.get("keras"))


def rows(results: Mapping[str, RunResult], gates: dict | None = None) -> list[AccuracyRow]:
    """One row per model in ``results``, plus a ``mean(7)`` row when all seven are present.

    ``gates`` defaults to the golden section for the stack the results were trained on.
    """
    gates = gates or section_of(next(iter(results.values())))
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


def bound(measured: Mapping[str, float], alpha: float = ALPHA) -> dict:
    """A gate entry from per-seed accuracies: threshold, its basis and the drop it detects."""
    values = list(measured.values())
    threshold = math.floor(stats.prediction_lower_bound(values, alpha) * 1e4) / 1e4
    return {
        "min_test_accuracy": threshold,
        "mean": statistics.fmean(values),
        "sd": statistics.stdev(values),
        "detects_drop": stats.detectable_drop(values, threshold, POWER),
        "measured": dict(measured),
    }


def _pooled(existing: dict | None, env: Mapping) -> dict[str, dict[str, float]]:
    """``model -> seed -> accuracy`` already in ``existing`` for the same software stack."""
    keys = (*SAME_STACK, env.get("backend"))
    if not existing or any(existing.get("calibrated_on", {}).get(k) != env.get(k) for k in keys):
        return {}
    return {name: {seed: value for seed, value in entry["measured"].items() if seed != str(GATE_SEED)}
            for name, entry in existing["models"].items()}


def calibrate(seed_runs: Mapping[int, Mapping[str, RunResult]], env: Mapping,
              existing: dict | None = None, alpha: float = ALPHA) -> dict:
    """One backend's gates.json section from the seeds' results, pooled with the measurements
    of ``existing`` (that backend's current section) when it was calibrated on the same stack."""
    if not 0 < alpha < 0.5:
        raise CalibrationError(f"--alpha must be between 0 and 0.5, got {alpha}")
    if GATE_SEED in seed_runs:
        raise CalibrationError(
            f"seed {GATE_SEED} is the seed the gate judges; calibrate on other seeds "
            "(a gate calibrated on the seed it gates passes by construction)")
    measured = _pooled(existing, env)
    for seed, run in seed_runs.items():
        for name, result in run.items():
            measured.setdefault(name, {})[str(seed)] = result.test_accuracy
    seeds = sorted({s for per_seed in measured.values() for s in per_seed}, key=int)
    if len(seeds) < MIN_CALIBRATION_SEEDS or any(set(m) != set(seeds) for m in measured.values()):
        raise CalibrationError(
            f"calibrate needs every model measured on the same {MIN_CALIBRATION_SEEDS}+ seeds, "
            f"got seeds {seeds}; train more with 'mnist-mlp reproduce --seeds S...'")
    models = {name: {**bound(per_seed, alpha), "notebook": notebook_accuracy(name)}
              for name, per_seed in measured.items()}
    means = {seed: statistics.fmean(measured[n][seed] for n in NOTEBOOK_MODELS) for seed in seeds}
    mean_gate = bound(means, alpha)
    return {
        "method": "prediction bound",
        "alpha": alpha,
        "familywise_false_alarm": stats.familywise_rate(alpha, len(models) + 1),
        "power": POWER,
        "gate_seed": GATE_SEED,
        "calibration_seeds": [int(s) for s in seeds],
        # The stack, not where one task ran: pool workers record their own cores.
        "calibrated_on": {key: value for key, value in env.items() if key != "cpus"},
        "min_mean_test_accuracy": mean_gate["min_test_accuracy"],
        "mean_detects_drop": mean_gate["detects_drop"],
        "measured_means": means,
        "models": models,
    }


def merge_gates(existing: dict | None, backend: str, new_section: dict) -> dict:
    """gates.json with ``backend``'s section replaced; the other backends' sections are kept."""
    skeleton = {"default_backend": golden.UNRECORDED_BACKEND, "backends": {}}
    # The description always matches the method that wrote the file.
    return {**golden.with_backend_section(existing or skeleton, backend, new_section), "_about": ABOUT}


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
    stacks = {stack_section(run) for run in runs.values()}
    if len(stacks) != 1:
        raise CalibrationError(
            f"calibrate needs runs of one backend and Keras major, got {sorted(stacks)}")
    return runs


def stack_section(run: Mapping[str, RunResult]) -> str:
    """The section name of the stack a run folder was trained on."""
    first = next(iter(run.values()))
    return section_name(first.backend, first.environment.get("keras"))


def calibrate_file(run_dirs: Sequence[str | Path], target: Path, alpha: float = ALPHA) -> tuple[str, list[int]]:
    """Rewrite ``target``'s section for the runs' stack (``section_name``) from ``run_dirs`` (pooled with that
    section's measurements from the same stack); return the section and the seeds used."""
    from mnist_mlp.files import write_json

    runs = seed_runs(run_dirs)
    first = next(iter(runs.values()))
    name = stack_section(first)
    existing = read_json(target, "gates") if target.is_file() else None
    current = (existing or {}).get("backends", {}).get(name)
    new = calibrate(runs, next(iter(first.values())).environment, current, alpha)
    write_json(target, merge_gates(existing, name, new))
    return name, new["calibration_seeds"]
