"""The speed gate: pytest-benchmark's ``--benchmark-json`` output against golden/measured/benchmarks.json.

Milliseconds do not travel between machines; the fraction of the machine's measured peak that a
training step uses (MFU: the step's FLOPs per second over the best large float32 GEMM rate of
numpy and the backend, measured in the same process on the same pinned CPUs) mostly does. So
each model has a minimum MFU, plus, where the golden file sets one, a budget on ``step /
notebook way`` (our compiled step against ``train_on_batch``); a step that ran more busy threads
than its CPU set is listed (it shared its pinned cores, it used no more). The benchmarks in
``benchmarks/`` tag each result's ``extra_info``
with ``kind`` (``floor``, ``step``, ``notebook_way``, ``epoch``), ``model``, ``flops``,
``peak_flops``, ``cpus`` and ``busy_threads``; other benchmarks are ignored.
"""

from __future__ import annotations

import dataclasses
import math
import os
from datetime import date

from mnist_mlp.judging.gates import FAIL, MISSING, PASS, CalibrationError, Column, number
from mnist_mlp.measuring import benchjson
from mnist_mlp.notebook import golden


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator is not None and denominator else None


def load_bench_json(path: str | os.PathLike) -> dict:
    """Parse a ``--benchmark-json`` file (``mnist_mlp.measuring.benchjson``); problems are one line."""
    return benchjson.load(path)


def medians_ms(bench: dict, source: str = "benchmark JSON") -> dict[tuple[str, str], float]:
    """``(kind, model) -> median ms per step`` for every tagged benchmark."""
    return {key: b.median_ms for key, b in benchjson.benchmarks(bench, source).items()}


def backend_of(bench: dict) -> str:
    """The Keras backend a benchmark run measured (its tagged benchmarks' extra_info, validated
    text), else UNRECORDED_BACKEND; BenchJSONError when its benchmarks name more than one."""
    recorded = {b.extra_info.get("backend") for b in benchjson.benchmarks(bench).values()} - {None, ""}
    if len(recorded) > 1:
        raise benchjson.BenchJSONError(
            f"the file mixes backends {sorted(recorded)}: one benchmark run measures one backend; "
            "judge each backend's own file")
    return recorded.pop() if recorded else golden.UNRECORDED_BACKEND


def section(backend: str) -> dict:
    """golden/measured/benchmarks.json's budgets for ``backend``, else the file's default backend's."""
    return golden.backend_section(golden.load("benchmarks"), backend)


@dataclasses.dataclass(frozen=True)
class SpeedRow:
    """One gated line: MFU against ``min_mfu`` and ours/notebook-way against its budget; the
    step's busy threads beyond its CPU set are shown (``too_many_threads``), not failed: the
    pinned set bounds the hardware, a second busy thread only shares it."""

    model: str
    step_ms: float | None
    floor_ms: float | None
    mfu: float | None
    min_mfu: float
    notebook_ms: float | None = None
    vs_notebook_budget: float | None = None
    busy_threads: int | None = None
    cpus: int | None = None

    @property
    def vs_notebook(self) -> float | None:
        return _ratio(self.step_ms, self.notebook_ms)

    @property
    def too_many_threads(self) -> bool:
        return None not in (self.busy_threads, self.cpus) and self.busy_threads > self.cpus

    @property
    def verdict(self) -> str:
        if self.mfu is None:
            return MISSING
        over_notebook = (self.vs_notebook is not None and self.vs_notebook_budget is not None
                         and self.vs_notebook > self.vs_notebook_budget)
        return FAIL if self.mfu < self.min_mfu or over_notebook else PASS

    @property
    def passed(self) -> bool:
        return self.verdict == PASS


def step_measures(bench: dict) -> dict[tuple[str, str], dict]:
    """``(kind, model) -> {step_ms, floor_ms, mfu, busy_threads, cpus}`` for every tagged
    benchmark; step and epoch entries (time per step) carry MFU and floor when they recorded
    ``flops`` and ``peak_flops``."""
    found = {}
    for key, benchmark in benchjson.benchmarks(bench).items():  # validated: finite, in range
        info, cpus = benchmark.extra_info, benchmark.extra_info.get("cpus")
        found[key] = {"step_ms": benchmark.step_ms, "floor_ms": info.get("floor_ms"),
                      "mfu": benchmark.measured_mfu, "busy_threads": info.get("busy_threads"),
                      "cpus": len(cpus) if isinstance(cpus, list) else None}
    return found


def thread_flags(bench: dict) -> list[str]:
    """One line per benchmark whose busy threads exceed its CPU set."""
    return [f"{entry.get('name', '?')}: {info['busy_threads']} busy threads on cpus {info['cpus']}"
            for entry in bench["benchmarks"]
            for info in [entry.get("extra_info", {})]
            if isinstance(info.get("cpus"), list) and isinstance(info.get("busy_threads"), int)
            and info["busy_threads"] > len(info["cpus"])]


# What a run records (extra_info) and a calibration keeps, and that changes MFU if it differs;
# and the backend's own package (the run's backend names it: tensorflow, jax or torch).
CONDITIONS = ("backend", "keras", "cpu", "threads")


def condition_changes(bench: dict, budgets: dict) -> list[str]:
    """``"name calibrated -> this run"`` for each recorded condition of the run's first step
    benchmark that differs from the budgets' calibration (told, not failed: MFU is meant to
    travel between machines and versions, and an upgrade is what the gate is for)."""
    calibration = budgets.get("calibration", {})
    info = next((e["extra_info"] for e in bench["benchmarks"]
                 if e.get("extra_info", {}).get("kind") == "step"), {})
    names = (*CONDITIONS, info.get("backend"))
    return [f"{name} {calibration[name]} -> {info[name]}" for name in names
            if name in calibration and name in info and calibration[name] != info[name]]


def rows(bench: dict, budgets: dict) -> list[SpeedRow]:
    """One row per model in ``budgets["models"]`` (plus the epoch row); pure: no I/O."""
    found = step_measures(bench)

    rows = []
    for model, entry in budgets["models"].items():
        step = found.get(("step", model), {})
        notebook = found.get(("notebook_way", model), {})
        rows.append(SpeedRow(model, step.get("step_ms"), step.get("floor_ms"), step.get("mfu"),
                           entry["min_mfu"], notebook.get("step_ms"),
                           entry.get("budget_ours_vs_notebook"), step.get("busy_threads"),
                           step.get("cpus")))
    epoch = budgets.get("epoch")
    if epoch:
        measured = found.get(("epoch", epoch["model"]), {})
        rows.append(SpeedRow(f"{epoch['model']}/epoch", measured.get("step_ms"),
                           measured.get("floor_ms"), measured.get("mfu"), epoch["min_mfu"]))
    return rows


COLUMNS: tuple[Column, ...] = (
    ("model", -18, lambda r: r.model),
    ("step ms", 9, lambda r: number(r.step_ms, ".3f")),
    ("floor ms", 9, lambda r: number(r.floor_ms, ".3f")),
    ("MFU", 6, lambda r: number(r.mfu, ".3f")),
    ("min", 6, lambda r: number(r.min_mfu, ".3f")),
    ("ours/nb", 7, lambda r: number(r.vs_notebook, ".2f")),
    ("budget", 6, lambda r: number(r.vs_notebook_budget, ".2f")),
    ("busy/cpus", 9, lambda r: "-" if r.busy_threads is None else f"{r.busy_threads}/{r.cpus}"),
    ("gate", -7, lambda r: r.verdict),
)


MARGIN = 2.0  # minimum MFU = the worst calibration run's MFU / MARGIN (docs/performance.md)


def calibrate(runs: list[dict], margin: float, about: dict) -> dict:
    """One backend's section of golden/measured/benchmarks.json from several runs' JSON: each minimum MFU
    is the worst measured MFU / ``margin``, rounded down to 0.001; ours/notebook budgets are the
    worst ratio x ``margin``, rounded up to 0.1. ``about`` (machine, versions, cpus, why this
    margin, whether provisional) is copied in as it is."""
    tables = [step_measures(run) for run in runs]

    def floor3(value: float) -> float:
        return math.floor(value * 1000) / 1000

    models = {}
    for model in (m for kind, m in tables[0] if kind == "step"):
        steps = [t["step", model] for t in tables]
        mfus = [s["mfu"] for s in steps]
        vs_nb = [s["step_ms"] / t["notebook_way", model]["step_ms"] for s, t in zip(steps, tables)
                 if ("notebook_way", model) in t]
        models[model] = {
            "min_mfu": floor3(min(mfus) / margin),
            **({"budget_ours_vs_notebook": math.ceil(max(vs_nb) * margin * 10) / 10}
               if vs_nb else {}),
            "measured": {"mfu": [round(m, 4) for m in mfus],
                         "step_ms": [round(s["step_ms"], 4) for s in steps],
                         "floor_ms": [round(s["floor_ms"], 4) for s in steps],
                         "ours_vs_notebook": [round(v, 3) for v in vs_nb]},
        }
    section = {**about, "gate": "mfu", "calibrated": date.today().isoformat(), "margin": margin,
               "runs": len(runs), "models": models}
    epochs = [(t.get(k), k[1]) for t in tables for k in t if k[0] == "epoch"]
    if epochs and all(e for e, _ in epochs):
        steps = next(b["extra_info"]["steps"] for b in runs[0]["benchmarks"]
                     if b.get("extra_info", {}).get("kind") == "epoch")
        section["epoch"] = {"model": epochs[0][1], "steps": steps,
                            "min_mfu": floor3(min(e["mfu"] for e, _ in epochs) / margin),
                            "measured": {"mfu": [round(e["mfu"], 4) for e, _ in epochs]}}
    return section


ABOUT = (
    "Speed budgets for `mnist-mlp bench-check`, per Keras backend: per model, the minimum MFU "
    "of the compiled training step (and of one epoch of fit), and ours / the notebook's way. "
    "Regenerate a backend's section with 'mnist-mlp bench-calibrate BENCH_JSON...' from several "
    "'pytest benchmarks --benchmark-json' runs."
)
PROVENANCE = ("python", "keras", "tensorflow", "jax", "torch", "numpy", "backend", "cpu",
              "cpu_count", "threads", "openblas_coretype")


def provenance(runs: list[dict]) -> dict:
    """The ``calibration`` record of a section: how many runs, and the software, machine and
    thread counts the first run's benchmarks recorded in ``extra_info``."""
    info = next((b["extra_info"] for b in runs[0]["benchmarks"] if b.get("extra_info", {}).get("kind")),
                {})
    return {"runs": len(runs), "command": "mnist-mlp bench-calibrate",
            **{key: info[key] for key in PROVENANCE if info.get(key) is not None}}


def calibrate_file(paths: list, target: os.PathLike, margin: float,
                   provisional: str | None = None) -> str:
    """Rewrite ``target``'s section for the runs' backend from pytest-benchmark JSON files;
    the other backends' sections and the file's notes are kept. Returns the backend."""
    from pathlib import Path

    from mnist_mlp.files import write_json
    from mnist_mlp.training.results import read_json

    runs = [load_bench_json(path) for path in paths]
    backends = {backend_of(run) for run in runs}
    if len(backends) != 1:
        raise CalibrationError(f"bench-calibrate needs runs of one backend, got {sorted(backends)}")
    backend = backends.pop()
    target = Path(target)
    existing = read_json(target, "benchmarks") if target.is_file() else {
        "_about": ABOUT, "default_backend": golden.UNRECORDED_BACKEND, "backends": {}}
    try:
        about = {"calibration": provenance(runs), **({"provisional": provisional} if provisional else {})}
        section_ = calibrate(runs, margin, about)
    except (KeyError, StopIteration, TypeError):
        raise CalibrationError(
            "bench-calibrate needs complete runs (step and notebook_way of every model, with MFU): "
            "pass the --benchmark-json of full 'pytest benchmarks' runs"
        ) from None
    write_json(target, golden.with_backend_section(existing, backend, section_))
    return backend
