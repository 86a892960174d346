"""Every expected failure the library raises derives from ``MnistMlpError``, the one base the CLI
maps to one line and exit 2; the few exceptions outside it are listed with their reason."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import mnist_mlp
from mnist_mlp.errors import MnistMlpError

# Not expected failures of a user's command, so deliberately outside the base:
OUTSIDE = {
    "UnsupportedKerasError": "raised at import by an unusable Keras, before any command runs",
    "UndeclaredDrawError": "a layer the project itself declared wrongly: a bug, exit 3",
}
# Modules that import a backend-specific package at import time (not the CLI's concern here).
SKIPPED_MODULES = {"mnist_mlp.__main__"}


def error_classes():
    for info in pkgutil.walk_packages(mnist_mlp.__path__, "mnist_mlp."):
        if info.name in SKIPPED_MODULES:
            continue
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Exception) and cls.__module__ == info.name and name.endswith("Error"):
                yield name, cls


def test_every_expected_failure_derives_from_the_one_base():
    found = dict(error_classes())
    assert len(found) >= 15, sorted(found)  # the walk really found the package's errors
    outside = sorted(name for name, cls in found.items() if not issubclass(cls, MnistMlpError))
    assert outside == sorted(OUTSIDE)


def test_a_new_error_outside_the_base_is_exit_3_not_2(monkeypatch, capsys):
    from mnist_mlp.cli import main as cli

    class StrayError(ValueError):
        pass

    def broken(args):
        raise StrayError("a ValueError that is not a MnistMlpError")

    monkeypatch.setattr(cli, "cmd_models", broken)
    assert cli.main(["models"]) == cli.EXIT_INTERNAL
    assert "StrayError" in capsys.readouterr().err
