"""The worker pool of ``reproduce --jobs N``: core groups, longest-first order, pinning before the
backend starts, results identical to training alone, dead workers and Ctrl-C.

Tests that start worker processes train on 2,048-image slices (``DatasetSource`` limits) and are
marked ``slow`` (each pays a few seconds of interpreter and Keras start-up per worker).
"""

from __future__ import annotations

import dataclasses
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest
from cli_run import run_cli
from keras_callbacks import CountEpochs

from mnist_mlp.cli import main as cli
from mnist_mlp.compat import keras
from mnist_mlp.notebook.recipe import Recipe
from mnist_mlp.training import checkpoint, pool, results
from mnist_mlp.training.train import train_and_evaluate

ROOT = Path(__file__).resolve().parent.parent
SLICE = pool.DatasetSource(train_images=2048, test_images=512)
CORES = sorted(pool.usable_cores())
needs_two_cores = pytest.mark.skipif(len(CORES) < 2, reason="needs two usable cores")


class DieAfterEpoch(keras.callbacks.Callback):
    """Kills its worker process after ``epoch`` of ``model`` (the checkpoint of that epoch is
    written: it runs after BackupAndRestore), once ``wait_for`` exists, so the other worker's
    model has finished first."""

    def __init__(self, model: str, epoch: int, how: str, wait_for: Path):
        super().__init__()
        self.target, self.epoch, self.how, self.wait_for = model, epoch, how, str(wait_for)

    def on_epoch_end(self, epoch, logs=None):
        if self.model.name != self.target or epoch != self.epoch:
            return
        deadline = time.monotonic() + 120
        while not os.path.exists(self.wait_for) and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.how == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        os._exit(3)




# ---------------------------------------------------------------------------------------------
# Scheduling and core groups (no processes)


def test_tasks_run_longest_first_by_parameter_count(tmp_path):
    # golden/notebook/architectures.json totals: arch3_bn_dropout 896,310 > arch3_relu 890,710 >
    # arch2_bn_dropout 553,885 > arch2_relu 550,385 > arch1_bn = arch1_bn_dropout 534,910 (tie:
    # registry order) > arch1_relu 532,110 > softmax 7,850.
    tasks = pool.schedule(["softmax", "arch1_relu", "arch1_bn", "arch1_bn_dropout", "arch2_relu",
                           "arch2_bn_dropout", "arch3_relu", "arch3_bn_dropout"], [0], tmp_path)
    assert [t.model for t in tasks] == ["arch3_bn_dropout", "arch3_relu", "arch2_bn_dropout",
                                        "arch2_relu", "arch1_bn", "arch1_bn_dropout", "arch1_relu",
                                        "softmax"]
    assert {t.run_dir for t in tasks} == {tmp_path} and {t.seed for t in tasks} == {0}
    assert [t.label for t in tasks][:2] == ["[1/8] ", "[2/8] "]


def test_several_seeds_are_tasks_in_one_folder_per_seed(tmp_path):
    tasks = pool.schedule(["softmax", "arch3_relu"], [5, 2], tmp_path, per_seed_folders=True)
    assert [(t.model, t.seed, t.run_dir) for t in tasks] == [
        ("arch3_relu", 5, tmp_path / "seed-5"), ("arch3_relu", 2, tmp_path / "seed-2"),
        ("softmax", 5, tmp_path / "seed-5"), ("softmax", 2, tmp_path / "seed-2"),
    ]
    assert tasks[0].label == "[1/4 seed 5] " and str(tasks[3]) == "softmax (seed 2)"


ALL_EIGHT = ["softmax", "arch1_relu", "arch1_bn", "arch1_bn_dropout", "arch2_relu", "arch2_bn_dropout",
             "arch3_relu", "arch3_bn_dropout"]


def test_largest_first_to_the_least_loaded_worker():
    # 5 -> A, 4 -> B, 3 -> B (7), 3 -> A (8), 3 -> B (10)
    assert pool.makespan([3, 5, 3, 4, 3], 2) == 10
    assert pool.makespan([3, 5, 3, 4, 3], 1) == 18


# Parameter-epochs by hand from architectures.json (arch1_relu 532,110, arch2_relu 550,385; all
# eight 4,501,070) against the pool's start-up (840,000) and this process's 1.44x speed on every core.
@pytest.mark.parametrize(("models", "seeds", "epochs", "cores", "jobs"), [
    # two models, two epochs, here: pool 0.84e6 + 1.10e6 = 1.94e6 > here 2.17e6 / 1.44 = 1.50e6
    (["arch1_relu", "arch2_relu"], 1, 2, 2, 1),
    # 4 epochs, still here: 0.84e6 + 2.20e6 = 3.04e6 > 4.33e6 / 1.44 = 3.007e6
    (["arch1_relu", "arch2_relu"], 1, 4, 2, 1),
    # 5 epochs, the pool: 0.84e6 + 2.75e6 = 3.59e6 < 5.41e6 / 1.44 = 3.76e6
    (["arch1_relu", "arch2_relu"], 1, 5, 2, 2),
    # the main job: 0.84e6 + ~45e6 < 90.0e6 / 1.44 = 62.5e6; never more workers than tasks
    (ALL_EIGHT, 1, 20, 2, 2),
    (ALL_EIGHT, 1, 20, 16, 8),
    (["arch1_relu"], 3, 20, 2, 2),  # seeds are tasks too
    (["arch1_relu"], 1, 20, 2, 1),  # one task: nothing to share
    (ALL_EIGHT, 1, 20, 1, 1),  # one core
])
def test_default_jobs_is_the_pool_only_where_it_is_predicted_faster(models, seeds, epochs, cores, jobs):
    assert pool.default_jobs(models, seeds, epochs, cores) == jobs


@pytest.mark.parametrize(
    ("cores", "workers", "groups"),
    [([0, 1], 2, [(0,), (1,)]), ([0, 1], 1, [(0, 1)]), ([3, 5, 7, 9, 11], 2, [(3, 5, 7), (9, 11)]),
     (list(range(16)), 8, [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11), (12, 13), (14, 15)])],
)
def test_cores_split_into_contiguous_groups(cores, workers, groups):
    assert pool.split_cores(cores, workers) == groups


@pytest.mark.parametrize("workers", [0, 3])
def test_cannot_split_two_cores_into_zero_or_three_groups(workers):
    with pytest.raises(pool.JobsError, match="2 usable cores"):
        pool.split_cores([0, 1], workers)


@pytest.mark.parametrize("argv", [["--jobs", "0"], ["--jobs", str(len(CORES) + 1)], ["--seeds"]],
                         ids=["zero", "more-than-cores", "seeds-empty"])
def test_bad_jobs_or_seeds_is_exit_2_with_one_line(capsys, argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be created, not even runs/
    code, _, err = run_cli(capsys, "reproduce", *argv)
    assert code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("mnist-mlp"), err
    assert list(tmp_path.iterdir()) == []


def test_seed_and_seeds_are_exclusive(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["reproduce", "--seed", "1", "--seeds", "2", "3"])
    assert exit_info.value.code == 2 and "not allowed with" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# Worker processes


def _probe(rendezvous: str, workers: int) -> tuple[int, list[int], tuple[str, ...]]:
    """Runs in a worker: waits until ``workers`` probes run at once (so each is in its own
    worker), then reports pid, affinity and the backends imported before pinning."""
    Path(rendezvous, str(os.getpid())).touch()
    deadline = time.monotonic() + 60
    while len(os.listdir(rendezvous)) < workers and time.monotonic() < deadline:
        time.sleep(0.02)
    return os.getpid(), sorted(os.sched_getaffinity(0)), pool.preloaded_backends()


@pytest.mark.slow
@needs_two_cores
def test_each_worker_is_pinned_to_its_own_core_before_any_backend_loads(tmp_path):
    groups = pool.split_cores(CORES[:2], 2)
    executor, _ = pool.open_pool(groups)
    with executor:
        probes = [executor.submit(_probe, str(tmp_path), 2) for _ in range(2)]
        seen = [f.result(timeout=120) for f in probes]
    assert len({pid for pid, _, _ in seen}) == 2
    assert sorted(tuple(cpus) for _, cpus, _ in seen) == groups
    assert [preloaded for _, _, preloaded in seen] == [(), ()]


@pytest.mark.slow
@needs_two_cores
def test_parallel_results_are_bit_identical_to_training_alone(tmp_path, mnist, monkeypatch):
    """Three models on two single-core workers vs the same three trained one after the other in
    one single-core worker (alone, same core count): identical histories and test metrics."""
    monkeypatch.setenv("MNIST_MLP_CACHE", str(mnist.cache_path.parent))
    recipe = Recipe(epochs=2, seed=0)
    names = ["arch1_bn_dropout", "arch1_relu", "softmax"]
    together = pool.run(pool.schedule(names, [0], tmp_path / "together"), recipe, SLICE, jobs=2,
                        cores=CORES[:2], train=train_and_evaluate)
    alone = pool.run(pool.schedule(names, [0], tmp_path / "alone"), recipe, SLICE, jobs=1,
                     cores=CORES[:1], train=train_and_evaluate)
    together = {t.model: r for t, r in together.items()}
    alone = {t.model: r for t, r in alone.items()}
    assert sorted(together) == sorted(alone) == sorted(names)
    for name in names:
        for key in ("epochs", "test_accuracy", "test_loss"):
            if key == "epochs":  # wall times differ; the metrics must not
                assert [dataclasses.replace(e, seconds=0) for e in together[name].epochs] == \
                    [dataclasses.replace(e, seconds=0) for e in alone[name].epochs], name
            else:
                assert getattr(together[name], key) == getattr(alone[name], key), (name, key)
        assert alone[name].environment["cpus"] == CORES[:1]
        saved = results.read_result(tmp_path / "together" / name / "result.json")
        assert saved.metric("loss") == together[name].metric("loss")
    assert sorted(tuple(together[n].environment["cpus"]) for n in names[:2]) == [(CORES[0],),
                                                                                    (CORES[1],)]


@pytest.mark.parametrize(
    ("exitcodes", "head"),
    [({11: 3, 12: -15}, "the worker training arch1_relu (seed 0) exited with exit code 3"),
     ({11: -9, 12: -15}, "the worker training arch1_relu (seed 0) was killed by SIGKILL"),
     ({11: -15, 12: -15}, "a worker process was terminated"),
     ({11: -15, 12: -15, 13: 0}, "a worker process (pid 13) exited with exit code 0 between tasks")],
    ids=["exit", "sigkill", "unknown", "idle"],
)
def test_lost_worker_message_names_the_dead_model_and_the_others(tmp_path, exitcodes, head):
    tasks = pool.schedule(["softmax", "arch1_relu", "arch2_relu", "arch3_relu"], [0], tmp_path)
    by_name = {t.model: t for t in tasks}
    started = {10: by_name["arch3_relu"], 11: by_name["arch1_relu"], 12: by_name["arch2_relu"]}
    processes = {pid: types.SimpleNamespace(exitcode=code) for pid, code in exitcodes.items()}
    message = pool._lost_message(processes, started, {by_name["arch3_relu"]}, tasks, "HINT")
    assert message.startswith(head + "; ") and "; HINT (finished models are kept" in message
    stopped = "arch2_relu (seed 0)" if head.startswith("the worker") else \
        "arch1_relu (seed 0), arch2_relu (seed 0)"
    assert f"stopped with it: {stopped}; not started: 1;" in message
    assert "arch3_relu" not in message  # finished: nothing to resume


@pytest.mark.slow
@needs_two_cores
@pytest.mark.parametrize("how", ["sigkill"])
def test_a_dead_worker_names_its_model_and_leaves_it_resumable(tmp_path, mnist, monkeypatch,
                                                                small_dataset, how):
    monkeypatch.setenv("MNIST_MLP_CACHE", str(mnist.cache_path.parent))
    recipe = Recipe(epochs=3, seed=0)
    die = DieAfterEpoch("arch1_relu", 1, how, wait_for=tmp_path / "softmax" / "result.json")
    tasks = pool.schedule(["softmax", "arch1_relu"], [0], tmp_path)
    with pytest.raises(pool.WorkerLostError) as lost:
        pool.run(tasks, recipe, SLICE, jobs=2, cores=CORES[:2], callbacks=[die],
                 resume_hint=f"rerun with --out {tmp_path} to resume", train=train_and_evaluate)
    message = str(lost.value)
    assert "\n" not in message and "arch1_relu (seed 0)" in message
    assert ("killed by SIGKILL" if how == "sigkill" else "exit code 3") in message
    assert f"rerun with --out {tmp_path} to resume" in message

    finished = results.read_result(tmp_path / "softmax" / "result.json")
    assert len(finished.epochs) == 3
    stamp = (tmp_path / "softmax" / "result.json").stat().st_mtime_ns
    folder = tmp_path / "arch1_relu"
    assert not (folder / "result.json").exists()
    saved = checkpoint.load_latest(folder, say=lambda line: None)
    assert saved.epoch == 1 and sorted(saved.history) == [0, 1]

    counter = CountEpochs()
    resumed = train_and_evaluate("arch1_relu", small_dataset, recipe, tmp_path, callbacks=[counter])
    assert counter.started == [2]
    assert resumed.metric("loss")[:2] == [saved.history[e]["loss"] for e in (0, 1)]
    assert (tmp_path / "softmax" / "result.json").stat().st_mtime_ns == stamp


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.mark.slow
@needs_two_cores
def test_ctrl_c_stops_every_worker_and_exits_130(tmp_path, mnist):
    """The real command on real MNIST: Ctrl-C (SIGINT to the whole process group, as a terminal
    sends it) once both models have finished an epoch. Neither may finish first: softmax's epochs
    are ~20x shorter than arch1_relu's, so 50 of them ended before arch1_relu's second on cores
    shared with another tox env; 1000 epochs cannot."""
    run = tmp_path / "run"
    env = os.environ | {"MNIST_MLP_CACHE": str(mnist.cache_path.parent), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mnist_mlp", "reproduce", "--jobs", "2", "--epochs", "1000",
         "--models", "arch1_relu", "softmax", "--out", str(run)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        waiting, deadline = {"arch1_relu", "softmax"}, time.monotonic() + 600
        while waiting and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                assert proc.poll() is None, proc.stderr.read()
                continue
            # Epoch 2's line: epoch 1's checkpoint (written after its line) is complete.
            waiting -= {name for name in waiting if f"{name} epoch 2/1000" in line}
        assert not waiting, f"no second epoch from {waiting}"
        workers = _children(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    err = proc.stderr.read()
    assert code == 130, err
    assert err.strip().splitlines()[-1] == (
        "mnist-mlp: interrupted; rerun the same command to resume (or add --restart to start over)"
    )
    # The children are the two workers and multiprocessing's resource tracker, which exits once
    # the last of them has closed its pipe: allow them a moment after the parent's exit.
    deadline = time.monotonic() + 15
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(workers) >= 2 and not any(_running(pid) for pid in workers)
    for name in ("arch1_relu", "softmax"):
        assert not (run / name / "result.json").exists()
        assert 0 in checkpoint.load_latest(run / name, say=lambda line: None).history
    assert not (run / "report.html").exists()


@pytest.mark.slow
@needs_two_cores
def test_reproduce_seeds_on_two_workers_one_folder_report_and_gate_per_seed(tmp_path, mnist,
                                                                             monkeypatch, capfd):
    """The real command in this process, its workers' lines on the same stdout: one epoch of
    softmax for seeds 1 and 2, side by side; reports and gates only once both have finished."""
    monkeypatch.setenv("MNIST_MLP_CACHE", str(mnist.cache_path.parent))
    code = cli.main(["reproduce", "--jobs", "2", "--seeds", "1", "2", "--models", "softmax",
                     "--epochs", "1", "--out", str(tmp_path)])
    lines = capfd.readouterr().out.splitlines()
    assert code in (0, 1)  # one epoch may or may not reach softmax's 20-epoch gate
    assert "2 tasks, longest first, on 2 worker processes pinned to cores " \
           f"{CORES[0]} {CORES[1]}" in lines
    epochs = [i for i, line in enumerate(lines) if " softmax epoch 1/1 " in line]
    assert sorted(lines[i].split("]")[0] for i in epochs) == ["[1/2 seed 1", "[2/2 seed 2"]
    reports = [i for i, line in enumerate(lines) if line.startswith("report: ")]
    gates = [i for i, line in enumerate(lines) if line.startswith("model ")]
    assert len(reports) == len(gates) == 2 and max(epochs) < min(reports)
    assert lines[reports[0] - 1] == f"seed 1: {tmp_path / 'seed-1'}"
    saved = {s: results.read_result(tmp_path / f"seed-{s}" / "softmax" / "result.json") for s in (1, 2)}
    assert [saved[s].seed for s in (1, 2)] == [1, 2]
    assert saved[1].metric("loss") != saved[2].metric("loss")
    assert sorted(saved[s].environment["cpus"] for s in (1, 2)) == [[CORES[0]], [CORES[1]]]
    assert all((tmp_path / f"seed-{s}" / "report.html").is_file() for s in (1, 2))
    for s in (1, 2):  # each model's figures drawn by its worker as it ended, kept by the report
        figures = tmp_path / f"seed-{s}" / "figures"
        drawn_at = {p.name: p.stat().st_mtime_ns for p in figures.iterdir()}
        assert drawn_at["loss_softmax.png"] < drawn_at["test_accuracy.png"]
        assert drawn_at["weights_softmax.png"] < drawn_at["test_accuracy.png"]


def test_a_failure_after_a_task_is_one_line_and_keeps_its_result(capsys):
    """The task's figures failing to draw must not stop the pool: the model is trained."""
    def draw_task_figures(task, result):
        raise OSError("disk full")

    pool._after_task(draw_task_figures, pool.Task("softmax", 0, Path("run"), "[1/1] "), object())
    assert capsys.readouterr().err == ("[1/1] softmax: draw_task_figures failed (OSError: disk full); "
                                       "the report will try again\n")
