"""The one reader of pytest-benchmark JSON (``pytest benchmarks --benchmark-json``).

Every benchmark this project writes is tagged in ``extra_info``: ``kind`` (``step``,
``notebook_way``, ...), ``model``, ``steps_per_call`` (a timed call runs that many training steps),
and optionally ``mfu`` and ``ab_paired`` (written by ``benchmarks/ab.py``). Untagged benchmarks are
ignored. Times are per step: a call's median and per-round times divided by ``steps_per_call``,
here and nowhere else. The speed gate, the A/B and the matrix all read through ``load`` and
``benchmarks``; any malformed file is one ``BenchJSONError`` line naming it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping
from typing import Any

from mnist_mlp.errors import MALFORMED, MnistMlpError


class BenchJSONError(MnistMlpError, ValueError):
    """A benchmark JSON file that is missing or not pytest-benchmark output we can read."""


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """One tagged benchmark, per training step."""

    kind: str
    model: str | None
    median_ms: float
    rounds_ms: tuple[float, ...]  # every timed round (empty when the file kept none)
    extra_info: Mapping[str, Any]

    @property
    def mfu(self) -> float | None:
        return self.extra_info.get("mfu")

    @property
    def paired(self) -> bool:
        """Timed round by round beside another build (benchmarks/ab.py)."""
        return bool(self.extra_info.get("ab_paired"))


def load(path: str | os.PathLike) -> dict:
    """Parse and validate a ``--benchmark-json`` file."""
    try:
        with open(path, encoding="utf-8") as f:
            bench = json.load(f)
    except FileNotFoundError:
        raise BenchJSONError(f"{path}: no such file (run the benchmarks with --benchmark-json)") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BenchJSONError(f"{path}: not a pytest-benchmark JSON file ({exc})") from None
    benchmarks(bench, source=str(path))  # validate now, so errors name the file
    return bench


# extra_info fields read as text (the speed gate's conditions, the matrix's stack), as numbers
# (finite where present and not null: the floor, the gate's and the calibration's inputs), and as
# whole counts of at least 1.
INFO_TEXT = ("backend", "keras", "cpu")
INFO_NUMBERS = ("mfu", "floor_ms", "gemm_floor_ms", "adam_ms", "step_ms", "blas_ms", "notebook_ms",
                "gflops", "step_over_floor", "flops", "peak_flops", "bandwidth_gbs", "epoch_s",
                "floor_s", "ours_vs_notebook", "cpu_per_wall")
INFO_COUNTS = ("steps_per_call", "steps")


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _one(entry: Any, source: str) -> Benchmark | None:
    info = entry.get("extra_info", {}) if isinstance(entry, dict) else None
    if not isinstance(info, dict):
        raise BenchJSONError(f"{source}: a benchmark entry is not an object with extra_info")
    if "kind" not in info:
        return None
    name = entry.get("name", "?")
    kind, model = info["kind"], info.get("model")
    if not isinstance(kind, str) or not (isinstance(model, str) and model):
        raise BenchJSONError(f"{source}: {name} has a non-text kind or model (every tagged benchmark "
                             "names both); rerun the benchmarks")
    wrong = [key for key in INFO_TEXT if not isinstance(info.get(key, ""), str)]
    wrong += [key for key in INFO_NUMBERS if info.get(key) is not None and not _number(info[key])]
    for key in INFO_COUNTS:
        if key in info and not (isinstance(info[key], int) and not isinstance(info[key], bool)
                                and info[key] >= 1):
            raise BenchJSONError(f"{source}: {name} has a bad {key} (a whole number >= 1)")
    wrong += [key for key in ("busy_threads",) if key in info and not isinstance(info[key], int)]
    if "cpus" in info and not (isinstance(info["cpus"], list)
                               and all(isinstance(c, int) for c in info["cpus"])):
        wrong.append("cpus")
    if wrong:
        raise BenchJSONError(f"{source}: {name} has malformed extra_info {', '.join(wrong)}")
    stats = entry.get("stats") if isinstance(entry.get("stats"), dict) else {}
    median = stats.get("median")
    if not _number(median) or not median > 0:
        raise BenchJSONError(f"{source}: {name} has no positive stats.median")
    steps = info.get("steps_per_call", 1)
    data = stats.get("data", [])
    if not isinstance(data, list) or not all(_number(v) and v > 0 for v in data):
        raise BenchJSONError(f"{source}: {name} has non-positive or non-numeric times in stats.data")
    return Benchmark(kind, model, median * 1000 / steps, tuple(v * 1000 / steps for v in data), info)


def benchmarks(bench: Any, source: str = "benchmark JSON") -> dict[tuple[str, str | None], Benchmark]:
    """``(kind, model) -> Benchmark`` for every tagged benchmark of parsed pytest-benchmark output."""
    if not isinstance(bench, dict) or not isinstance(bench.get("benchmarks"), list):
        raise BenchJSONError(f"{source}: no 'benchmarks' list; not pytest-benchmark output")
    found = {}
    for entry in bench["benchmarks"]:
        try:
            one = _one(entry, source)
        except BenchJSONError:
            raise
        except MALFORMED as exc:
            raise BenchJSONError(f"{source}: a benchmark entry holds a value of the wrong type or "
                                 f"size ({type(exc).__name__}: {exc})") from None
        if one is not None:
            found[one.kind, one.model] = one
    return found
