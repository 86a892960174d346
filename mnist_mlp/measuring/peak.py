"""The machine's measured matrix-product peak: the best of a few large float32 GEMMs.

The peak is the best 2048 x 2048 float32 GEMM of numpy and of the backend itself, timed on the
cores in question: no BLAS kernel choice (``OPENBLAS_CORETYPE``) or library can move a floor
below what the machine does. ``per_core`` measures every core at once, one single-threaded
probe process pinned to each, as the worker pool trains: cores that share a physical core's
units measure what they give together.

No probe outlives the process that started it: each asks Linux to SIGKILL it when its parent
dies (``children.die_with_parent``, as the pool's workers do), and one whose parent went before
saying GO ends without measuring. Call ``per_core`` from a thread that lives as long as the
probes (the main thread): Linux sends the signal when the thread that started a probe ends.

    python -m mnist_mlp.measuring.peak CORE BACKEND [N REPEATS [PARENT]]   # one probe, pinned; prints JSON
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence

from mnist_mlp.errors import MnistMlpError
from mnist_mlp.training.children import die_with_parent

PEAK_N, PEAK_REPEATS = 2048, 6
PROBE_TIMEOUT_S = 120
# The probe's BLAS runs one thread, OpenBLAS picks its own kernel for this CPU, and JAX and
# TensorFlow stay on the CPU (the floor is the cores').
PROBE_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
             "JAX_PLATFORMS": "cpu", "CUDA_VISIBLE_DEVICES": ""}
READY, GO = "ready", "go"
PROBE_ENV_DROPPED = ("OPENBLAS_CORETYPE",)


class PeakProbeError(MnistMlpError, RuntimeError):
    """A probe process that did not report its GEMM rate."""


def _gemm_callable(library: str, n: int) -> Callable[[], object]:
    import numpy as np

    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    if library == "numpy":
        out = np.empty_like(a)
        return lambda: np.matmul(a, b, out=out)
    if library == "jax":
        import jax

        ja, jb = jax.device_put(a), jax.device_put(b)
        dot = jax.jit(jax.numpy.matmul)
        return lambda: dot(ja, jb).block_until_ready()
    if library == "tensorflow":
        import tensorflow as tf

        ta, tb = tf.constant(a), tf.constant(b)
        matmul = tf.function(tf.linalg.matmul)
        return lambda: matmul(ta, tb).numpy()
    if library == "torch":
        import torch

        pa, pb = torch.from_numpy(a), torch.from_numpy(b)
        out = torch.empty_like(pa)
        return lambda: torch.mm(pa, pb, out=out)
    raise ValueError(f"no GEMM for {library!r}")


def _best_rate(run: Callable[[], object], n: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def _libraries(backend: str) -> tuple[str, ...]:
    """Whose GEMM a peak is the best of: numpy's and the backend's own."""
    return tuple(dict.fromkeys(("numpy", backend)))


def _warmed_gemm(library: str, n: int) -> Callable[[], object]:
    """An n x n float32 GEMM through ``library``, run once (compiled, caches warm)."""
    run = _gemm_callable(library, n)
    run()
    return run


def gemm_flops_per_s(library: str, n: int = PEAK_N, repeats: int = PEAK_REPEATS) -> float:
    """Best of ``repeats`` n x n float32 GEMMs through ``library``, in FLOP/s (after a warm-up)."""
    return _best_rate(_warmed_gemm(library, n), n, repeats)


def measure_peaks(backend: str, n: int = PEAK_N, repeats: int = PEAK_REPEATS) -> dict[str, float]:
    """FLOP/s of numpy's GEMM and the backend's own, in this process."""
    return {library: gemm_flops_per_s(library, n, repeats) for library in _libraries(backend)}


def best_peak(peaks: dict[str, float]) -> tuple[float, str]:
    source = max(peaks, key=peaks.get)
    return peaks[source], source


def probe_command(core: int, backend: str) -> list[str]:
    """One core's probe, timing ``PEAK_REPEATS`` GEMMs of ``PEAK_N`` (read when it is started),
    that dies with this process."""
    return [sys.executable, "-m", "mnist_mlp.measuring.peak", str(core), backend, str(PEAK_N),
            str(PEAK_REPEATS), str(os.getpid())]


def probe_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PROBE_ENV_DROPPED}
    return {**env, **PROBE_ENV}


def _line_within(probe: subprocess.Popen, deadline: float) -> str:
    """The probe's next stdout line, or "" when it ends or the deadline passes first."""
    ready, _, _ = select.select([probe.stdout], [], [], max(0.0, deadline - time.monotonic()))
    return probe.stdout.readline().strip() if ready else ""


def _failure(core: int, probe: subprocess.Popen, errors) -> PeakProbeError:
    """The probe's exit status (if it ended within a second) and the last line of its stderr."""
    try:
        code = probe.wait(timeout=1)
    except subprocess.TimeoutExpired:
        code = "none, still running"
    errors.seek(0)
    last = (errors.read().strip().splitlines() or ["no output"])[-1]
    return PeakProbeError(f"the GEMM probe on core {core} failed (exit {code}: {last})")


def per_core(cores: Sequence[int], backend: str) -> dict[int, float]:
    """Each core's best GEMM rate (numpy's or the backend's, FLOP/s), all cores timed at once:
    every probe loads its libraries and warms up, says READY, and all start on one GO."""
    deadline = time.monotonic() + PROBE_TIMEOUT_S
    probes: dict[int, subprocess.Popen] = {}
    errors = {core: tempfile.TemporaryFile("w+") for core in cores}  # noqa: SIM115 (closed in finally)
    try:
        for core in cores:
            probes[core] = subprocess.Popen(probe_command(core, backend), env=probe_env(), text=True,
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=errors[core])
        for core, probe in probes.items():
            if _line_within(probe, deadline) != READY:
                raise _failure(core, probe, errors[core])
        for probe in probes.values():
            probe.stdin.write(GO + "\n")
            probe.stdin.close()
        rates = {}
        for core, probe in probes.items():
            reported = _line_within(probe, deadline)
            if probe.wait(timeout=max(0.1, deadline - time.monotonic())) != 0 or not reported:
                raise _failure(core, probe, errors[core])
            found = json.loads(reported)
            if found["cores"] not in ([core], None):
                raise PeakProbeError(f"the GEMM probe for core {core} ran on cores {found['cores']}")
            rates[core] = float(found["flops_per_s"])
        return rates
    except (OSError, ValueError, KeyError, TypeError, subprocess.TimeoutExpired) as exc:
        raise PeakProbeError(f"the GEMM probes did not report ({type(exc).__name__}: {exc})") from None
    finally:
        for probe in probes.values():
            if probe.poll() is None:
                probe.kill()
            probe.wait()
        for handle in errors.values():
            handle.close()


def _probe(core: int, backend: str, n: int = PEAK_N, repeats: int = PEAK_REPEATS) -> dict:
    """Pin to ``core`` before numpy or the backend loads, warm up, wait for GO, then measure."""
    pinned = None
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
        pinned = sorted(os.sched_getaffinity(0))
    if backend != "numpy":
        os.environ.setdefault("KERAS_BACKEND", backend)
    runs = {library: _warmed_gemm(library, n) for library in _libraries(backend)}
    print(READY, flush=True)
    if sys.stdin.readline().strip() != GO:  # our parent went (its end of the pipe closed)
        raise SystemExit("the process that started this probe ended before it said go")
    rates = {library: _best_rate(run, n, repeats) for library, run in runs.items()}
    rate, source = best_peak(rates)
    return {"cores": pinned, "flops_per_s": rate, "source": source}


def _main(argv: Sequence[str]) -> None:
    """CORE BACKEND [N REPEATS [PARENT]]: die with PARENT (default: whoever started us) before
    anything else, then probe and print the JSON line."""
    core, backend, *numbers = argv
    die_with_parent(int(numbers[2]) if len(numbers) > 2 else os.getppid())
    print(json.dumps(_probe(int(core), backend, *map(int, numbers[:2]))), flush=True)


if __name__ == "__main__":
    _main(sys.argv[1:])
