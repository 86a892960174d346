"""Exit codes mean one thing each: 0 pass, 1 a gate failed, 2 bad input or an expected fault,
3 an unexpected error (a bug: its traceback, then one line asking for a report), 130 Ctrl-C."""

from __future__ import annotations

import errno

import pytest
from cli_run import run_cli

from mnist_mlp import cli

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
