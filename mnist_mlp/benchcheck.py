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

PASS, FAIL, MISSING = "PASS", "FAIL", "MISSING"


class BenchJSONError(ValueError):
    """A pytest-benchmark JSON file that is missing, unreadable or not shaped as expected."""


@dataclasses.dataclass(frozen=True)
class BenchRow:
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
    def status(self) -> str:
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
        return self.status == PASS


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


def check(bench: dict, budgets: dict) -> list[BenchRow]:
    """One row per model in ``budgets["models"]`` (plus the epoch row); pure: no I/O."""
    found = medians_ms(bench)
    rows = [
        BenchRow(
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
        rows.append(
            BenchRow(
                f"{epoch['model']}/epoch",
                found.get(("epoch", epoch["model"])),
                floor * epoch["steps"] if floor is not None else None,
                epoch["budget_ratio"],
            )
        )
    return rows


def _num(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


# (header, width, cell): header and rows come from one spec, so their widths cannot drift apart.
COLUMNS = (
    ("model", -18, lambda r: r.model),
    ("median ms", 10, lambda r: _num(r.median_ms, ".3f")),
    ("floor ms", 9, lambda r: _num(r.floor_ms, ".3f")),
    ("ratio", 6, lambda r: _num(r.ratio, ".2f")),
    ("budget", 6, lambda r: _num(r.budget, ".2f")),
    ("nb-way ms", 10, lambda r: _num(r.notebook_ms, ".3f")),
    ("ours/nb", 7, lambda r: _num(r.vs_notebook, ".2f")),
    ("budget", 6, lambda r: _num(r.vs_notebook_budget, ".2f")),
    ("gate", -7, lambda r: r.status),
)


def backend_of(bench: dict) -> str:
    """The Keras backend a benchmark run measured (its extra_info), tensorflow if unrecorded."""
    for entry in bench["benchmarks"]:
        backend = entry.get("extra_info", {}).get("backend")
        if backend:
            return backend
    return "tensorflow"


def budgets_for(budgets_file: dict, backend: str) -> dict:
    """One backend's budgets; a backend never calibrated is held to the default backend's."""
    return golden.backend_section(budgets_file, backend)


def format_table(rows: list[BenchRow]) -> str:
    def line(cells) -> str:
        return " ".join(format(cell, f"<{-width}" if width < 0 else f">{width}")
                        for cell, (_, width, _) in zip(cells, COLUMNS)).rstrip()

    header = line(title for title, _, _ in COLUMNS)
    return "\n".join([header, "-" * len(header), *(line(cell(row) for *_, cell in COLUMNS)
                                                    for row in rows)])


def calibrate(runs: list[dict], margin: float, notebook: dict, about: dict) -> dict:
    """golden/benchmarks.json content from several runs' JSON: each budget is the worst measured
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


# =============================================================================================
# MFU gate: each step's FLOPs per second over the peak measured in its own process (the
# benchmarks record ``flops`` and ``peak_flops`` in the step's and epoch's extra_info), against
# a per-model minimum; and the CPU check: a step with more busy threads than CPUs fails, any
# other benchmark with more is listed (fit's input pipeline is a thread of its own).


@dataclasses.dataclass(frozen=True)
class MfuRow:
    """One gated line: MFU against ``min_mfu``, ours/notebook-way against its budget, and the
    step's busy-thread count against its CPU set."""

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
    def status(self) -> str:
        if self.mfu is None:
            return MISSING
        over_notebook = (self.vs_notebook is not None and self.vs_notebook_budget is not None
                         and self.vs_notebook > self.vs_notebook_budget)
        return FAIL if self.mfu < self.min_mfu or over_notebook or self.too_many_threads else PASS

    @property
    def passed(self) -> bool:
        return self.status == PASS


def step_measures(bench: dict) -> dict[tuple[str, str], dict]:
    """``(kind, model) -> {step_ms, floor_ms, mfu, busy_threads, cpus}`` for every tagged
    benchmark; step and epoch entries (time per step) carry MFU and floor when they recorded
    ``flops`` and ``peak_flops``."""
    per_step = medians_ms(bench)
    found = {}
    for entry in bench["benchmarks"]:
        info = entry.get("extra_info", {})
        if "kind" not in info:
            continue
        key = (info["kind"], info.get("model"))
        ms = per_step[key] / (info.get("steps", 1) if info["kind"] == "epoch" else 1)
        flops, peak = info.get("flops"), info.get("peak_flops")
        cpus = info.get("cpus")
        found[key] = {"step_ms": ms, "floor_ms": info.get("floor_ms"),
                      "mfu": flops / (ms / 1e3) / peak if flops and peak else None,
                      "busy_threads": info.get("busy_threads"),
                      "cpus": len(cpus) if isinstance(cpus, list) else None}
    return found


def thread_flags(bench: dict) -> list[str]:
    """One line per benchmark whose busy threads exceed its CPU set."""
    return [f"{entry.get('name', '?')}: {info['busy_threads']} busy threads on cpus {info['cpus']}"
            for entry in bench["benchmarks"]
            for info in [entry.get("extra_info", {})]
            if isinstance(info.get("cpus"), list) and isinstance(info.get("busy_threads"), int)
            and info["busy_threads"] > len(info["cpus"])]


def check_mfu(bench: dict, budgets: dict) -> list[MfuRow]:
    """One row per model in ``budgets["models"]`` (plus the epoch row); pure: no I/O."""
    found = step_measures(bench)

    rows = []
    for model, entry in budgets["models"].items():
        step = found.get(("step", model), {})
        notebook = found.get(("notebook_way", model), {})
        rows.append(MfuRow(model, step.get("step_ms"), step.get("floor_ms"), step.get("mfu"),
                           entry["min_mfu"], notebook.get("step_ms"),
                           entry.get("budget_ours_vs_notebook"), step.get("busy_threads"),
                           step.get("cpus")))
    epoch = budgets.get("epoch")
    if epoch:
        measured = found.get(("epoch", epoch["model"]), {})
        rows.append(MfuRow(f"{epoch['model']}/epoch", measured.get("step_ms"),
                           measured.get("floor_ms"), measured.get("mfu"), epoch["min_mfu"]))
    return rows


MFU_COLUMNS = (
    ("model", -18, lambda r: r.model),
    ("step ms", 9, lambda r: _num(r.step_ms, ".3f")),
    ("floor ms", 9, lambda r: _num(r.floor_ms, ".3f")),
    ("MFU", 6, lambda r: _num(r.mfu, ".3f")),
    ("min", 6, lambda r: _num(r.min_mfu, ".3f")),
    ("ours/nb", 7, lambda r: _num(r.vs_notebook, ".2f")),
    ("budget", 6, lambda r: _num(r.vs_notebook_budget, ".2f")),
    ("busy/cpus", 9, lambda r: "-" if r.busy_threads is None else f"{r.busy_threads}/{r.cpus}"),
    ("gate", -7, lambda r: r.status),
)


def format_mfu_table(rows: list[MfuRow]) -> str:
    def line(cells) -> str:
        return " ".join(format(cell, f"<{-width}" if width < 0 else f">{width}")
                        for cell, (_, width, _) in zip(cells, MFU_COLUMNS)).rstrip()

    header = line(title for title, _, _ in MFU_COLUMNS)
    return "\n".join([header, "-" * len(header),
                      *(line(cell(row) for *_, cell in MFU_COLUMNS) for row in rows)])


def calibrate_mfu(runs: list[dict], margin: float, about: dict) -> dict:
    """One backend's section of golden/benchmarks.json from several runs' JSON: each minimum MFU
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
