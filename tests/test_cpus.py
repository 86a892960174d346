"""CPU-set parsing, pinning and busy-thread counting for the benchmarks (benchmarks/instruments/cpus.py)."""

from __future__ import annotations

import os
import threading
import time

import pytest
from instruments import cpus


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", (0,)), ("0-1", (0, 1)), ("0,2", (0, 2)), ("3,0-1", (0, 1, 3)), (" 1 , 0 ", (0, 1)),
     ("0-0", (0,)), ("1,1", (1,))],
)
def test_cpu_list_syntax(text, expected):
    assert cpus.parse_cpus(text, usable={0, 1, 2, 3}) == expected


def test_default_is_the_first_usable_core():
    assert cpus.parse_cpus(None, usable={3, 5}) == (3,)
    assert cpus.parse_cpus("", usable={2, 1}) == (1,)


@pytest.mark.parametrize("text", ["a", "1-", "-1", "2-1", "0,,1", "1.5", "0-x"])
def test_malformed_cpu_list_is_one_clear_error(text):
    with pytest.raises(cpus.CpuSetError) as excinfo:
        cpus.parse_cpus(text, usable={0, 1, 2})
    message = str(excinfo.value)
    assert cpus.ENV in message and repr(text) in message and "\n" not in message


def test_cpus_outside_the_usable_set_are_refused():
    with pytest.raises(cpus.CpuSetError, match=r"\[4\].*usable: 0-1"):
        cpus.parse_cpus("0,4", usable={0, 1})


def test_from_env_reads_the_variable(monkeypatch):
    usable = tuple(sorted(os.sched_getaffinity(0)))
    monkeypatch.setenv(cpus.ENV, str(usable[-1]))
    assert cpus.from_env() == (usable[-1],)
    monkeypatch.delenv(cpus.ENV)
    assert cpus.from_env() == (usable[0],)


def test_blas_env_names_every_pool_with_the_set_size():
    assert cpus.blas_env(2) == {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2",
                                "MKL_NUM_THREADS": "2"}


def test_pin_sets_and_reports_the_affinity():
    before = os.sched_getaffinity(0)
    try:
        target = (min(before),)
        assert cpus.pin(target) == target
        assert os.sched_getaffinity(0) == {min(before)}
    finally:
        os.sched_setaffinity(0, before)


STAT = ("4242 (py thread (x) 1) S 1 4242 4242 0 -1 4194560 2032 0 0 0 "
        "137 25 0 0 20 0 3 0 8862 123 456")


def test_stat_line_utime_plus_stime_even_with_parentheses_in_the_name():
    assert cpus.stat_ticks(STAT) == 137 + 25


def test_busy_threads_counts_threads_over_the_share_of_the_loop():
    before = {1: 100, 2: 50, 3: 0}
    after = {1: 190, 2: 52, 3: 40, 4: 30}  # 4 started during the loop; 2 barely moved
    busy = cpus.busy_threads(before, after, wall_ticks=100, share=0.1)
    assert busy.count == 3
    assert busy.ticks == (90, 40, 30, 2)
    assert busy.cpu_per_wall == pytest.approx(162 / 100)


def test_a_loop_shorter_than_the_clock_grain_counts_no_thread_twice():
    busy = cpus.busy_threads({1: 0, 2: 0}, {1: 4, 2: 2}, wall_ticks=5)  # a 50 ms loop
    assert busy.count == 0 and busy.ticks == (4, 2)


def test_a_spinning_thread_is_one_busy_thread_and_a_sleeping_one_is_not():
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            pass

    worker = threading.Thread(target=spin)
    try:
        with cpus.ThreadMeter() as meter:  # a thread is counted while it exists, as pools do
            worker.start()
            time.sleep(0.6)  # the main thread sleeps: only the spinner burns CPU
    finally:
        stop.set()
        worker.join()
    assert meter.result.count == 1
    assert meter.wall_s >= 0.6


def test_under_turns_busy_is_judged_against_the_timed_rounds_not_the_waits():
    """An A/B process waits for the other build between its rounds: a thread that worked through
    every timed round is busy, though it ran for well under 10 % of the meter's wall time."""
    pause, stop = threading.Event(), threading.Event()

    def spin():  # works, then waits (alive, as a backend's threads stay) until told to end
        while not pause.is_set():
            pass
        stop.wait()

    worker = threading.Thread(target=spin)
    try:
        with cpus.ThreadMeter() as meter:
            worker.start()
            time.sleep(0.3)  # the timed rounds: the spinner works
            pause.set()
            time.sleep(4.0)  # the other build's turns: nothing runs here
    finally:
        pause.set()
        stop.set()
        worker.join()
    assert meter.result.count == 0  # ~0.3 s of 4.3 s: under the share of the whole wall
    assert meter.rescored(timed_s=0.3).count == 1
