"""``mnist-mlp``: data, models, summary, train, reproduce (the main job), verify, report, calibrate,
compare, matrix, bench-check, bench-calibrate, bench-compare. Commands parse arguments and
dispatch; the work is in the modules (the main job's orchestration in ``mnist_mlp.training.reproduce``).

Every expected failure (unknown model, bad value, bad data, unwritable folder, malformed result)
is one line on stderr and exit code 2; a failed accuracy gate is exit code 1; an unexpected error
(a bug) is its traceback and exit code 3.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import os
import sys
import traceback
from pathlib import Path

from mnist_mlp.cli.arguments import (
    MAX_SEED,
    OneLineParser,
    accuracy_margin,
    budget_margin,
    data_value,
    folder_value,
    model_name,
    path_value,
    positive_float,
    positive_int,
    seed_value,
    significance,
    slowdown_threshold,
)
from mnist_mlp.cli.commands import (
    cmd_bench_calibrate,
    cmd_bench_check,
    cmd_bench_compare,
    cmd_calibrate,
    cmd_compare,
    cmd_data,
    cmd_matrix,
    cmd_models,
    cmd_report,
    cmd_reproduce,
    cmd_summary,
    cmd_train,
    cmd_verify,
)

# The exit codes are the CLI's contract; they are declared beside MnistMlpError.
from mnist_mlp.errors import EXIT_GATE_FAILED, EXIT_INTERNAL, EXIT_USAGE, MnistMlpError  # noqa: F401

# ---------------------------------------------------------------------------------------------
# Commands


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="mnist-mlp", description="The notebook's MNIST MLPs: build, train, gate and report."
    )
    parser.add_argument("--data", type=data_value,
                        help="an mnist.npz or a folder of IDX files (else MNIST_MLP_DATA, caches, download)")
    parser.add_argument(
        "--backend", choices=("jax", "tensorflow", "torch"),
        help="Keras 3 backend (else $KERAS_BACKEND, else the fastest installed: jax, tensorflow, torch)",
    )
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log where the data came from, and TensorFlow's/XLA's own log lines")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_model_commands(sub)
    _add_gate_commands(sub)
    _add_bench_commands(sub)
    return parser


def _training_options(p: argparse.ArgumentParser, several_seeds: bool = False) -> None:
    """The recipe's options (defaults: ``recipe.DEFAULT_RECIPE``), --out and --restart."""
    from mnist_mlp.notebook.recipe import DEFAULT_RECIPE

    p.add_argument("--epochs", type=positive_int, default=DEFAULT_RECIPE.epochs)
    p.add_argument("--batch-size", type=positive_int, default=DEFAULT_RECIPE.batch_size)
    p.add_argument("--learning-rate", type=positive_float, default=DEFAULT_RECIPE.learning_rate)
    seed = p.add_mutually_exclusive_group() if several_seeds else p
    seed.add_argument("--seed", type=seed_value, default=DEFAULT_RECIPE.seed,
                      help=f"0 to {MAX_SEED} (default {DEFAULT_RECIPE.seed})")
    if several_seeds:
        seed.add_argument("--seeds", type=seed_value, nargs="+", metavar="S",
                          help="train every model once per seed, into OUT/seed-S/ (one run "
                               "folder per seed, as calibrate takes them)")
    p.add_argument("--steps-per-execution", type=positive_int, default=DEFAULT_RECIPE.steps_per_execution,
                   help=f"training steps per compiled call (speed only; "
                        f"default {DEFAULT_RECIPE.steps_per_execution})")
    p.add_argument("--out", type=folder_value,
                   help="run folder (default runs/<timestamp>); reuse it to resume")
    p.add_argument("--restart", action="store_true",
                   help="discard the checkpoints and results in --out of the models trained, start over")


def _add_model_commands(sub) -> None:
    """data, models, summary, train, reproduce."""
    sub.add_parser("data", help="fetch/verify MNIST and print where it came from").set_defaults(func=cmd_data)
    sub.add_parser("models", help="table of the eight architectures").set_defaults(func=cmd_models)
    p = sub.add_parser("summary", help="Keras's summary of one model")
    p.add_argument("name", type=model_name)
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("train", help="train one model with the notebook's recipe")
    p.add_argument("name", type=model_name)
    _training_options(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("reproduce", help="the main job: train all models, report, gate")
    p.add_argument("--models", nargs="+", type=model_name, metavar="NAME", help="default: all eight")
    p.add_argument("--jobs", type=positive_int, metavar="N",
                   help="worker processes, each pinned to its own cores (default: one per usable "
                        "core where that is predicted faster than this process, else 1); 1 trains "
                        "in this process, one model after the other")
    _training_options(p, several_seeds=True)
    p.set_defaults(func=cmd_reproduce)


def _add_gate_commands(sub) -> None:
    """verify, report, calibrate, compare, matrix: the accuracy verdicts and reports."""
    from mnist_mlp.judging import compare
    from mnist_mlp.judging.gates import accuracy

    p = sub.add_parser("verify", help="gate a run folder's accuracies (or several seeds' mean) "
                                      "against golden/measured/gates.json")
    p.add_argument("run_dirs", nargs="+", type=path_value, metavar="RUN_DIR",
                   help="one run folder, or several of different seeds (e.g. OUT/seed-*)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("report", help="(re)build figures and report.html/.md from a run folder")
    p.add_argument("run_dir", type=path_value)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("calibrate", help="write gates.json from several seeds' reproduce runs")
    p.add_argument("run_dirs", nargs="+", type=path_value)
    p.add_argument("--alpha", type=significance, default=accuracy.ALPHA,
                   help="false-alarm rate per gated model (default %(default)s)")
    p.add_argument("--write", type=path_value, default=Path("golden/measured/gates.json"))
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("compare", help="paired accuracy comparison of two builds over the same seeds")
    p.add_argument("base", help="the base build's run folder (seed-S/ folders), or 'golden': the "
                   "calibration seeds kept in golden/measured/gates.json for the candidate's stack")
    p.add_argument("candidate", type=path_value, help="the candidate build's run folder")
    p.add_argument("--alpha", type=significance, default=compare.ALPHA,
                   help="false-alarm rate per model (default %(default)s)")
    p.add_argument("--margin", type=accuracy_margin, default=compare.MARGIN,
                   help="accuracy (0-1) the candidate may lose before it counts as worse "
                        "(default %(default)s)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("matrix", help="merge run folders of several envs into one report")
    p.add_argument("run_dirs", nargs="+", type=path_value, metavar="RUN_DIR")
    p.add_argument("--out", type=folder_value, required=True,
                   help="folder for matrix.html, matrix.md, figures/")
    p.add_argument("--reference", help="the env the others are compared with (default: the first)")
    p.set_defaults(func=cmd_matrix)


def _add_bench_commands(sub) -> None:
    """bench-check, bench-calibrate, bench-compare: the speed gate and the A/B."""
    from mnist_mlp.judging import abcompare
    from mnist_mlp.judging.gates import speed

    p = sub.add_parser("bench-check",
                       help="gate pytest-benchmark JSON against golden/measured/benchmarks.json")
    p.add_argument("bench_json", type=path_value, metavar="BENCH_JSON")
    p.set_defaults(func=cmd_bench_check)

    p = sub.add_parser("bench-calibrate", help="set one backend's MFU budgets from benchmark runs")
    p.add_argument("bench_json", nargs="+", type=path_value, metavar="BENCH_JSON")
    p.add_argument("--margin", type=budget_margin, default=speed.MARGIN,
                   help="minimum MFU = worst run's MFU / margin (default %(default)s)")
    p.add_argument("--provisional", help="why these budgets are not final (kept in the file)")
    p.add_argument("--write", type=path_value, default=Path("golden/measured/benchmarks.json"))
    p.set_defaults(func=cmd_bench_calibrate)

    p = sub.add_parser("bench-compare", help="A/B: is CANDIDATE significantly slower than BASE?")
    p.add_argument("base", type=path_value, metavar="BASE_JSON")
    p.add_argument("candidate", type=path_value, metavar="CANDIDATE_JSON")
    p.add_argument("--threshold", type=slowdown_threshold, default=abcompare.THRESHOLD,
                   help="smallest slowdown that fails, as a fraction (default %(default)s)")
    p.add_argument("--alpha", type=significance, default=abcompare.ALPHA,
                   help="significance level of the one-sided test: Wilcoxon signed-rank on "
                        "benchmarks/ab.py's paired rounds, else Mann-Whitney U (default %(default)s)")
    p.set_defaults(func=cmd_bench_compare)


# Errors the user can fix by freeing space or fixing permissions; the rerun resumes.
DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS}
PATH_ERRNOS = {errno.ENAMETOOLONG, errno.ENOTDIR, errno.EISDIR, errno.ELOOP, errno.EEXIST}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    if args.backend:  # before anything imports Keras, which reads it once
        os.environ["KERAS_BACKEND"] = args.backend
    from mnist_mlp.quiet import native_logs_hidden

    try:
        with contextlib.nullcontext() if args.verbose else native_logs_hidden():
            return _run(args)
    except BrokenPipeError:  # `mnist-mlp data | head -2`: the reader left; stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 128 + 13  # as if killed by SIGPIPE, what shells report for such a pipe
    except Exception:  # noqa: BLE001 (no expected fault: a bug; exit 3, never 1 or 2)
        traceback.print_exc()
        print(f"mnist-mlp: internal error (exit {EXIT_INTERNAL}): please report it", file=sys.stderr)
        return EXIT_INTERNAL


def _run(args) -> int:
    """Run the command; every ``MnistMlpError`` (an expected failure) is one line and exit 2."""
    from mnist_mlp.cli import environment

    try:
        environment.check()
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at exit
        return code
    except MnistMlpError as exc:
        print(f"mnist-mlp: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        if exc.errno in PATH_ERRNOS:
            print(f"mnist-mlp: error: cannot use {exc.filename}: {exc.strerror}; choose another path",
                  file=sys.stderr)
            return EXIT_USAGE
        if exc.errno not in DISK_ERRNOS:
            raise
        print(f"mnist-mlp: error: cannot write {exc.filename}: {exc.strerror}; free space or fix "
              "permissions, then rerun the same command to resume", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("mnist-mlp: interrupted; rerun the same command to resume (or add --restart to "
              "start over)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
