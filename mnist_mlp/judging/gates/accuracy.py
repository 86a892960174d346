"""The accuracy gate: a run's test accuracies against ``golden/measured/gates.json`` and the notebook.

``golden/measured/gates.json`` holds, per Keras backend and major, a minimum per model and a minimum mean
over the notebook's seven, calibrated from measured seeds (``calibrate``), never from hope. A
stack never calibrated uses its backend's section, else the ``default_backend`` one.

What is gated is the section's ``statistic``: the mean test accuracy of the last
``last_epochs`` epochs (the recipe has no learning-rate decay, so the final epoch alone jitters
from epoch to epoch; the mean of the last few is the same training at a fraction of the seed
noise). A section without one (calibrated before) gates the final test accuracy. Several seeds
are judged by their mean against the prediction bound for that many new runs, so the drop a
gate detects shrinks about as 1/sqrt(seeds). The table shows the final accuracy beside the
notebook's published one.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

from mnist_mlp.errors import MALFORMED
from mnist_mlp.judging import stats
from mnist_mlp.judging.gates import FAIL, PASS, CalibrationError, Column, number
from mnist_mlp.notebook import golden
from mnist_mlp.notebook.models import NOTEBOOK_MODELS, names
from mnist_mlp.notebook.recipe import DEFAULT_RECIPE
from mnist_mlp.training.results import KERAS_DRAWS, RunResult, load_run, read_json

MEAN_ROW = "mean(7)"
GATE_SEED = DEFAULT_RECIPE.seed  # the seed the gate judges (tox -e accuracy); never a calibration seed
ALPHA = 0.001  # false-alarm rate per gated model
POWER = 0.9  # the probability at which each gate's detectable drop is stated
MIN_CALIBRATION_SEEDS = 5
SEED_COUNTS = (1, 2, 4, 8)  # the seed counts whose detectable drop calibrate states
LAST_EPOCHS = 10  # the statistic calibrate writes: chosen by measurement (docs/accuracy-gate.md)
STATISTIC = {"statistic": {"last_epochs": LAST_EPOCHS}}  # as a gates section declares it
# What must match for measurements of two calibrations to be pooled: the software that computes
# the training (the backend's own package by name, e.g. "jax" for JAX).
SAME_STACK = ("python", "keras", "backend", "numpy")
ABOUT = (
    "Accuracy gate, per Keras backend and major ('tensorflow-keras2' for Keras 2). A section with "
    "'statistic' gates the mean test accuracy of its last 'last_epochs' epochs and was trained "
    "with 'draws' (numpy-v1: the project drew the initial weights and every epoch's batch order "
    "from the seed, mnist_mlp.notebook.draws); a section without them gates the final test accuracy of "
    "runs whose backend drew them (older calibrations). Each threshold (min_test_accuracy: the "
    "minimum of the section's statistic) is the one-sided prediction bound "
    "mean - t(1-alpha, n-1) * sd * sqrt(1/k + 1/n) over n calibration seeds (never the gated "
    "seed) for the mean of k gated seeds, stored for k = 1, so a new seed falls below it by "
    "chance with probability alpha if nothing changed (normal theory). Thresholds are rounded "
    "down to 0.01 points. detects_drop is the drop in a model's mean that one gated seed catches "
    "with probability power: (mean - threshold) + z(power) * sd; detects_drop_by_seeds the same "
    "for k seeds judged by their mean. final_sd and measured_final are the final epoch's test "
    "accuracy of the same seeds, for comparison. The mean(7) gate is the same bound over the "
    "seeds' means of the notebook's seven. Add seeds with 'mnist-mlp reproduce --seeds S... --out "
    "DIR' then 'mnist-mlp calibrate DIR/seed-*': measurements already in this file from the same "
    "software stack, draws and statistic are kept and pooled."
)


@dataclasses.dataclass(frozen=True)
class AccuracyRow:
    """One model's (or the mean's) gated statistic against its minimum, and its final test
    accuracy against the notebook's (``final`` None: the statistic is the final accuracy)."""

    model: str
    ours: float
    notebook: float | None
    threshold: float
    final: float | None = None
    seeds: int = 1

    @property
    def passed(self) -> bool:
        return self.ours >= self.threshold

    @property
    def verdict(self) -> str:
        return PASS if self.passed else FAIL

    @property
    def final_accuracy(self) -> float:
        return self.ours if self.final is None else self.final

    @property
    def difference(self) -> float | None:
        return None if self.notebook is None else self.final_accuracy - self.notebook


def _percent(value: float | None) -> str:
    return number(None if value is None else value * 100, ".2f")


COLUMNS: tuple[Column, ...] = (
    ("model", -18, lambda r: r.model),
    ("final %", 7, lambda r: _percent(r.final_accuracy)),
    ("notebook %", 10, lambda r: _percent(r.notebook)),
    ("diff", 6, lambda r: number(None if r.difference is None else r.difference * 100, "+.2f")),
    ("gated %", 7, lambda r: _percent(r.ours)),
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


def section(backend: str, keras: str | None = None, draws: str | None = None) -> dict:
    """The gates calibrated on this backend and Keras major, else the backend's, else those of
    the file's default backend; with ``draws``, the first of those calibrated on runs of that
    draws scheme (a seed of another scheme is another run), and where none was, the first that
    exists."""
    gates = golden.load("gates")
    sections = gates["backends"]
    candidates = [sections.get(section_name(backend, keras)), sections.get(backend),
                  sections[gates["default_backend"]]]
    if draws is not None:
        matching = [s for s in candidates if s and s.get("draws", KERAS_DRAWS) == draws]
        if matching:
            return matching[0]
    return next(s for s in candidates if s)


def section_of(result: RunResult) -> dict:
    """The gates that judge ``result``: those of the stack it was trained on, calibrated on runs
    drawn as it was."""
    return section(result.backend, result.environment.get("keras"), result.draws)


def last_epochs(gates: Mapping) -> int | None:
    """How many final epochs the section's statistic averages (None: the final accuracy)."""
    return (gates.get("statistic") or {}).get("last_epochs")


def describe_statistic(gates: Mapping) -> str:
    k = last_epochs(gates)
    return "the final test accuracy" if not k else f"the mean test accuracy of the last {k} epochs"


def gated_value(result: RunResult, gates: Mapping) -> float:
    """The statistic ``gates`` judges: the mean of the last ``last_epochs`` epochs' test
    accuracy (all of them in a shorter run), or the final test accuracy."""
    k = last_epochs(gates)
    if not k or not result.epochs:
        return result.test_accuracy
    # Exact (rational) mean, rounded once: epochs that all sit at a threshold reach it.
    return float(statistics.mean(result.metric("val_accuracy")[-k:]))


def threshold(entry: Mapping, gates: Mapping, seeds: int, minimum_key: str = "min_test_accuracy",
              measured: Sequence[float] | None = None) -> float:
    """The minimum for the mean of ``seeds`` gated seeds: the stored one-seed minimum, or the
    prediction bound for that many new runs over the calibration measurements."""
    if seeds == 1 or not measured:
        return entry[minimum_key]
    bound_k = stats.prediction_lower_bound(measured, gates.get("alpha", ALPHA), seeds)
    return math.floor(bound_k * 1e4) / 1e4


def rows(results: Mapping[str, RunResult], gates: dict | None = None) -> list[AccuracyRow]:
    """One row per model in ``results`` (one run folder), plus ``mean(7)`` when all seven are
    present. ``gates`` defaults to the golden section of the stack the results were trained on."""
    return seed_rows([results], gates)


def seed_rows(runs: Sequence[Mapping[str, RunResult]], gates: dict | None = None) -> list[AccuracyRow]:
    """The rows for several seeds' runs of the same models: each row is their mean, judged
    against the bound for that many seeds."""
    first = runs[0]
    if any(set(run) != set(first) for run in runs):
        raise CalibrationError("a multi-seed verdict needs the same models in every run folder")
    gates = gates or section_of(next(iter(first.values())))
    k = len(runs)
    has_statistic = last_epochs(gates) is not None
    found = []
    for name in first:
        entry = gates["models"][name]
        found.append(AccuracyRow(
            name, statistics.fmean(gated_value(run[name], gates) for run in runs),
            notebook_accuracy(name),
            threshold(entry, gates, k, measured=list(entry.get("measured", {}).values())),
            final=statistics.fmean(run[name].test_accuracy for run in runs) if has_statistic else None,
            seeds=k))
    if all(name in first for name in NOTEBOOK_MODELS):
        ours = statistics.fmean(gated_value(run[n], gates) for run in runs for n in NOTEBOOK_MODELS)
        final = statistics.fmean(run[n].test_accuracy for run in runs for n in NOTEBOOK_MODELS)
        notebook = statistics.fmean(notebook_accuracy(n) for n in NOTEBOOK_MODELS)
        minimum = threshold(gates, gates, k, "min_mean_test_accuracy",
                            list(gates.get("measured_means", {}).values()))
        found.append(AccuracyRow(MEAN_ROW, ours, notebook, minimum,
                                 final=final if has_statistic else None, seeds=k))
    return found


def bound(measured: Mapping[str, float], alpha: float = ALPHA) -> dict:
    """A gate entry from per-seed values: the one-seed threshold, its basis, and the drop it
    detects judging 1 seed and each of ``SEED_COUNTS`` seeds."""
    values = list(measured.values())

    def minimum(seeds: int) -> float:
        return math.floor(stats.prediction_lower_bound(values, alpha, seeds) * 1e4) / 1e4

    return {
        "min_test_accuracy": minimum(1),
        "mean": statistics.fmean(values),
        "sd": statistics.stdev(values),
        "detects_drop": stats.detectable_drop(values, minimum(1), POWER),
        "detects_drop_by_seeds": {str(k): stats.detectable_drop(values, minimum(k), POWER, k)
                                  for k in SEED_COUNTS},
        "measured": dict(measured),
    }


def _pooled(existing: dict | None, env: Mapping, design: Mapping,
            key: str = "measured") -> dict[str, dict[str, float]]:
    """``model -> seed -> value`` already in ``existing`` (its ``key`` measurements) for the same
    software stack, draws and statistic."""
    keys = (*SAME_STACK, env.get("backend"))
    if (not existing or any(existing.get("calibrated_on", {}).get(k) != env.get(k) for k in keys)
            or any(existing.get(k) != v for k, v in design.items())):
        return {}
    return {name: {seed: value for seed, value in entry.get(key, {}).items() if seed != str(GATE_SEED)}
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
    short = sorted({f"{r.model} seed {seed}" for seed, run in seed_runs.items() for r in run.values()
                    if len(r.epochs) < LAST_EPOCHS})
    if short:
        raise CalibrationError(f"calibrate needs runs of at least {LAST_EPOCHS} epochs (the gate "
                               f"averages the last {LAST_EPOCHS}); too short: {', '.join(short[:3])}")
    draws = {r.draws for run in seed_runs.values() for r in run.values()}
    if len(draws) != 1:
        raise CalibrationError(f"calibrate needs runs of one draws scheme, got {sorted(draws)}")
    design = {**STATISTIC, "draws": draws.pop()}
    measured = _pooled(existing, env, design)
    finals = _pooled(existing, env, design, "measured_final")
    for seed, run in seed_runs.items():
        for name, result in run.items():
            measured.setdefault(name, {})[str(seed)] = gated_value(result, design)
            finals.setdefault(name, {})[str(seed)] = result.test_accuracy
    seeds = sorted({s for per_seed in measured.values() for s in per_seed}, key=int)
    if len(seeds) < MIN_CALIBRATION_SEEDS or any(set(m) != set(seeds) for m in measured.values()):
        raise CalibrationError(
            f"calibrate needs every model measured on the same {MIN_CALIBRATION_SEEDS}+ seeds, "
            f"got seeds {seeds}; train more with 'mnist-mlp reproduce --seeds S...'")
    models = {name: {**bound(per_seed, alpha), "notebook": notebook_accuracy(name),
                     "final_sd": statistics.stdev(finals[name].values()),
                     "measured_final": finals[name]}
              for name, per_seed in measured.items()}
    means = {seed: statistics.fmean(measured[n][seed] for n in NOTEBOOK_MODELS) for seed in seeds}
    mean_gate = bound(means, alpha)
    return {
        "method": "prediction bound",
        **design,
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


def calibrate_file(run_dirs: Sequence[str | Path], target: Path,
                   alpha: float = ALPHA) -> tuple[str, list[int]]:
    """Rewrite ``target``'s section for the runs' stack (``section_name``) from ``run_dirs`` (pooled with that
    section's measurements from the same stack); return the section and the seeds used."""
    from mnist_mlp.files import write_json

    runs = seed_runs(run_dirs)
    first = next(iter(runs.values()))
    name = stack_section(first)
    existing = read_json(target, "gates") if target.is_file() else None
    try:  # the existing file's sections are read here (its measurements pool with the new ones)
        current = (existing or {}).get("backends", {}).get(name)
        new = calibrate(runs, next(iter(first.values())).environment, current, alpha)
        merged = merge_gates(existing, name, new)
    except CalibrationError:  # the runs' fault, named as such, not the file's
        raise
    except MALFORMED as exc:
        why = " ".join(str(exc).split())[:80]
        raise CalibrationError(f"{target}: malformed gates file ({type(exc).__name__}: {why}); "
                               "fix it or write to a new --write") from None
    write_json(target, merged)
    return name, new["calibration_seeds"]
