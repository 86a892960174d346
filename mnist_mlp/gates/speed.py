"""The speed gate: pytest-benchmark's ``--benchmark-json`` output against golden/benchmarks.json.

Milliseconds do not travel between machines; a step's time in units of its own compute floor
(the numpy matrix products of that step, timed in the same session) mostly does. So the budget
is per model on ``step / floor``, plus, where the golden file sets one, on ``step / notebook
way`` (our compiled step against ``train_on_batch``) and on one epoch of ``fit`` against 469
floors. The benchmarks in ``benchmarks/`` tag each result's ``extra_info`` with ``kind``
(``floor``, ``step``, ``notebook_way``, ``epoch``) and ``model``; other benchmarks are ignored.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from datetime import date

from mnist_mlp import golden
from mnist_mlp.gates import FAIL, MISSING, PASS, CalibrationError, Column, number


class BenchJSONError(ValueError):
    """A pytest-benchmark JSON file that is missing, unreadable or not shaped as expected."""


@dataclasses.dataclass(frozen=True)
class SpeedRow:
    """One gated line: ``median_ms / floor_ms`` against ``budget`` (and the notebook-way ratio
    against its own budget when both exist)."""

    model: str
    median_ms: float | None
    floor_ms: float | None
    budget: float
    notebook_ms: float | None = None
    vs_notebook_budget: float | None = None

    @property
    def ratio(self) -> float | None:
        return _ratio(self.median_ms, self.floor_ms)

    @property
    def vs_notebook(self) -> float | None:
        return _ratio(self.median_ms, self.notebook_ms)

    @property
    def verdict(self) -> str:
        if self.ratio is None:
            return MISSING
        over_notebook = (
            self.vs_notebook is not None
            and self.vs_notebook_budget is not None
            and self.vs_notebook > self.vs_notebook_budget
        )
        return FAIL if self.ratio > self.budget or over_notebook else PASS

    @property
    def passed(self) -> bool:
        return self.verdict == PASS


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator is not None and denominator else None


def load_bench_json(path: str | os.PathLike) -> dict:
    """Parse a ``--benchmark-json`` file; any problem is one ``BenchJSONError`` line."""
    try:
        with open(path, encoding="utf-8") as f:
            bench = json.load(f)
    except FileNotFoundError:
        raise BenchJSONError(f"{path}: no such file (run the benchmarks with --benchmark-json)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BenchJSONError(f"{path}: not a pytest-benchmark JSON file ({exc})") from None
    medians_ms(bench, source=str(path))  # validate now, so errors name the file
    return bench


def medians_ms(bench: dict, source: str = "benchmark JSON") -> dict[tuple[str, str], float]:
    """``(kind, model) -> median ms`` for every tagged benchmark in pytest-benchmark output, per
    step: a ``step`` benchmark's call runs ``extra_info["steps_per_call"]`` steps."""
    if not isinstance(bench, dict) or not isinstance(bench.get("benchmarks"), list):
        raise BenchJSONError(f"{source}: no 'benchmarks' list; not pytest-benchmark output")
    found = {}
    for entry in bench["benchmarks"]:
        info = entry.get("extra_info", {}) if isinstance(entry, dict) else None
        if not isinstance(info, dict):
            raise BenchJSONError(f"{source}: a benchmark entry is not an object with extra_info")
        if "kind" not in info:
            continue
        median = entry.get("stats", {}).get("median") if isinstance(entry.get("stats"), dict) else None
        if not isinstance(median, (int, float)) or not median > 0:
            raise BenchJSONError(f"{source}: {entry.get('name', '?')} has no positive stats.median")
        steps = info.get("steps_per_call", 1)
        if not isinstance(steps, int) or steps < 1:
            raise BenchJSONError(f"{source}: {entry.get('name', '?')} has a bad steps_per_call")
        found[info["kind"], info.get("model")] = median * 1000 / steps
    return found


def rows(bench: dict, budgets: dict) -> list[SpeedRow]:
    """One row per model in ``budgets["models"]`` (plus the epoch row); pure: no I/O."""
    found = medians_ms(bench)
    found_rows = [
        SpeedRow(
            model,
            found.get(("step", model)),
            found.get(("floor", model)),
            entry["budget_ratio"],
            found.get(("notebook_way", model)),
            entry.get("budget_ours_vs_notebook"),
        )
        for model, entry in budgets["models"].items()
    ]
    epoch = budgets.get("epoch")
    if epoch:
        floor = found.get(("floor", epoch["model"]))
        found_rows.append(
            SpeedRow(
                f"{epoch['model']}/epoch",
                found.get(("epoch", epoch["model"])),
                floor * epoch["steps"] if floor is not None else None,
                epoch["budget_ratio"],
            )
        )
    return found_rows


COLUMNS: tuple[Column, ...] = (
    ("model", -18, lambda r: r.model),
    ("median ms", 10, lambda r: number(r.median_ms, ".3f")),
    ("floor ms", 9, lambda r: number(r.floor_ms, ".3f")),
    ("ratio", 6, lambda r: number(r.ratio, ".2f")),
    ("budget", 6, lambda r: number(r.budget, ".2f")),
    ("nb-way ms", 10, lambda r: number(r.notebook_ms, ".3f")),
    ("ours/nb", 7, lambda r: number(r.vs_notebook, ".2f")),
    ("budget", 6, lambda r: number(r.vs_notebook_budget, ".2f")),
    ("gate", -7, lambda r: r.verdict),
)


def backend_of(bench: dict) -> str:
    """The Keras backend a benchmark run measured (its extra_info), else UNRECORDED_BACKEND."""
    for entry in bench["benchmarks"]:
        backend = entry.get("extra_info", {}).get("backend")
        if backend:
            return backend
    return golden.UNRECORDED_BACKEND


def section(backend: str) -> dict:
    """golden/benchmarks.json's budgets for ``backend``, else the file's default backend's."""
    return golden.backend_section(golden.load("benchmarks"), backend)


def calibrate(runs: list[dict], margin: float, notebook: dict, about: dict) -> dict:
    """One backend's golden/benchmarks.json section from several runs' JSON: each budget is the worst measured
    ratio x ``margin``, rounded up to 0.1. ``notebook`` is golden/seed_results.json, ``about`` the
    provenance fields (machine, versions, threads, why this margin), copied in as they are."""
    tables = [medians_ms(run) for run in runs]

    def measured(kind: str, over: str, model: str, steps: int = 1) -> dict:
        pairs = [(t[kind, model], t[over, model] * steps) for t in tables]
        return {f"{kind}_ms": [round(a, 4) for a, _ in pairs],
                f"{over}_ms": [round(b, 4) for _, b in pairs],
                "ratio": [round(a / b, 3) for a, b in pairs]}

    def budget(ratios: list[float]) -> float:
        return math.ceil(max(ratios) * margin * 10) / 10

    models = {}
    for model in (m for kind, m in tables[0] if kind == "step"):  # in benchmark (= model) order
        step, nb = measured("step", "floor", model), measured("step", "notebook_way", model)
        models[model] = {
            "budget_ratio": budget(step["ratio"]),
            "budget_ours_vs_notebook": budget(nb["ratio"]),
            "measured": {**step, "notebook_way_ms": nb["notebook_way_ms"],
                         "ours_vs_notebook": nb["ratio"]},
            "notebook_us_per_sample": notebook["models"].get(model, {}).get("median_us_per_sample"),
        }
    epoch_info = next(b["extra_info"] for b in runs[0]["benchmarks"]
                      if b.get("extra_info", {}).get("kind") == "epoch")
    model, steps = epoch_info["model"], epoch_info["steps"]
    epoch = measured("epoch", "floor", model, steps)
    return {
        **about,
        "calibrated": date.today().isoformat(),
        "margin": margin,
        "models": models,
        "epoch": {"model": model, "steps": steps, "budget_ratio": budget(epoch["ratio"]),
                  "measured": epoch},
    }


ABOUT = (
    "Speed budgets for `mnist-mlp bench-check`, per Keras backend: per model, the compiled "
    "training step's median time over its compute floor, and one epoch of fit over its floors. "
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


def calibrate_file(paths: list, target: os.PathLike, margin: float) -> str:
    """Rewrite ``target``'s section for the runs' backend from pytest-benchmark JSON files;
    the other backends' sections and the file's notes are kept. Returns the backend."""
    from pathlib import Path

    from mnist_mlp.files import write_json
    from mnist_mlp.results import read_json

    runs = [load_bench_json(path) for path in paths]
    backends = {backend_of(run) for run in runs}
    if len(backends) != 1:
        raise CalibrationError(f"bench-calibrate needs runs of one backend, got {sorted(backends)}")
    backend = backends.pop()
    target = Path(target)
    existing = read_json(target, "benchmarks") if target.is_file() else {
        "_about": ABOUT, "default_backend": golden.UNRECORDED_BACKEND, "backends": {}}
    try:
        section_ = calibrate(runs, margin, golden.load("seed_results"),
                             {"calibration": provenance(runs)})
    except (KeyError, StopIteration):
        raise CalibrationError(
            "bench-calibrate needs complete runs (floor, step, notebook_way and epoch of every "
            "model): pass the --benchmark-json of full 'pytest benchmarks' runs"
        ) from None
    write_json(target, golden.with_backend_section(existing, backend, section_))
    return backend
