"""An exclusive lock on a run folder: two runs never write into one folder at the same time.

The lock is ``<folder>/.lock``, an ``flock`` released when its last holder exits (even by
SIGKILL). The file is opened without following a symbolic link and must be a plain file with one
link, so a planted ``.lock`` can neither redirect the lock's write elsewhere nor block the run.
Worker processes that ``mnist_mlp.training.pool`` starts inherit the locks their parent holds
(``inherited()``): a folder stays locked until the last of them has exited.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from mnist_mlp.errors import MnistMlpError

LOCK_FILE = ".lock"

_held: dict[int, Path] = {}  # open lock file descriptor -> its folder, while run_lock holds it


class RunFolderBusyError(MnistMlpError, RuntimeError):
    """Another process holds the run folder."""


class UnsafeLockFileError(RunFolderBusyError):
    """The folder's ``.lock`` is a symbolic link, a folder or another non-plain file: refused."""


def _unsafe(path: Path, what: str) -> UnsafeLockFileError:
    return UnsafeLockFileError(f"{path} is {what}, not a plain file, so its run folder cannot be "
                               "locked safely; remove it and rerun")


def _open(path: Path) -> int:
    """Open (or create) the lock file itself: never through a link, never anything but a plain
    file (O_NONBLOCK: a FIFO cannot hang the open)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _unsafe(path, "a symbolic link") from None
        if exc.errno in (errno.EISDIR, errno.ENXIO, errno.ENODEV):
            raise _unsafe(path, "a folder" if exc.errno == errno.EISDIR else "a special file") from None
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1:
        os.close(fd)
        raise _unsafe(path, f"a file with {info.st_nlink} hard links" if stat.S_ISREG(info.st_mode)
                      else "a special file (FIFO, socket or device)")
    return fd


@contextlib.contextmanager
def run_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold ``folder/.lock`` (flock, released when its last holder ends, even by SIGKILL)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    fd = _open(path)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise RunFolderBusyError(
                f"run folder {folder} is in use by another mnist-mlp run (pid {holder}); "
                "wait for it to finish or choose another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _held[fd] = folder
        yield folder
    finally:
        _held.pop(fd, None)
        os.close(fd)


@contextlib.contextmanager
def run_locks(*folders: str | os.PathLike) -> Iterator[tuple[Path, ...]]:
    """Hold every folder's lock (``run_lock``), or none: the first busy one is raised."""
    with contextlib.ExitStack() as stack:
        yield tuple(stack.enter_context(run_lock(folder)) for folder in folders)


class _Inherited:
    """A held lock's descriptor, for a multiprocessing child: pickled while the child is spawned,
    it passes the open lock file to the child, which keeps it until it exits."""

    def __init__(self, fd: int):
        self.fd = fd

    def __reduce__(self):
        from multiprocessing import reduction

        return _keep, (reduction.DupFd(self.fd),)


def _keep(dup) -> int:
    return dup.detach()  # the child's copy of the descriptor: open (and the lock held) until exit


def inherited() -> tuple[_Inherited, ...]:
    """The locks this process holds, as a multiprocessing child's argument: the child holds them
    too, so a killed parent leaves its folders locked until the child is gone as well."""
    return tuple(_Inherited(fd) for fd in _held)
