"""The upgrade question side by side: run folders of several envs (Python x TensorFlow/Keras x
backend) merged into one table of models x envs, with deltas against a reference env.

An env's run folder holds ``seed-<S>/<model>/result.json`` for each seed it trained (``reproduce
--seeds``), or ``<model>/result.json`` for a single seed, and optionally ``benchmarks.json``
(``pytest benchmarks --benchmark-json``). Accuracies are each stack's gated statistic. Accuracy
deltas are paired over the seeds both envs trained when the project drew both (a seed is then
the same run: equal values on every seed read "identical"), else Welch's t-test over seeds; speed
deltas are ``abcompare.compare_one`` over the timed rounds, the rule of ``bench-compare`` for two
unpaired runs (Hodges-Lehmann ratio, one-sided Mann-Whitney U, SLOWER only at the threshold).
"""

from __future__ import annotations

import dataclasses
import statistics
from pathlib import Path

import numpy as np

from mnist_mlp.judging import abcompare, stats
from mnist_mlp.measuring import benchjson
from mnist_mlp.training.results import (
    KERAS_DRAWS,
    ResultError,
    RunResult,
    folder_seed,
    load_run,
    recipe_difference,
)

BENCHMARKS_FILE = "benchmarks.json"
# Recipe fields that may differ between the envs of one matrix: the seed is what varies, and the
# speed knobs (some backends do not have them) change no result.


class MatrixError(ResultError):
    """Run folders that cannot be merged into one matrix; the message names the folder and fix."""


@dataclasses.dataclass(frozen=True)
class StepTimes:
    """One model's benchmarked training step in one env."""

    median_ms: float
    rounds_ms: tuple[float, ...]  # every timed round, for the significance test
    mfu: float | None


@dataclasses.dataclass(frozen=True)
class EnvRun:
    """Everything one env's run folder holds."""

    name: str
    seeds: dict[int, dict[str, RunResult]]
    steps: dict[str, StepTimes]
    # model -> (its configuration as trained, or None when damaged; the golden drift lines)
    configs: dict[str, tuple[dict | None, list[str]]] = dataclasses.field(default_factory=dict)

    @property
    def environment(self) -> dict:
        first = next(iter(self.seeds.values()))
        return next(iter(first.values())).environment

    def by_seed(self, model: str, statistic: dict | None = None) -> dict[int, float]:
        """Per seed, ``statistic`` (a gates section's, ``gates.accuracy.gated_value``); by
        default the one its stack's accuracy gate judges."""
        from mnist_mlp.judging.gates import accuracy

        return {seed: accuracy.gated_value(run[model], statistic if statistic is not None
                                           else accuracy.section_of(run[model]))
                for seed, run in self.seeds.items() if model in run}

    def statistic(self, model: str) -> dict:
        """The statistic this env's accuracy gate judges ``model`` by (``{}``: the final one)."""
        from mnist_mlp.judging.gates import accuracy

        result = next(run[model] for run in self.seeds.values() if model in run)
        return {"statistic": accuracy.section_of(result).get("statistic")}

    def accuracies(self, model: str) -> list[float]:
        return list(self.by_seed(model).values())

    def owns_draws(self, model: str) -> bool:
        """Whether every seed of ``model`` was drawn by the project (a seed is then the same run
        in every env that owns its draws)."""
        return all(run[model].draws != KERAS_DRAWS for run in self.seeds.values() if model in run)

    def models(self) -> list[str]:
        return [name for name in next(iter(self.seeds.values()))]


def run_folders(folder: Path) -> list[Path]:
    """The run folders of ``folder``: its ``seed-S/`` folders in seed order, else itself."""
    if not Path(folder).is_dir():
        raise MatrixError(f"{folder}: no such run folder; pass the --out folder of a reproduce run")
    seed_dirs = sorted((seed, p) for p in Path(folder).iterdir()
                       if p.is_dir() and (seed := folder_seed(p)) is not None)
    return [path for _, path in seed_dirs] or [Path(folder)]


def _by_seed(runs: list[dict[str, RunResult]]) -> dict[int, dict[str, RunResult]]:
    return {next(iter(run.values())).seed: run for run in runs}


def seed_runs(folder: Path) -> dict[int, dict[str, RunResult]]:
    """``seed -> run`` of a folder of ``seed-S/`` run folders, or of one run folder."""
    return _by_seed([load_run(path) for path in run_folders(folder)])


def saved_configs(folders: list[Path], runs: list[dict[str, RunResult]]) -> dict[str, tuple]:
    """Per model, ``trained_config.saved_drift`` of the first run folder that saved a description
    beside its finished result."""
    from mnist_mlp.judging import trained_config

    found: dict[str, tuple] = {}
    for path, run in zip(folders, runs):
        for model, result in run.items():
            if model not in found and (saved := trained_config.saved_drift(path / model, result)):
                found[model] = saved
    return found


def load_steps(path: Path) -> dict[str, StepTimes]:
    """The ``kind == "step"`` benchmarks of a pytest-benchmark JSON, per model, each with its
    timed rounds (the speed delta tests them, as bench-compare does)."""
    steps = {model: StepTimes(b.median_ms, b.rounds_ms, b.mfu)
             for (kind, model), b in benchjson.benchmarks(benchjson.load(path), str(path)).items()
             if kind == "step"}
    for model, step in steps.items():
        if not step.rounds_ms:
            raise benchjson.BenchJSONError(
                f"{path}: the step of {model} has no per-round stats.data (the speed delta tests "
                f"every round); {benchjson.RERUN}")
    return steps


def load_env_run(folder: str | Path) -> EnvRun:
    folder = Path(folder)
    if not folder.is_dir():
        raise MatrixError(f"{folder}: no such run folder; pass folders written by 'tox -m matrix'")
    bench = folder / BENCHMARKS_FILE
    folders = run_folders(folder)
    runs = [load_run(path) for path in folders]  # each one run of its folder's seed
    return EnvRun(folder.name, _by_seed(runs), load_steps(bench) if bench.is_file() else {},
                  saved_configs(folders, runs))


def config_drift(env: EnvRun, reference: EnvRun) -> list[str]:
    """Per model, each field of the configuration as trained that differs from the reference env's
    ("model: path: expected A, got B") and from the notebook's golden one ("model (golden): ...")."""
    from mnist_mlp.judging import trained_config

    lines = []
    for model, (config, golden_lines) in env.configs.items():
        if config is None:  # a damaged file: its one line
            lines += [f"{model}: {line}" for line in golden_lines]
            continue
        lines += [f"{model} (golden): {line}" for line in golden_lines]
        theirs = reference.configs.get(model, (None, []))[0]
        if env.name != reference.name and theirs is not None:
            lines += [f"{model}: {line}" for line in trained_config.diff(theirs, config)]
    return lines


def check_same_recipe(envs: list[EnvRun]) -> None:
    """Every env trained the same recipe (seeds aside); else a MatrixError naming both."""
    named = ((env.name, result) for env in envs for run in env.seeds.values() for result in run.values())
    if problem := recipe_difference(named):
        raise MatrixError(problem)


def speed_difference(reference: StepTimes, candidate: StepTimes) -> abcompare.Comparison:
    """The candidate env's step against the reference's by the A/B's rule for unpaired runs
    (envs run one after the other: their rounds are not paired)."""
    return abcompare.compare_one(("step", ""), np.asarray(reference.rounds_ms) / 1e3,
                                 np.asarray(candidate.rounds_ms) / 1e3)


@dataclasses.dataclass(frozen=True)
class Cell:
    """One model in one env: accuracy over seeds, its gate verdict, and its step time."""

    accuracies: tuple[float, ...]
    gate: float | None
    step: StepTimes | None
    accuracy_delta: stats.Difference | None = None
    speed_delta: abcompare.Comparison | None = None

    @property
    def mean(self) -> float:
        return statistics.fmean(self.accuracies)

    @property
    def spread(self) -> float | None:
        return statistics.stdev(self.accuracies) if len(self.accuracies) > 1 else None

    @property
    def passed(self) -> bool | None:
        return None if self.gate is None else min(self.accuracies) >= self.gate


@dataclasses.dataclass(frozen=True)
class Matrix:
    envs: list[str]
    models: list[str]
    reference: str
    cells: dict[tuple[str, str], Cell]  # (model, env)
    environments: dict[str, dict]
    drift: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # env -> config_drift


def golden_gate(result: RunResult) -> float | None:
    """A result's threshold in golden/measured/gates.json (its stack's section), if it has one."""
    from mnist_mlp.judging.gates import accuracy

    entry = accuracy.section_of(result)["models"].get(result.model)
    return None if entry is None else entry["min_test_accuracy"]


def build_matrix(envs: list[EnvRun], reference: str | None, gate_for) -> Matrix:
    """Cells for every model x env; ``gate_for(result) -> float | None`` gives a model's threshold."""
    if not envs:
        raise MatrixError("no run folders given; pass one folder per env")
    names = [env.name for env in envs]
    if len(set(names)) != len(names):
        raise MatrixError(f"two run folders share a name ({', '.join(names)}); "
                          "an env's folder names its column")
    reference = reference or names[0]
    if reference not in names:
        shown = reference if reference.isprintable() else repr(reference)  # one line
        raise MatrixError(f"--reference {shown} is not one of the envs: {', '.join(names)}")
    check_same_recipe(envs)
    by_name = {env.name: env for env in envs}
    models = [m for m in by_name[reference].models()]
    models += [m for env in envs for m in env.models() if m not in models]
    cells = {}
    for env in envs:
        for model in models:
            accuracies = env.accuracies(model)
            if not accuracies:
                continue
            any_result = next(run[model] for run in env.seeds.values() if model in run)
            cell = Cell(tuple(accuracies), gate_for(any_result), env.steps.get(model))
            ref = by_name[reference]
            if env.name != reference and ref.accuracies(model):
                speed = None
                if cell.step and model in ref.steps:
                    speed = speed_difference(ref.steps[model], cell.step)
                # Both sides by one statistic: the gates' own where they agree, else the final one.
                same = ref.statistic(model) if ref.statistic(model) == env.statistic(model) else {}
                ref_values, env_values = ref.by_seed(model, same), env.by_seed(model, same)
                paired = env.owns_draws(model) and ref.owns_draws(model) and bool(
                    set(ref_values) & set(env_values))
                cell = dataclasses.replace(
                    cell,
                    accuracy_delta=(stats.paired_difference(ref_values, env_values) if paired
                                    else stats.welch_difference(list(ref_values.values()),
                                                                list(env_values.values()))),
                    speed_delta=speed,
                )
            cells[(model, env.name)] = cell
    return Matrix(names, models, reference, cells, {env.name: env.environment for env in envs},
                  {env.name: config_drift(env, by_name[reference]) for env in envs})
