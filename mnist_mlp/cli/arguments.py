"""The CLI's argument types: each turns one command-line word into a checked value, or an
``argparse.ArgumentTypeError`` whose message names what was wrong and what is allowed."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
from pathlib import Path

from mnist_mlp.errors import EXIT_USAGE


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


MAX_SEED = 2**32 - 1  # NumPy's and Keras's seeds are unsigned 32-bit


def seed_value(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to {MAX_SEED}, got {text}")
    return value


def model_name(text: str) -> str:
    from mnist_mlp.notebook.models import REGISTRY

    if text not in REGISTRY:
        raise argparse.ArgumentTypeError(f"unknown model {text!r}; valid names: {', '.join(REGISTRY)}")
    return text


PATH_MAX_FALLBACK = 4096  # Linux's
NAME_MAX_FALLBACK = 255  # bytes in one path component on ext4, XFS, btrfs and tmpfs


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the problem and where the usage is (exit 2),
    not the usage block and the error."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _pathconf(path: Path, name: str, fallback: int) -> int:
    """``os.pathconf`` of the file system holding ``path`` (or its nearest existing parent)."""
    for folder in (path, *path.parents):
        with contextlib.suppress(OSError, ValueError):
            if folder.exists():
                return os.pathconf(folder, name)
    return fallback


def _name_max(path: Path) -> int:
    """The longest name the file system holding ``path`` takes."""
    return _pathconf(path, "PC_NAME_MAX", NAME_MAX_FALLBACK)


def _path_max(path: Path) -> int:
    """The longest path (in bytes, with its terminating NUL) the system takes for ``path``."""
    return _pathconf(path, "PC_PATH_MAX", PATH_MAX_FALLBACK)


def path_value(text: str) -> Path:
    """A path the file system can hold: UTF-8 (it is written into JSON and Markdown) and no
    component longer than the file system's name limit."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError(
            f"the path {text.encode('utf-8', 'backslashreplace').decode()!r} is not UTF-8; "
            "rename it or choose another") from None
    if not text.isprintable():
        raise argparse.ArgumentTypeError(
            f"the path {text.encode('unicode_escape').decode()!r} holds a line break or another control "
            "character; rename it or choose another")
    path = Path(text)
    limit = _name_max(path.absolute())
    for part in path.parts:
        if len(os.fsencode(part)) > limit:
            raise argparse.ArgumentTypeError(
                f"the name {part[:24]}... is {len(os.fsencode(part))} bytes, longer than the file "
                f"system's {limit}; choose a shorter path")
    whole = len(os.fsencode(path.absolute()))
    if whole >= (path_max := _path_max(path.absolute())):
        raise argparse.ArgumentTypeError(
            f"the path is {whole} bytes, too long for the file system's {path_max}; choose a shorter path")
    return path


def data_value(text: str) -> str:
    """``--data``: a path as ``path_value``, kept as text (as the data module takes it)."""
    return str(path_value(text))


def folder_value(text: str) -> Path:
    """A path as ``path_value`` that is a folder or does not exist yet (an output folder)."""
    path = path_value(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder; give a folder "
                                         "(a new one is created)")
    return path


def ranged_float(low: float, high: float, what: str):
    """An argument type: a number from ``low`` to ``high`` (both included), named ``what``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not low <= value <= high:  # NaN fails too
            raise argparse.ArgumentTypeError(f"expected {what}, a number from {low:g} to {high:g}, "
                                             f"got {text!r}")
        return value

    return parse


# The statistics' inputs: a false-alarm rate of a one-sided test, a loss of accuracy a candidate
# may have, a slowdown threshold, a speed budget's divisor.
significance = ranged_float(1e-9, 0.5, "a false-alarm rate")
accuracy_margin = ranged_float(0.0, 0.5, "an accuracy loss as a fraction")
slowdown_threshold = ranged_float(0.001, 10.0, "a slowdown as a fraction")
budget_margin = ranged_float(1.0, 100.0, "a divisor of the measured MFU")
