"""The CLI's argument types: each turns one command-line word into a checked value, or an
``argparse.ArgumentTypeError`` whose message names what was wrong and what is allowed."""

from __future__ import annotations

import argparse
import math


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


def jobs_count(text: str) -> int:
    from mnist_mlp.pool import usable_cores

    value, cores = positive_int(text), len(usable_cores())
    if value > cores:
        raise argparse.ArgumentTypeError(f"{value} is more than the {cores} usable cores; "
                                         f"use at most --jobs {cores}")
    return value


def model_name(text: str) -> str:
    from mnist_mlp.models import REGISTRY

    if text not in REGISTRY:
        raise argparse.ArgumentTypeError(f"unknown model {text!r}; valid names: {', '.join(REGISTRY)}")
    return text
