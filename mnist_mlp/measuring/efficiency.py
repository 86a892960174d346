"""How close a job came to its physical floor: the matrix FLOPs of what it trained
(``mnist_mlp.measuring.flops``) at the GEMM peak its cores showed in the same run
(``mnist_mlp.measuring.peak``), against the job's wall time.

The floor is FLOPs / (sum of the cores' peaks): no schedule of the job's products on those cores
can take less. It leaves out start-up, data loading, compilation, the report and everything that
is not a matrix product, so the ratio says how much of the job's time went elsewhere. It is stated
only when every model trained in full in this job (a resumed or an earlier model did part of its
work in another process).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from mnist_mlp.files import write_json
from mnist_mlp.measuring import flops, peak
from mnist_mlp.notebook import models
from mnist_mlp.training.results import RunResult

SAVED = "efficiency.json"


@dataclasses.dataclass(frozen=True)
class JobEfficiency:
    """A job's matrix FLOPs, its wall time (s) and each core's measured peak (FLOP/s)."""

    flops: int
    seconds: float
    core_peaks: Mapping[int, float]

    @property
    def peak(self) -> float:
        return sum(self.core_peaks.values())

    @property
    def floor_s(self) -> float:
        return self.flops / self.peak

    @property
    def ratio(self) -> float:
        return self.seconds / self.floor_s

    def line(self) -> str:
        cores = ", ".join(f"{core}: {rate / 1e9:.0f}" for core, rate in self.core_peaks.items())
        return (f"efficiency: {self.flops / 1e12:.1f} TFLOP of matrix products in {self.seconds:.0f} s; "
                f"floor {self.floor_s:.0f} s at {self.peak / 1e9:.0f} GFLOP/s (best 2048 GEMM per core, "
                f"measured after training: {cores}); {self.ratio:.2f}x the floor")

    def to_json(self) -> dict:
        return {"flops": self.flops, "seconds": round(self.seconds, 1),
                "peak_flops_per_s": {str(core): rate for core, rate in self.core_peaks.items()},
                "floor_s": round(self.floor_s, 1), "ratio": round(self.ratio, 3)}


def result_flops(result: RunResult) -> int:
    """The matrix FLOPs ``train_and_evaluate`` spent on this result."""
    images = result.images
    return flops.training_flops(models.get_spec(result.model), len(result.epochs),
                                images["train_images"], images["test_images"])


def _finished_before(result: RunResult, started: datetime) -> bool:
    """Finished before ``started`` (to the second results keep), or at an unknown time."""
    try:
        return datetime.fromisoformat(result.finished) < started.replace(microsecond=0)
    except ValueError:  # results from before the field was kept say "-"
        return True


def not_trained_here(results: Iterable[RunResult], started: datetime) -> list[str]:
    """Models whose result holds work done before this job (resumed, or finished earlier)."""
    return [r.model for r in results if r.resumed or _finished_before(r, started)]


def measure(results: Sequence[RunResult], seconds: float, started: datetime, cores: Sequence[int],
            backend: str) -> JobEfficiency | str:
    """The job's efficiency, or why it is not stated."""
    earlier = not_trained_here(results, started)
    if earlier:
        return f"not stated: {', '.join(sorted(set(earlier)))} did part of the work before this job"
    try:
        core_peaks = peak.per_core(cores, backend)
    except peak.PeakProbeError as exc:
        return f"not stated: {exc}"
    return JobEfficiency(sum(map(result_flops, results)), seconds, core_peaks)


def report(results: Sequence[RunResult], seconds: float, started: datetime, cores: Sequence[int],
           backend: str, out: Path) -> str:
    """Measure, save ``out/efficiency.json`` when stated (else remove an earlier job's), and
    return the line to print."""
    found = measure(results, seconds, started, cores, backend)
    if isinstance(found, str):
        (out / SAVED).unlink(missing_ok=True)
        return f"efficiency: {found}"
    write_json(out / SAVED, found.to_json())
    return found.line()
