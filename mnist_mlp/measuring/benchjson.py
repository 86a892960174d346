"""The one reader of pytest-benchmark JSON (``pytest benchmarks --benchmark-json``).

Every benchmark this project writes is tagged in ``extra_info``: ``kind`` (``step``,
``notebook_way``, ...), ``model``, ``steps_per_call`` (a timed call runs that many training steps),
and optionally ``mfu`` and ``ab_paired`` (written by ``benchmarks/ab.py``). Untagged benchmarks are
ignored. Times are per step: a call's median and per-round times divided by ``steps_per_call``,
here and nowhere else. The speed gate, the A/B and the matrix all read through ``load`` and
``benchmarks``; any malformed file (a value of the wrong type, a time, count or MFU no benchmark
can measure) is one ``BenchJSONError`` line naming it, the field and the fix.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import stat
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

    @property
    def step_ms(self) -> float:
        """The median per training step: an epoch's (one call) over its ``steps``."""
        return self.median_ms / self.extra_info.get("steps", 1) if self.kind == "epoch" else self.median_ms

    @property
    def measured_mfu(self) -> float | None:
        """The step's FLOPs per second over the measured peak (``flops``, ``peak_flops``), where
        both were recorded: what the speed gate judges."""
        flops, peak = self.extra_info.get("flops"), self.extra_info.get("peak_flops")
        return flops / (self.step_ms / 1e3) / peak if flops and peak else None


MAX_BYTES = 256 * 2**20  # far above any benchmark run's JSON; a bigger file is not one


def _read_regular_file(path: str | os.PathLike) -> str:
    """The text of ``path`` if it is a regular file of at most MAX_BYTES (a FIFO or a device would
    block or never end), opened without waiting for a writer."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BYTES:  # before a folder reaches fdopen
        os.close(fd)
        raise BenchJSONError(f"{path}: not a benchmark JSON file (a regular file of at most "
                             f"{MAX_BYTES >> 20} MiB); give the file --benchmark-json wrote")
    with os.fdopen(fd, encoding="utf-8") as f:
        return f.read()


def load(path: str | os.PathLike) -> dict:
    """Parse and validate a ``--benchmark-json`` file."""
    try:
        bench = json.loads(_read_regular_file(path))
    except FileNotFoundError:
        raise BenchJSONError(f"{path}: no such file (run the benchmarks with --benchmark-json)") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BenchJSONError(f"{path}: not a pytest-benchmark JSON file ({exc})") from None
    benchmarks(bench, source=str(path))  # validate now, so errors name the file
    return bench


# extra_info fields read as text (the speed gate's conditions, the matrix's stack), as numbers
# (finite where present and not null: the floor, the gate's and the calibration's inputs), and as
# whole counts (at least 1; busy threads at least 0).
INFO_TEXT = ("backend", "keras", "cpu")
INFO_NUMBERS = ("mfu", "floor_ms", "gemm_floor_ms", "adam_ms", "step_ms", "blas_ms", "notebook_ms",
                "gflops", "step_over_floor", "flops", "peak_flops", "bandwidth_gbs", "epoch_s",
                "floor_s", "ours_vs_notebook", "cpu_per_wall")
INFO_COUNTS = ("steps_per_call", "steps", "busy_threads")
INFO_POSITIVE = ("flops", "peak_flops")  # > 0 where present and not null: MFU divides by them

# What a benchmark can have measured; beyond it a number is a damaged file, not a measurement
# (and would overflow or underflow the readers' arithmetic: logs, ratios, MFU, the figures):
# a training step (a call's time over its steps_per_call) from 1 ns to 11 days, whole counts
# up to a billion, and MFU, a fraction of the measured peak (a step more than 10 % below its
# floor fails its benchmark), up to 2.
STEP_MS = (1e-6, 1e9)
MAX_COUNT = 10**9
MAX_MFU = 2.0
RERUN = "rerun the benchmarks (pytest benchmarks --benchmark-json)"


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _count(value, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and least <= value <= MAX_COUNT


def _text(value) -> bool:
    """Non-empty text of one line (it names a row, a column, a message)."""
    return isinstance(value, str) and value.isprintable() and bool(value.strip())


def _one(entry: Any, source: str, index: int) -> Benchmark | None:
    info = entry.get("extra_info", {}) if isinstance(entry, dict) else None
    if not isinstance(info, dict):
        raise BenchJSONError(f"{source}: benchmark #{index} is not an object with an extra_info "
                             f"object; {RERUN}")
    if "kind" not in info:
        return None
    name = entry.get("name")
    name = name if _text(name) else f"benchmark #{index}"
    kind, model = info["kind"], info.get("model")
    if not (_text(kind) and _text(model)):
        raise BenchJSONError(f"{source}: {name} has a non-text kind or model (every tagged benchmark "
                             f"names both, as one line of text); {RERUN}")
    for key in INFO_COUNTS:
        least = 0 if key == "busy_threads" else 1
        if key in info and not _count(info[key], least):
            raise BenchJSONError(f"{source}: {name} has a bad {key} (a whole number >= {least}, "
                                 f"at most {MAX_COUNT:,}, in extra_info); {RERUN}")
    wrong = [key for key in INFO_TEXT if not isinstance(info.get(key, ""), str)]
    wrong += [key for key in INFO_NUMBERS if info.get(key) is not None and not _number(info[key])]
    wrong += [key for key in INFO_POSITIVE if _number(info.get(key)) and not info[key] > 0]
    if "cpus" in info and not (isinstance(info["cpus"], list)
                               and all(isinstance(c, int) for c in info["cpus"])):
        wrong.append("cpus")
    if wrong:
        raise BenchJSONError(f"{source}: {name} has malformed extra_info {', '.join(wrong)} "
                             f"(text where text stands, finite numbers, flops and peak_flops > 0); "
                             f"{RERUN}")
    if info.get("mfu") is not None and not 0 <= info["mfu"] <= MAX_MFU:
        raise BenchJSONError(f"{source}: {name} has extra_info.mfu {info['mfu']:.3g}, not a fraction "
                             f"of the measured peak (0 to {MAX_MFU:g}); {RERUN}")
    stats = entry.get("stats") if isinstance(entry.get("stats"), dict) else {}
    median = stats.get("median")
    if not _number(median) or not median > 0:
        raise BenchJSONError(f"{source}: {name} has no positive stats.median; {RERUN}")
    steps = info.get("steps_per_call", 1)
    data = stats.get("data", [])
    if not isinstance(data, list) or not all(_number(v) and v > 0 for v in data):
        raise BenchJSONError(f"{source}: {name} has non-positive or non-numeric times in stats.data; "
                             f"{RERUN}")
    one = Benchmark(kind, model, median * 1000 / steps, tuple(v * 1000 / steps for v in data), info)
    low, high = STEP_MS
    for field, values in (("stats.median", [one.median_ms]), ("stats.data", one.rounds_ms)):
        if odd := [ms for ms in values if not low <= ms <= high]:
            raise BenchJSONError(f"{source}: {name} has a {field} of {odd[0]:.3g} ms per step (over "
                                 f"steps_per_call {steps}), not a training step's time ({low:g} "
                                 f"to {high:g} ms); {RERUN}")
    if one.measured_mfu is not None and not math.isfinite(one.measured_mfu):
        raise BenchJSONError(f"{source}: {name} has extra_info.flops {info['flops']:.3g} and "
                             f"peak_flops {info['peak_flops']:.3g} that give no finite MFU at "
                             f"{one.step_ms:.3g} ms per step; {RERUN}")
    return one


def benchmarks(bench: Any, source: str = "benchmark JSON") -> dict[tuple[str, str | None], Benchmark]:
    """``(kind, model) -> Benchmark`` for every tagged benchmark of parsed pytest-benchmark output."""
    if not isinstance(bench, dict) or not isinstance(bench.get("benchmarks"), list):
        raise BenchJSONError(f"{source}: no 'benchmarks' list; not pytest-benchmark output")
    found = {}
    for index, entry in enumerate(bench["benchmarks"]):
        try:
            one = _one(entry, source, index)
        except BenchJSONError:
            raise
        except MALFORMED as exc:
            raise BenchJSONError(f"{source}: benchmark #{index} holds a value of the wrong type or "
                                 f"size ({type(exc).__name__}: {' '.join(str(exc).split())}); "
                                 f"{RERUN}") from None
        if one is not None:
            found[one.kind, one.model] = one
    return found
