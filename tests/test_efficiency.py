"""The job's own efficiency (mnist_mlp.measuring: flops, peak, efficiency): the matrix FLOPs of what
it trained, each core's GEMM peak measured in the same run, the floor and the ratio."""

from __future__ import annotations

import dataclasses
import os
import select
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fake_runs import make_result

from mnist_mlp.measuring import efficiency, flops, peak
from mnist_mlp.notebook import models
from mnist_mlp.training.pool import usable_cores

# Hand counts, 2 FLOPs per multiply-add. arch1_relu 784-600-100-10: forward 470,400 + 60,000 +
# 1,000 = 531,400 MACs per image (1,062,800 FLOPs); a training image adds dW (as many) and dX of
# the 2nd and 3rd Dense (61,000): 2 x (2 x 531,400 + 61,000) = 2,247,600 FLOPs. One epoch on
# MNIST: 60,000 x 2,247,600 + 10,000 validation x 1,062,800 = 145,484,000,000; the final test
# evaluation adds 10,628,000,000.
ARCH1_RELU_EPOCH = 145_484_000_000
ARCH1_RELU_TEST = 10_628_000_000
# softmax 784-10: 15,680 FLOPs forward per image, 31,360 per training image (no dX).
SOFTMAX_EPOCH = 60_000 * 31_360 + 10_000 * 15_680
SOFTMAX_TEST = 10_000 * 15_680


def test_arch1_relu_trained_20_epochs_on_mnist_is_the_hand_count():
    spec = models.get_spec("arch1_relu")
    assert flops.training_flops(spec, 20, 60_000, 10_000) == 20 * ARCH1_RELU_EPOCH + ARCH1_RELU_TEST
    assert flops.training_flops(models.get_spec("softmax"), 1, 60_000, 10_000) == SOFTMAX_EPOCH + SOFTMAX_TEST


def test_the_main_job_is_the_26_1_tflop_the_issue_counted():
    """Issue 25 counted the eight models' 20 epochs, training plus per-epoch validation, as 26.1
    TFLOP; the final test evaluation of each adds a little (26.2 in all)."""
    specs = [models.get_spec(name) for name in models.names()]
    with_test = sum(flops.training_flops(s, 20, 60_000, 10_000) for s in specs)
    tests_only = sum(flops.training_flops(s, 0, 60_000, 10_000) for s in specs)
    assert round((with_test - tests_only) / 1e12, 1) == 26.1
    assert round(with_test / 1e12, 1) == 26.2


def test_floor_is_the_flops_at_the_summed_core_peaks_and_the_ratio_is_time_over_it():
    job = efficiency.JobEfficiency(flops=2_000_000_000_000, seconds=30.0, core_peaks={0: 60e9, 1: 40e9})
    assert job.peak == 100e9 and job.floor_s == pytest.approx(20.0) and job.ratio == pytest.approx(1.5)
    assert job.line() == ("efficiency: 2.0 TFLOP of matrix products in 30 s; floor 20 s at 100 GFLOP/s "
                          "(best 2048 GEMM per core, measured after training: 0: 60, 1: 40); 1.50x the floor")
    assert job.to_json() == {"flops": 2_000_000_000_000, "seconds": 30.0,
                             "peak_flops_per_s": {"0": 60e9, "1": 40e9}, "floor_s": 20.0, "ratio": 1.5}


def test_a_result_resumed_or_finished_before_the_job_is_named_and_the_ratio_not_stated():
    started = datetime(2026, 1, 1, 12, 0, 0, 600_000, tzinfo=timezone.utc)
    fresh = dataclasses.replace(make_result("arch1_relu"), finished="2026-01-01T12:00:00+00:00")
    earlier = dataclasses.replace(make_result("softmax"), finished="2026-01-01T11:59:59+00:00")
    resumed = dataclasses.replace(make_result("arch2_relu"), finished="2026-01-01T12:05:00+00:00",
                                  resumed=True)
    unknown = dataclasses.replace(make_result("arch3_relu"), finished="-")  # results before the field
    assert efficiency.not_trained_here([fresh, earlier, resumed, unknown], started) == [
        "softmax", "arch2_relu", "arch3_relu"]
    assert efficiency.measure([fresh, earlier], 10.0, started, [0], "numpy") == (
        "not stated: softmax did part of the work before this job")


def test_the_probe_runs_one_blas_thread_with_the_cpus_own_kernel(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "8")
    env = peak.probe_env()
    assert "OPENBLAS_CORETYPE" not in env
    assert {k: env[k] for k in peak.PROBE_ENV} == {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                                                  "MKL_NUM_THREADS": "1", "JAX_PLATFORMS": "cpu",
                                                  "CUDA_VISIBLE_DEVICES": ""}


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="core pinning is Linux's")
def test_each_cores_probe_pins_itself_to_that_core_and_reports_a_gemm_rate():
    core = usable_cores()[0]
    rates = peak.per_core([core], "numpy")
    assert list(rates) == [core] and 1e9 < rates[core] < 1e13  # 1 GFLOP/s to 10 TFLOP/s per core


def test_a_failed_probe_is_named_with_its_core_and_the_job_says_so(monkeypatch):
    failing = [sys.executable, "-c", "raise SystemExit(7)"]
    monkeypatch.setattr(peak, "probe_command", lambda core, backend: failing)
    fresh = dataclasses.replace(make_result("softmax"), finished="2030-01-01T00:00:00+00:00")
    started = datetime(2029, 1, 1, tzinfo=timezone.utc)
    assert efficiency.measure([fresh], 1.0, started, [0], "numpy") == (
        "not stated: the GEMM probe on core 0 failed (exit 7: no output)")


def test_result_flops_counts_the_epochs_and_images_the_result_records():
    limited = dataclasses.replace(make_result("arch1_relu", epochs=3), data={"train_images": 600,
                                                                            "test_images": 100})
    assert efficiency.result_flops(limited) == 3 * (600 * 2_247_600 + 100 * 1_062_800) + 100 * 1_062_800
    assert efficiency.result_flops(make_result("softmax", epochs=1)) == SOFTMAX_EPOCH + SOFTMAX_TEST


def test_a_probe_that_never_says_ready_is_named_and_nothing_is_left_running(monkeypatch):
    silent = [sys.executable, "-c",
              "import sys, time; sys.stderr.write('stuck\\n'); sys.stderr.flush(); time.sleep(60)"]
    monkeypatch.setattr(peak, "probe_command", lambda core, backend: silent)
    monkeypatch.setattr(peak, "PROBE_TIMEOUT_S", 2)
    expected = r"the GEMM probe on core 0 failed \(exit none, still running: stuck\)"
    with pytest.raises(peak.PeakProbeError, match=expected):
        peak.per_core([0], "numpy")


# A parent running the real probes (per_core), each timing GEMMs that would outlast the test, that
# prints "<probe pid> ready" as each probe says READY.
PROBING_PARENT = """
import sys
from mnist_mlp.measuring import peak

peak.PEAK_N, peak.PEAK_REPEATS = 64, 10**9
real_line_within = peak._line_within

def announced(probe, deadline):
    line = real_line_within(probe, deadline)
    print(probe.pid, line, flush=True)
    return line

peak._line_within = announced
peak.per_core([int(core) for core in sys.argv[1:]], "numpy")
"""


def _probe_running(pid: int) -> bool:
    """``pid`` is a live (not zombie) GEMM probe, read from /proc."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X") and b"mnist_mlp.measuring.peak" in command


def _ready_probes(parent: subprocess.Popen, count: int, timeout: float) -> list[int]:
    """The pids of the first ``count`` probes the parent saw say READY (its stdout read unbuffered,
    so select sees every line)."""
    text, deadline = b"", time.monotonic() + timeout
    while text.count(f" {peak.READY}\n".encode()) < count and time.monotonic() < deadline:
        if select.select([parent.stdout], [], [], max(0.0, deadline - time.monotonic()))[0]:
            chunk = os.read(parent.stdout.fileno(), 4096)
            assert chunk, f"the probing parent ended before its probes said ready: {text!r}"
            text += chunk
    lines = [line.split() for line in text.decode().splitlines()]
    return [int(pid) for pid, *said in lines if said == [peak.READY]]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_probes_die_with_a_parent_killed_by_sigkill():
    cores = usable_cores()[:2]
    parent = subprocess.Popen([sys.executable, "-c", PROBING_PARENT, *map(str, cores)],
                              stdout=subprocess.PIPE)
    probes = []
    try:
        probes = _ready_probes(parent, len(cores), timeout=60)
        assert len(probes) == len(cores)
        time.sleep(0.5)  # GO sent: the probes are timing their GEMMs
        assert all(map(_probe_running, probes))
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 3
        while any(map(_probe_running, probes)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [pid for pid in probes if _probe_running(pid)] == []
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()
        for pid in filter(_probe_running, probes):
            os.kill(pid, signal.SIGKILL)


def test_a_probe_whose_parent_went_before_go_ends_without_measuring():
    """Where no parent-death signal exists, the probe still ends: its stdin closes without GO."""
    probe = subprocess.run([sys.executable, "-m", "mnist_mlp.measuring.peak", str(usable_cores()[0]), "numpy",
                            "64", str(10**9), str(os.getpid())],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30, check=False)
    assert (probe.returncode, probe.stdout) == (1, f"{peak.READY}\n")
    assert probe.stderr == "the process that started this probe ended before it said go\n"


def test_a_stale_efficiency_json_goes_when_the_new_job_states_none(tmp_path):
    (tmp_path / efficiency.SAVED).write_text("{}")
    earlier = dataclasses.replace(make_result("softmax"), finished="2026-01-01T00:00:00+00:00")
    started = datetime(2027, 1, 1, tzinfo=timezone.utc)
    line = efficiency.report([earlier], 5.0, started, [0], "numpy", tmp_path)
    assert line == "efficiency: not stated: softmax did part of the work before this job"
    assert not (tmp_path / efficiency.SAVED).exists()
