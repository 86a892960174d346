"""Run-folder locks: one lock per ``--out`` folder whatever ``--jobs`` and ``--seeds``, held until
every worker has exited, and a lock file that never follows a link nor opens what is not a plain
file."""

from __future__ import annotations

import os

import pytest
from cli_run import run_cli

from mnist_mlp.training import lock, pool

# --- one lock per run folder -----------------------------------------------------------------


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("held", ["out", "seed folder"])
def test_reproduce_on_a_held_folder_is_refused_whatever_jobs(tmp_path, capsys, tiny_cli, jobs, held):
    if jobs > len(pool.usable_cores()):
        pytest.skip(f"needs {jobs} usable cores")
    out = tmp_path / "L"
    holder = out if held == "out" else out / "seed-1"
    with lock.run_lock(holder):
        code, stdout, err = run_cli(capsys, "reproduce", "--models", "softmax", "--epochs", "1",
                                    "--seeds", "1", "--jobs", str(jobs), "--out", str(out))
    assert code == 2 and stdout == "" and len(err.strip().splitlines()) == 1, stdout + err
    assert str(holder) in err and "another mnist-mlp run" in err
    assert not (out / "seed-1" / "softmax").exists()


def test_pool_workers_hold_the_run_folder_until_they_exit(tmp_path):
    """The workers inherit the parent's lock: a killed parent leaves the folder locked until its
    last worker is gone, never open to a second run while a worker may still write."""
    out = tmp_path / "L"
    with lock.run_lock(out):
        executor, _ = pool.open_pool([tuple(pool.usable_cores()[:1])])
        assert executor.submit(os.getpid).result(timeout=120) != os.getpid()  # a worker runs
    try:
        with pytest.raises(lock.RunFolderBusyError), lock.run_lock(out):
            pass
    finally:
        executor.shutdown(wait=True)
    with lock.run_lock(out):  # free once every worker has exited
        pass


# --- the lock file itself --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["symlink", "dangling symlink", "hard link", "fifo", "folder"])
def test_a_lock_file_that_is_not_a_plain_file_is_refused_and_nothing_is_touched(
        tmp_path, capsys, tiny_cli, kind):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    run = tmp_path / "R"
    run.mkdir()
    path = run / lock.LOCK_FILE
    if kind == "symlink":
        path.symlink_to("../victim")
    elif kind == "dangling symlink":
        path.symlink_to("../created")
    elif kind == "hard link":
        os.link(victim, path)
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    code, out, err = run_cli(capsys, "train", "softmax", "--epochs", "1", "--out", str(run))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, out + err
    assert str(path) in err and "remove it" in err
    assert victim.read_text() == "precious\n" and not (tmp_path / "created").exists()
    assert not (run / "softmax").exists()


def test_an_unsafe_lock_file_is_a_busy_folder_error(tmp_path):
    (tmp_path / lock.LOCK_FILE).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(lock.UnsafeLockFileError, match="symbolic link"), lock.run_lock(tmp_path):
        pass
    assert issubclass(lock.UnsafeLockFileError, lock.RunFolderBusyError)  # the CLI's exit 2
