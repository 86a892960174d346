"""Running ``mnist-mlp`` in the test process, as the CLI tests share it."""

from __future__ import annotations

from mnist_mlp.cli import main as cli


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """``mnist-mlp ARGV...`` in this process: its exit code, stdout and stderr."""
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err
