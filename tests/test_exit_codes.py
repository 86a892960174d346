"""Exit codes mean one thing each: 0 pass, 1 a gate failed, 2 bad input or an expected fault,
3 an unexpected error (a bug: its traceback, then one line asking for a report), 130 Ctrl-C."""

from __future__ import annotations

import errno
import os

import pytest
from cli_run import run_cli

from mnist_mlp.cli import main as cli

INTERNAL_LINE = "mnist-mlp: internal error (exit 3): please report it"


def test_the_codes_are_distinct():
    assert (cli.EXIT_GATE_FAILED, cli.EXIT_USAGE, cli.EXIT_INTERNAL) == (1, 2, 3)


@pytest.mark.parametrize(
    "error", [ZeroDivisionError("division by zero"), OSError(errno.EIO, "Input/output error", "x"),
              KeyError("missing")],
    ids=["ZeroDivisionError", "OSError-EIO", "KeyError"])
def test_an_unexpected_error_is_exit_3_with_its_traceback(capsys, monkeypatch, error):
    def broken(args):
        raise error

    monkeypatch.setattr(cli, "cmd_models", broken)
    code, _, err = run_cli(capsys, "models")
    assert code == cli.EXIT_INTERNAL == 3, err
    assert "Traceback (most recent call last):" in err and type(error).__name__ in err
    assert err.strip().splitlines()[-1] == INTERNAL_LINE


def test_expected_faults_stay_exit_2_and_ctrl_c_130(capsys, monkeypatch, tmp_path):
    code, _, err = run_cli(capsys, "verify", str(tmp_path / "nowhere"))
    assert code == 2 and INTERNAL_LINE not in err

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_models", interrupted)
    code, _, err = run_cli(capsys, "models")
    assert code == 130 and INTERNAL_LINE not in err


@pytest.mark.parametrize("argv", [["train", "../../etc"], ["frobnicate"], [],
                                  ["train", "arch1_relu", "--epochs", "0"],
                                  ["reproduce", "--jobs", "-1"], ["verify"]],
                         ids=["unknown-model", "unknown-command", "no-command", "bad-value", "bad-jobs",
                              "missing-arg"])
def test_a_usage_error_is_one_line_naming_the_problem_and_the_help(capsys, argv):
    code, out, err = run_cli(capsys, *argv)
    assert code == cli.EXIT_USAGE == 2
    assert out == "" and len(err.strip().splitlines()) == 1, err
    assert ": error: " in err and "--help'" in err


def test_a_diverging_learning_rate_is_one_line_and_exit_2_with_nothing_written(tiny_cli, tmp_path, capsys):
    """Divergence is bad input (the recipe), not a gate: training stops at the first epoch whose
    loss is not finite, says so in one line naming the model, epoch and learning rate, exit 2, and
    leaves no result (the gate has nothing to judge) and no checkpoint of the diverged epoch."""
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", "arch1_relu", "--epochs", "3", "--learning-rate", "1e30",
                           "--out", str(run))
    assert code == 2, err[-2000:]
    assert err.count("\n") == 1
    assert "arch1_relu: the loss became nan in epoch 1 with learning rate 1e+30" in err
    assert "smaller --learning-rate" in err
    assert not (run / "arch1_relu" / "result.json").exists()
    assert not (run / "arch1_relu" / "checkpoint.npz").exists()


# --- paths the file system cannot hold: one line at parse time, exit 2 ---------------------------
LONG_NAME = "x" * 300  # over every common file system's 255-byte name limit


@pytest.mark.parametrize("argv", [
    ["train", "arch1_relu", "--out", f"runs/{LONG_NAME}"],
    ["reproduce", "--out", LONG_NAME],
    ["verify", LONG_NAME],
    ["matrix", "--out", LONG_NAME, "a"],
], ids=["train-out", "reproduce-out", "verify-run", "matrix-out"])
def test_a_path_with_a_name_over_the_limit_is_one_line_exit_2(capsys, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, *argv)
    assert code == cli.EXIT_USAGE and out == "", err
    assert len(err.strip().splitlines()) == 1 and "longer than" in err and "255" in err, err
    assert list(tmp_path.iterdir()) == []  # nothing created


def test_a_path_that_is_not_utf8_is_one_line_exit_2(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    not_utf8 = os.fsdecode(b"run-\xff")  # how Python hands such an argv word over (surrogateescape)
    for argv in (["train", "arch1_relu", "--out", not_utf8], ["report", not_utf8],
                 ["matrix", "--out", "m", not_utf8]):
        code, out, err = run_cli(capsys, *argv)
        assert code == cli.EXIT_USAGE and out == "", err
        assert len(err.strip().splitlines()) == 1 and "not UTF-8" in err, err
    assert list(tmp_path.iterdir()) == []


def test_an_out_that_is_an_existing_file_is_one_line_exit_2(capsys, tmp_path):
    existing = tmp_path / "matrix.html"
    existing.write_text("mine")
    for argv in (["matrix", "--out", str(existing), str(tmp_path)],
                 ["train", "arch1_relu", "--out", str(existing)],
                 ["reproduce", "--out", str(existing)]):
        code, out, err = run_cli(capsys, *argv)
        assert code == cli.EXIT_USAGE and out == "", err
        assert len(err.strip().splitlines()) == 1 and "is a file" in err, err
    assert existing.read_text() == "mine"


def test_a_path_error_met_while_working_is_one_line_exit_2(capsys, monkeypatch):
    """What the parse-time check cannot see (a name made long by the program, a component that
    became a file meanwhile) is still the path's fault, not a bug."""
    def too_long(args):
        raise OSError(errno.ENAMETOOLONG, "File name too long", "runs/" + LONG_NAME)

    monkeypatch.setattr(cli, "cmd_models", too_long)
    code, _, err = run_cli(capsys, "models")
    assert code == cli.EXIT_USAGE and len(err.strip().splitlines()) == 1, err
    assert "File name too long" in err and INTERNAL_LINE not in err


@pytest.mark.parametrize("argv", [["verify", "run\nx"], ["report", "a\tb"], ["--data", "m\n.npz", "data"],
                                  ["matrix", "--out", "m", "x\ny"]],
                         ids=["verify", "report", "data", "matrix"])
def test_a_path_with_a_line_break_is_refused_in_one_line(capsys, argv):
    code, out, err = run_cli(capsys, *argv)
    assert code == cli.EXIT_USAGE and out == "", err
    assert len(err.strip().splitlines()) == 1 and "control character" in err, err


@pytest.mark.parametrize("argv", [
    ["compare", "a", "b", "--margin", "nan"], ["compare", "a", "b", "--margin", "5"],
    ["compare", "a", "b", "--alpha", "2"], ["bench-compare", "a.json", "b.json", "--alpha", "5"],
    ["bench-compare", "a.json", "b.json", "--threshold", "5e-324"],
    ["bench-calibrate", "a.json", "--margin", "1e308"], ["calibrate", "a", "--alpha", "1e-300"],
], ids=["margin-nan", "margin-5", "alpha-2", "ab-alpha-5", "threshold-tiny", "budget-huge", "alpha-tiny"])
def test_a_statistic_setting_outside_its_range_is_a_usage_error_not_a_verdict(capsys, argv):
    """Seen: --alpha 2 failed a comparison of identical builds, --margin nan passed a worse one."""
    code, out, err = run_cli(capsys, *argv)
    assert code == cli.EXIT_USAGE and out == "", err
    assert len(err.strip().splitlines()) == 1 and "a number from" in err, err


def test_a_batch_size_no_backend_can_count_is_one_line_exit_2(capsys, tmp_path):
    """Seen: a 400-digit --batch-size reached Keras's fit and ended in StopIteration (exit 3)."""
    huge = "9" * 400
    code, out, err = run_cli(capsys, "train", "softmax", "--batch-size", huge, "--out", str(tmp_path / "r"))
    assert code == cli.EXIT_USAGE and out == "" and len(err.strip().splitlines()) == 1, err
    assert "batch_size must be a whole number from 1 to 2147483647" in err
