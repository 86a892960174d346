"""Reading run folders: ``<run>/<model>/result.json`` files, validated, with one-line errors."""

from __future__ import annotations

import json
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
    return data


def load_finished(model_dir: Path, recipe) -> dict | None:
    """The saved result if this model already finished with the same recipe, else None."""
    path = model_dir / "result.json"
    if not path.is_file():
        return None
    result = read_result(path)
    return result if result["recipe"] == recipe.as_dict() else None


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
