"""Training speed of every model against its physical floor, next to the notebook's API.

Per model (grouped so in pytest-benchmark's table, and run one model at a time so a change in
the machine's load hits all of a model's numbers alike):

* ``step``: optimizer steps on a fixed batch of 128 real MNIST samples through the compiled
  train function that ``model.fit`` calls (``instruments.train_step``). One call runs 8 steps
  (``TIMED``); ``extra_info`` has the time per step (``step_ms``) and
  the step against its floor: ``floor_ms`` (the step's matrix FLOPs at the measured peak plus
  Adam's traffic at the measured bandwidth, ``instruments.roofline``), ``mfu`` and ``gflops``.
* ``blas_reference``: every matrix product of the step in numpy (float32, batch 128), timed: what
  numpy's BLAS makes of the arithmetic. A secondary reference, not the floor.
* ``notebook_way``: the same step through ``model.train_on_batch``, the notebook-era API (on
  Keras 2, whose ``train_on_batch`` runs the compiled multi-step function and so needs
  ``steps_per_execution`` batches, on a copy compiled the notebook's way: one step a call).
* ``epoch`` (arch1_relu only): one epoch of ``model.fit`` over 60,000 samples.

Each benchmark tags ``extra_info`` with ``kind`` and ``model`` (``mnist-mlp bench-check`` finds
them so), ``cpus`` and ``busy_threads``, and asserts the suite's invariants: the process runs on
its declared CPUs, no more threads burned CPU than it has, and no step beats its floor beyond
noise (under ``benchmarks/ab.py`` a step below its floor is recorded as ``floor_suspect`` with no
MFU instead: the A/B compares the two builds, timed alike, and a busy machine's peak probe must not
abort it). ``MNIST_MLP_BENCH_ROUNDS`` shortens a run; ``MNIST_MLP_BENCH_INJECT`` runs the test-only
slowed variant (benchmarks/injected.py); under ``benchmarks/ab.py`` (``MNIST_MLP_AB_TURNS``) every
round is one call and waits for its turn (benchmarks/turns.py).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os

import injected
import pytest
import turns
from instruments import cpus, roofline
from instruments.library import draws, models, recipe, train
from instruments.train_step import compiled_train_step

from mnist_mlp.compat import KERAS_3

DEFAULT_RECIPE, compile_model = recipe.DEFAULT_RECIPE, train.compile_model

ROUNDS = int(os.environ.get("MNIST_MLP_BENCH_ROUNDS") or 50)
# The notebook's recipe at 8 steps a call, whatever the training default: the speed budgets and
# the A/B's detection rates were measured so, and a round stays one short call.
TIMED = dataclasses.replace(DEFAULT_RECIPE, steps_per_execution=8)
TURNS = turns.THIS_PROCESS
ITERATIONS, WARMUP_ROUNDS = 5, 2
EPOCH_MODEL, EPOCH_ROUNDS = "arch1_relu", 5
# A step may beat its floor by this much before the suite calls the floor wrong: the peak and
# the bandwidth are best-of measurements, the step a median, so only noise can put it below.
FLOOR_NOISE = 0.9
# CPU time over wall time may exceed the CPU count by clock-tick rounding only.
CPU_PER_WALL_SLACK = 1.05


def measure(benchmark, run, kind: str, name: str, environment: dict, medians: dict,
            rounds: int = ROUNDS, iterations: int = ITERATIONS,
            warmup_rounds: int = WARMUP_ROUNDS) -> float | None:
    """Time ``run`` with fixed rounds, counting the threads that burn CPU meanwhile; tag it;
    return (and remember) its median in seconds (None under ``--benchmark-disable``)."""
    benchmark.group = name
    benchmark.extra_info.update(kind=kind, model=name, **environment)
    run()  # first call outside the counted loop: tracing and compiling run on other threads
    with cpus.ThreadMeter() as meter:
        if TURNS:  # one call a round, each after the other build's (pytest-benchmark: setup
            # functions need iterations=1)
            benchmark.pedantic(run, setup=TURNS.wait, rounds=rounds, warmup_rounds=warmup_rounds)
        else:
            benchmark.pedantic(run, rounds=rounds, iterations=iterations,
                               warmup_rounds=warmup_rounds)
    running_on = sorted(os.sched_getaffinity(0))
    busy_count = meter.result.count
    if TURNS and benchmark.stats:  # a thread is busy over the timed rounds, not the other build's turns
        busy_count = meter.rescored(sum(benchmark.stats.stats.data)).count
    benchmark.extra_info.update(cpus=running_on, busy_threads=busy_count,
                                cpu_per_wall=round(meter.result.cpu_per_wall, 3),
                                thread_ticks=list(meter.result.ticks[:8]))
    assert running_on == environment["cpus"], "the process left its declared CPU set"
    # The two sides of step/floor use no more CPU than their set: the pin is what guarantees it,
    # this checks it. More busy threads than cores (a dispatch or input thread sharing the core)
    # is recorded and bench-check lists it; it is no extra hardware.
    busy = meter.result
    wall_ticks = sum(busy.ticks) / busy.cpu_per_wall if busy.cpu_per_wall else 0.0
    # Per-thread CPU time comes in whole clock ticks: allow two ticks of rounding on a short loop.
    allowed = len(running_on) * CPU_PER_WALL_SLACK + (2 / wall_ticks if wall_ticks else 0.0)
    assert kind not in ("step", "blas_reference") or busy.cpu_per_wall <= allowed, (
        f"{kind} {name}: {busy.cpu_per_wall:.2f} cores busy on {len(running_on)} cpus "
        f"(ticks {busy.ticks[:8]}): the process ran beyond its CPU set")
    median = benchmark.stats.stats.median if benchmark.stats else None
    medians[kind, name] = median
    return median


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator and denominator else None


def ms(seconds: float | None) -> float | None:
    return seconds * 1000 if seconds is not None else None


@pytest.fixture(scope="module", params=models.names())
def name(request) -> str:
    """Module-scoped, so pytest runs floor, step, notebook way (and epoch) one model at a time."""
    return request.param


@pytest.fixture(scope="module")
def model(name):
    """Seed-0 ``name`` compiled with the notebook recipe, shared by the step, notebook-way and
    epoch benchmarks (so its train function is traced once); the slowed test-only variant when
    ``MNIST_MLP_BENCH_INJECT`` is set."""
    built = models.build_model(name, seed=0)
    if injected.fraction():
        built = injected.with_slowdown(built, models.get_spec(name), DEFAULT_RECIPE.batch_size,
                                       injected.fraction())
    return compile_model(built, TIMED)


@pytest.fixture(scope="module")
def floor(name, machine) -> roofline.Floor:
    spec = models.get_spec(name)
    return roofline.Floor(roofline.step_flops(roofline.widths(spec), DEFAULT_RECIPE.batch_size),
                          machine["peak_flops"], roofline.adam_bytes(spec), machine["bandwidth"])


def floor_info(floor: roofline.Floor, machine: dict) -> dict:
    return {"flops": floor.flops, "peak_flops": machine["peak_flops"],
            "peak_source": machine["peak_source"], "peaks_gflops": machine["peaks_gflops"],
            "bandwidth_gbs": round(machine["bandwidth"] / 1e9, 2), "floor_ms": ms(floor.seconds),
            "gemm_floor_ms": ms(floor.gemm_s), "adam_ms": ms(floor.adam_s),
            "injected_slowdown": injected.fraction()}


@pytest.fixture(scope="session")
def medians() -> dict:
    """(kind, model) -> median seconds, for the ratios recorded by later benchmarks."""
    return {}


def test_blas_reference(benchmark, name, batch, environment, medians, machine):
    widths = roofline.widths(models.get_spec(name))
    calls = []
    roofline.blas_reference(widths, len(batch[0]),
                            matmul=lambda a, b, out: calls.append((*a.shape, b.shape[1])))()
    assert sorted(calls) == sorted((p.m, p.k, p.n) for p in roofline.step_products(
        widths, len(batch[0]))), "the BLAS reference must run every product of the step"
    assert machine["cpus"] == environment["cpus"], "peak measured on other CPUs than the steps"
    blas = measure(benchmark, roofline.blas_reference(widths, len(batch[0])), "blas_reference",
                   name, environment, medians)
    benchmark.extra_info["blas_ms"] = ms(blas)


def test_step(benchmark, name, model, batch, environment, medians, floor, machine):
    call, steps, sync = compiled_train_step(model, *batch)
    benchmark.extra_info["steps_per_call"] = steps  # bench-check divides the median by it
    benchmark.extra_info.update(floor_info(floor, machine))
    per_call = measure(benchmark, call, "step", name, environment, medians)
    sync()
    step = medians["step", name] = per_call / steps if per_call else None
    blas = medians.get(("blas_reference", name))
    benchmark.extra_info.update(step_ms=ms(step), blas_ms=ms(blas))
    if step:
        benchmark.extra_info.update(mfu=floor.mfu(step), gflops=floor.gflops(step),
                                    step_over_floor=step / floor.seconds)
        beaten = (f"{name}: step {step * 1e3:.3f} ms beats its floor {floor.seconds * 1e3:.3f} ms "
                  f"(peak {machine['peak_flops'] / 1e9:.0f} GFLOP/s from {machine['peak_source']}): "
                  "the peak or the FLOP count is wrong")
        if step < FLOOR_NOISE * floor.seconds:
            # Under an A/B the two builds' steps are what is compared, timed alike; a peak probed
            # at a contended moment voids only the MFU, which the record says.
            if TURNS:
                benchmark.extra_info.update(mfu=None, floor_suspect=beaten)
            else:
                pytest.fail(beaten)


def test_notebook_way(benchmark, name, model, batch, environment, medians):
    x, y = batch
    if not KERAS_3:
        model = compile_model(models.build_model(name, seed=0),
                              dataclasses.replace(DEFAULT_RECIPE, steps_per_execution=1))
    notebook = measure(
        benchmark, lambda: model.train_on_batch(x, y), "notebook_way", name, environment, medians
    )
    step = medians.get(("step", name))
    benchmark.extra_info.update(
        notebook_ms=ms(notebook), step_ms=ms(step), ours_vs_notebook=ratio(step, notebook)
    )


@pytest.mark.parametrize("name", [EPOCH_MODEL], indirect=True)
def test_epoch(benchmark, name, model, dataset, environment, medians, floor, machine):
    epochs = itertools.count()

    def one_epoch():
        # as training runs it (train.fit_epochs): that epoch's drawn order, Keras shuffles nothing
        order = draws.epoch_order(DEFAULT_RECIPE.seed, next(epochs), len(dataset.x_train))
        model.fit(dataset.x_train[order], dataset.y_train[order], batch_size=DEFAULT_RECIPE.batch_size,
                  epochs=1, shuffle=False, verbose=0)

    steps = math.ceil(len(dataset.x_train) / DEFAULT_RECIPE.batch_size)
    benchmark.extra_info.update(steps=steps, **floor_info(floor, machine))
    seconds = measure(benchmark, one_epoch, "epoch", name, environment, medians,
                      rounds=EPOCH_ROUNDS, iterations=1, warmup_rounds=1)
    if seconds:
        benchmark.extra_info.update(epoch_s=seconds, floor_s=steps * floor.seconds,
                                    mfu=floor.mfu(seconds / steps))
