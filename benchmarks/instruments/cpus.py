"""The benchmark's hardware: a declared CPU set, pinned before any backend starts, every thread
pool sized to it, and a count of the threads that really burned CPU during a timed loop.

``MNIST_MLP_BENCH_CPUS`` names the set in Linux's list syntax (``0``, ``0-1``, ``0,2``); default:
one core, the first the process may use. Affinity is the rule every runtime obeys: TensorFlow and
XLA size their pools from the schedulable CPUs, OpenBLAS and torch from their thread settings,
which :func:`size_pools` sets too. XLA has no supported thread-count flag, so for JAX the
affinity is the whole control, and :class:`ThreadMeter` is the check.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from pathlib import Path

ENV = "MNIST_MLP_BENCH_CPUS"
BLAS_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
BUSY_SHARE = 0.1  # a thread that ran for >= 10 % of the loop's wall time is busy,
BUSY_MIN_TICKS = 5  # and for 5 clock ticks at least: a shorter loop is below the clock's grain
_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


class CpuSetError(ValueError):
    """A CPU list that does not parse or names CPUs this process may not use."""


def _compact(ids) -> str:
    return ",".join(str(i) for i in sorted(ids)) if len(ids) != 2 or max(ids) - min(ids) != 1 \
        else f"{min(ids)}-{max(ids)}"


def parse_cpus(text: str | None, usable: set[int] | None = None) -> tuple[int, ...]:
    """``"0"``, ``"0-1"``, ``"0,2"`` -> sorted CPU ids; empty or None -> the first usable CPU."""
    usable = set(os.sched_getaffinity(0)) if usable is None else set(usable)
    if text is None or not text.strip():
        return (min(usable),)
    chosen: set[int] = set()
    for part in text.split(","):
        match = _RANGE.match(part.strip())
        if not match or (match[2] is not None and int(match[2]) < int(match[1])):
            raise CpuSetError(f"{ENV}={text!r} is not a CPU list; write e.g. 0, 0-1 or 0,2")
        first, last = int(match[1]), int(match[2] if match[2] is not None else match[1])
        chosen.update(range(first, last + 1))
    outside = sorted(chosen - usable)
    if outside:
        raise CpuSetError(f"{ENV}={text!r} names CPUs {outside} this process may not use "
                          f"(usable: {_compact(usable)}); choose from those")
    return tuple(sorted(chosen))


def from_env() -> tuple[int, ...]:
    return parse_cpus(os.environ.get(ENV))


def blas_env(n: int) -> dict[str, str]:
    """The environment that sizes OpenMP/OpenBLAS/MKL pools; read once, when numpy loads."""
    return {var: str(n) for var in BLAS_VARS}


def pin(cpus: tuple[int, ...]) -> tuple[int, ...]:
    """Restrict every thread of this process (and every thread it starts later) to ``cpus``;
    return the set. Affinity is per thread on Linux, so threads already running are pinned too."""
    for tid in thread_ticks():
        try:
            os.sched_setaffinity(tid, cpus)
        except ProcessLookupError:  # ended meanwhile
            pass
    os.sched_setaffinity(0, cpus)
    return tuple(sorted(os.sched_getaffinity(0)))


def size_pools(backend: str, n: int) -> dict:
    """Size the backend's own pools to ``n`` threads (before its runtime starts) and say what
    they are. JAX/XLA has none to set: its pool follows the affinity."""
    if backend == "tensorflow":
        import tensorflow as tf

        # Ops run one at a time (inter-op 1), each on up to n threads. On 2 cpus this still
        # shows 3 busy threads (the op-running thread and 2 intra-op); inter-op 2 showed 4, and
        # intra-op 1 one busy thread, i.e. one core. The busy-thread check reports it.
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        return {"tf_intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                "tf_inter_op": tf.config.threading.get_inter_op_parallelism_threads()}
    if backend == "torch":
        import torch

        torch.set_num_threads(n)
        try:
            torch.set_num_interop_threads(n)
        except RuntimeError:  # only settable before torch's first parallel work
            pass
        return {"torch_threads": torch.get_num_threads(),
                "torch_interop": torch.get_num_interop_threads()}
    return {"xla": f"affinity ({n} cpu{'s' if n > 1 else ''}; XLA has no thread flag)"}


# ---------------------------------------------------------------------------------------------
# Counting what ran: per-thread CPU time from /proc/self/task/<tid>/stat


def stat_ticks(line: str) -> int:
    """utime + stime (fields 14 and 15, clock ticks) of one ``/proc/.../stat`` line; the thread
    name (field 2) may hold spaces and parentheses, so fields are counted after its last ``)``."""
    rest = line[line.rindex(")") + 2:].split()
    return int(rest[11]) + int(rest[12])  # rest[0] is field 3


def thread_ticks() -> dict[int, int]:
    """tid -> CPU ticks so far, for every thread of this process."""
    ticks = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            ticks[int(task.name)] = stat_ticks((task / "stat").read_text())
        except (OSError, ValueError):  # a thread that ended between listing and reading
            continue
    return ticks


@dataclasses.dataclass(frozen=True)
class Busy:
    count: int  # threads with at least ``share`` of the loop's wall ticks
    ticks: tuple[int, ...]  # every thread's ticks during the loop, largest first (zeros left out)
    cpu_per_wall: float  # all threads' CPU time over the loop's wall time: cores really used


def busy_threads(before: dict[int, int], after: dict[int, int], wall_ticks: float,
                 share: float = BUSY_SHARE, min_ticks: int = BUSY_MIN_TICKS) -> Busy:
    deltas = sorted((t - before.get(tid, 0) for tid, t in after.items()), reverse=True)
    deltas = [d for d in deltas if d > 0]
    wall = max(wall_ticks, 1e-9)
    threshold = max(share * wall, min_ticks)
    return Busy(sum(d >= threshold for d in deltas), tuple(deltas), sum(deltas) / wall)


class ThreadMeter:
    """``with ThreadMeter() as m: loop()`` then ``m.result`` (a :class:`Busy`) and ``m.wall_s``."""

    def __enter__(self):
        self._before = thread_ticks()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.wall_s = time.perf_counter() - self._start
        self._after = thread_ticks()
        self.result = busy_threads(self._before, self._after, self.wall_s * os.sysconf("SC_CLK_TCK"))

    def rescored(self, timed_s: float) -> Busy:
        """The same ticks judged against ``timed_s`` of work instead of the whole wall: under
        turns the process waits for the other build between rounds, and only the rounds count."""
        return busy_threads(self._before, self._after, timed_s * os.sysconf("SC_CLK_TCK"))
