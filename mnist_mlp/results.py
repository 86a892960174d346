"""Reading run folders: ``<run>/<model>/result.json`` files, validated, with one-line errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

SCHEMA_VERSION = 1
REQUIRED = {
    "model": str,
    "params": dict,
    "recipe": dict,
    "history": dict,
    "test_loss": float,
    "test_accuracy": float,
    "epoch_seconds": list,
    "step_ms": float,
    "environment": dict,
}


class ResultError(ValueError):
    """A run folder or result file that cannot be read; the message names the file and the fix."""


def read_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except FileNotFoundError:
        raise ResultError(f"{path}: no {what} file here") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultError(f"{path}: malformed {what} file ({exc}); delete it and rerun") from None
    if not isinstance(data, dict):
        raise ResultError(f"{path}: malformed {what} file (not a JSON object); delete it and rerun")
    return data


def read_result(path: Path) -> dict:
    """One validated result.json."""
    data = read_json(path, "result.json")
    for key, kind in REQUIRED.items():
        value = data.get(key)
        if kind is float and isinstance(value, int):
            value = float(value)
        if not isinstance(value, kind):
            raise ResultError(
                f"{path}: malformed result.json ({key!r} missing or not a {kind.__name__}); "
                "delete it and retrain that model"
            )
    validate_values(data, path)
    return data


def validate_values(data: dict, path: Path) -> None:
    """Raise ResultError unless the accuracies lie in [0, 1] and the losses are finite numbers."""
    history = data.get("history", {})
    checks = [("test_accuracy", data.get("test_accuracy"), True), ("test_loss", data.get("test_loss"), False)]
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        checks += [(f"history.{key}[{i}]", v, "accuracy" in key) for i, v in enumerate(history.get(key, []))]
    for key, value, is_accuracy in checks:
        ok = isinstance(value, (int, float)) and math.isfinite(value)
        if ok and is_accuracy:
            ok = 0.0 <= value <= 1.0
        if not ok:
            wanted = "an accuracy in [0, 1]" if is_accuracy else "a finite number"
            raise ResultError(
                f"{path}: malformed result.json ({key} is {value!r}, not {wanted}); "
                "delete it and retrain that model"
            )


def load_finished(model_dir: Path) -> dict | None:
    """The saved result if this model finished in ``model_dir``, else None."""
    path = model_dir / "result.json"
    return read_result(path) if path.is_file() else None


def load_run(run_dir: str | Path) -> dict[str, dict]:
    """Every registered model's result in ``run_dir``, in registry order, keyed by model name.

    Folders that are not a registered model (``figures/``, a user's notes) are ignored. Raises
    ResultError when the folder is missing or holds no result at all; a malformed result.json is
    an error too (never silently skipped).
    """
    from mnist_mlp.models import names

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ResultError(f"{run_dir}: no such run folder; pass the --out folder of a train/reproduce run")
    found = [name for name in names() if (run_dir / name / "result.json").is_file()]
    if not found:
        raise ResultError(
            f"{run_dir}: no <model>/result.json in this folder; "
            f"run 'mnist-mlp reproduce --out {run_dir}' first"
        )
    return {name: read_result(run_dir / name / "result.json") for name in found}
