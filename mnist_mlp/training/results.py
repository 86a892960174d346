"""A trained model's result: the ``RunResult`` schema, its ``result.json`` form, and run folders.

``RunResult`` is the one definition of what a result holds. ``train.py`` builds one and writes
``to_json()``; every reader gets one from ``from_json`` (validated, one-line ``ResultError``) or
``load_run``. The JSON keeps the flat layout every result.json has had (``history`` as one list
per metric, ``epoch_seconds``, ``schema``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mnist_mlp.errors import MALFORMED, MnistMlpError
from mnist_mlp.files import real_folder
from mnist_mlp.notebook.recipe import SPEED_ONLY, Recipe, RecipeError

SCHEMA_VERSION = 1
HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")
PARAM_KEYS = ("total", "trainable", "non_trainable")
KERAS_DRAWS = "keras"  # results written before the project drew them: the backend did
ALL_OF_MNIST = {"train_images": 60000, "test_images": 10000}  # what a result without ``data`` used


class ResultError(MnistMlpError, ValueError):
    """A run folder or result file that cannot be read; the message names the file and the fix."""


@dataclasses.dataclass(frozen=True)
class EpochRecord:
    """One finished epoch: Keras's logged metrics (validation = the test set) and its wall time."""

    loss: float
    accuracy: float
    val_loss: float
    val_accuracy: float
    seconds: float


@dataclasses.dataclass(frozen=True)
class RunResult:
    """One model trained with one recipe: what ``<run>/<model>/result.json`` holds.

    ``step_ms`` is the median training step time of the epochs after the first (which pays for
    tracing); ``environment`` is ``compat.versions()`` of the training process.
    """

    model: str
    params: Mapping[str, int]  # PARAM_KEYS, as model.summary() counts them
    recipe: Recipe
    epochs: tuple[EpochRecord, ...]
    test_loss: float
    test_accuracy: float
    step_ms: float
    environment: Mapping[str, Any]
    train_seconds: float = 0.0
    finished: str = "-"  # ISO 8601, UTC
    data: Mapping[str, int] | None = None  # train_images, test_images; None: all of MNIST
    resumed: bool = False  # trained in more than one process (a checkpoint resumed)
    draws: str = KERAS_DRAWS  # who drew the initial weights and batch order (mnist_mlp.notebook.draws)

    @property
    def seed(self) -> int | None:
        return self.recipe.seed

    @property
    def images(self) -> Mapping[str, int]:
        """``train_images`` and ``test_images`` it trained and validated on."""
        return self.data or ALL_OF_MNIST

    @property
    def backend(self) -> str:
        """The Keras backend the model trained on (results from before backends: tensorflow)."""
        return self.environment.get("backend", "tensorflow")

    def metric(self, key: str) -> list[float]:
        """One of HISTORY_KEYS over the epochs, e.g. ``metric("val_loss")``."""
        return [getattr(epoch, key) for epoch in self.epochs]

    def to_json(self) -> dict[str, Any]:
        """The result.json object; ``from_json(result.to_json(), path) == result``."""
        return {
            "schema": SCHEMA_VERSION,
            "model": self.model,
            "params": dict(self.params),
            "recipe": self.recipe.as_dict(),
            "seed": self.seed,
            "history": {key: self.metric(key) for key in HISTORY_KEYS},
            "test_loss": self.test_loss,
            "test_accuracy": self.test_accuracy,
            "epoch_seconds": [epoch.seconds for epoch in self.epochs],
            "step_ms": self.step_ms,
            "train_seconds": self.train_seconds,
            "environment": dict(self.environment),
            "finished": self.finished,
            **({"data": dict(self.data)} if self.data is not None else {}),
            "resumed": self.resumed,
            "draws": self.draws,
        }

    @classmethod
    def from_json(cls, data: Any, path: str | Path) -> RunResult:
        """A validated RunResult from a parsed result.json; any problem is one ResultError line
        naming ``path`` and the fix."""

        def bad(what: str) -> ResultError:
            return ResultError(f"{path}: malformed result.json ({what}); delete it and retrain that model")

        if not isinstance(data, dict):
            raise bad("not a JSON object")
        schema = data.get("schema", SCHEMA_VERSION)
        if schema != SCHEMA_VERSION:
            raise bad(f"schema {schema!r}, this version reads {SCHEMA_VERSION}")

        def field(key: str, kind: type, required: bool = True, default=None):
            value = data.get(key, default) if not required else data.get(key)
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, kind):
                raise bad(f"{key!r} missing or not a {kind.__name__}")
            return value

        def numbers(values: Any, key: str) -> list[float]:
            if not isinstance(values, list) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
            ):
                raise bad(f"{key!r} missing or not a list of numbers")
            return [float(v) for v in values]

        params = field("params", dict)
        if not all(isinstance(params.get(key), int) for key in PARAM_KEYS):
            raise bad(f"'params' needs whole numbers {', '.join(PARAM_KEYS)}")
        try:
            recipe = Recipe(**field("recipe", dict))
        except (TypeError, RecipeError) as exc:
            raise bad(f"'recipe': {exc}") from None
        history = field("history", dict)
        columns = [numbers(history.get(key), f"history.{key}") for key in HISTORY_KEYS]
        columns.append(numbers(data.get("epoch_seconds"), "epoch_seconds"))
        if len({len(column) for column in columns}) != 1:
            raise bad("history and epoch_seconds differ in length")
        data_sizes = data.get("data")
        if data_sizes is not None and not (isinstance(data_sizes, dict) and all(
                isinstance(data_sizes.get(k), int) for k in ("train_images", "test_images"))):
            raise bad("'data' needs whole numbers train_images, test_images")
        environment = field("environment", dict)
        versions = [k for k in ENVIRONMENT_TEXT if not isinstance(environment.get(k, ""), (str, type(None)))]
        if versions:
            raise bad(f"'environment' needs text for {', '.join(versions)}")
        result = cls(
            model=field("model", str),
            params={key: params[key] for key in PARAM_KEYS},
            recipe=recipe,
            epochs=tuple(EpochRecord(*values) for values in zip(*columns)),
            test_loss=field("test_loss", float),
            test_accuracy=field("test_accuracy", float),
            step_ms=field("step_ms", float),
            environment=environment,
            train_seconds=field("train_seconds", float, required=False, default=0.0),
            finished=field("finished", str, required=False, default="-"),
            data=data_sizes,
            resumed=field("resumed", bool, required=False, default=False),
            draws=field("draws", str, required=False, default=KERAS_DRAWS),
        )
        validate_values(result, path)
        return result


# The environment fields the gates, reports and matrix read as text (compat.versions() writes them).
ENVIRONMENT_TEXT = ("python", "keras", "backend", "numpy", "cpu", "machine", "tensorflow", "jax", "torch")


def _not_json(constant: str):
    raise ValueError(f"{constant} is not JSON (the files are written strict)")


def read_json(path: Path, what: str) -> dict:
    """A strict JSON object (NaN and Infinity refused, as the writers never write them)."""
    try:
        text = Path(path).read_text("utf-8")
        data = json.loads(text, parse_constant=_not_json)
    except FileNotFoundError:
        raise ResultError(f"{path}: no {what} file here") from None
    except (OSError, UnicodeDecodeError, RecursionError) as exc:  # before ValueError: one of them
        reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise ResultError(f"{path}: malformed {what} file ({reason}); delete it and rerun") from None
    except ValueError as exc:  # not JSON, or NaN / Infinity text: name the field that holds it
        found = re.search(r'"([^"\\]{1,40})"\s*:\s*(NaN|-?Infinity)', text)
        reason = f"{found[1]} is {found[2]}, not a JSON number" if found else exc
        raise ResultError(f"{path}: malformed {what} file ({reason}); delete it and rerun") from None
    if not isinstance(data, dict):
        raise ResultError(f"{path}: malformed {what} file (not a JSON object); delete it and rerun")
    return data


def read_result(path: Path, model: str | None = None) -> RunResult:
    """One validated result.json (any problem: one ResultError naming the file and the fix); with
    ``model``, it must be that model's result (the folder it was read from names it)."""
    data = read_json(path, "result.json")
    try:
        result = RunResult.from_json(data, path)
    except ResultError:
        raise
    except MALFORMED as exc:
        raise ResultError(f"{path}: malformed result.json ({type(exc).__name__}: {exc}); "
                          "delete it and retrain that model") from None
    if model is not None and result.model != model:
        named = result.model if result.model.isprintable() else repr(result.model)  # one line
        raise ResultError(f"{path}: holds {named}'s result, not {model}'s (moved or swapped "
                          "between model folders); put it back in its own folder, or delete it and retrain")
    return result


def validate_values(result: RunResult, path: str | Path) -> None:
    """Raise ResultError unless the accuracies lie in [0, 1] and the losses are finite numbers."""
    checks = [("test_accuracy", result.test_accuracy, True), ("test_loss", result.test_loss, False)]
    for key in HISTORY_KEYS:
        checks += [(f"history.{key}[{i}]", v, "accuracy" in key) for i, v in enumerate(result.metric(key))]
    for key, value, is_accuracy in checks:
        ok = math.isfinite(value) and (0.0 <= value <= 1.0 if is_accuracy else True)
        if not ok:
            wanted = "an accuracy in [0, 1]" if is_accuracy else "a finite number"
            raise ResultError(
                f"{path}: malformed result.json ({key} is {value!r}, not {wanted}); "
                "delete it and retrain that model"
            )


def load_finished(model_dir: Path) -> RunResult | None:
    """The saved result if this model finished in ``model_dir``, else None (the caller checks
    that it is the same run: train.py's identity check)."""
    path = model_dir / "result.json"
    return read_result(path, Path(model_dir).name) if path.is_file() else None


def load_run(run_dir: str | Path) -> dict[str, RunResult]:
    """Every registered model's result in ``run_dir``, in registry order, keyed by model name.

    Folders that are not a registered model (``figures/``, a user's notes) are ignored. Raises
    ResultError when the folder is missing or holds no result at all; a malformed result.json is
    an error too (never silently skipped).
    """
    from mnist_mlp.notebook.models import names

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ResultError(f"{run_dir}: no such run folder; pass the --out folder of a train/reproduce run")
    found = [name for name in names() if (real_folder(run_dir / name) / "result.json").is_file()]
    if not found:
        raise ResultError(
            f"{run_dir}: no <model>/result.json in this folder; "
            f"run 'mnist-mlp reproduce --out {run_dir}' first"
        )
    run = {name: read_result(run_dir / name / "result.json", name) for name in found}
    check_one_run(run_dir, run)
    return run


def check_one_run(run_dir: Path, run: Mapping[str, RunResult]) -> None:
    """A run folder holds one run: every result of one seed (a ``seed-S`` folder's, of S), one
    recipe and the same images; else a ResultError naming the result that does not belong."""
    wanted = folder_seed(run_dir)
    first = next(iter(run.values()))
    for model, result in run.items():
        if wanted is not None and result.seed != wanted:
            raise ResultError(f"{run_dir / model / 'result.json'}: holds seed {result.seed}'s result, "
                              f"not seed {wanted}'s; put it back in its own seed folder, or retrain it")
        if result.seed != first.seed:
            raise ResultError(f"{run_dir}: {model} trained seed {result.seed}, {first.model} seed "
                              f"{first.seed}: one run folder holds one seed; retrain one of them "
                              "into its own --out")
    if problem := recipe_difference((f"{run_dir}/{model}", result) for model, result in run.items()):
        raise ResultError(problem.replace("; rerun both with the same options",
                                          ": one run folder holds one run; retrain into another --out"))


# The per-seed folder rule: ``reproduce --seeds`` trains seed S into OUT/seed-S/; every reader
# finds seeds by it.
SEED_FOLDER = re.compile(r"seed-(0|[1-9][0-9]*)")  # as seed_folder writes it: ASCII, no leading zero


def seed_folder(out: str | Path, seed: int, per_seed_folders: bool = True) -> Path:
    """Where seed ``seed`` trains: ``out/seed-S`` (refused if it is a link) with per-seed folders,
    else ``out``."""
    return real_folder(Path(out) / f"seed-{seed}") if per_seed_folders else Path(out)


def folder_seed(folder: str | Path) -> int | None:
    """The seed a ``seed-S`` folder holds, None for any other folder."""
    match = SEED_FOLDER.fullmatch(Path(folder).name)
    return int(match[1]) if match else None


# What may differ between results that are compared or judged together: the seed (results of
# several seeds are compared seed by seed) and what changes speed only.
RECIPE_FIELDS_FREE = ("seed", *SPEED_ONLY, "jit_compile")


def comparable_recipe(result: RunResult) -> dict:
    """What must be equal across envs: the recipe (seeds aside) and the images trained and tested on."""
    return {**{k: v for k, v in result.recipe.as_dict().items() if k not in RECIPE_FIELDS_FREE},
            **result.images}


def recipe_difference(named_results: Iterable[tuple[str, RunResult]]) -> str | None:
    """The first result whose recipe (seeds aside) or images differ from the first one's, named
    with both builds and the fields that differ; None when all are comparable."""
    first_name, first = None, None
    for name, result in named_results:
        recipe = comparable_recipe(result)
        if first is None:
            first_name, first = name, recipe
        elif recipe != first:
            changed = sorted(k for k in first.keys() | recipe.keys() if first.get(k) != recipe.get(k))
            return (f"{name} ({result.model}) trained a different recipe than {first_name}: "
                    + ", ".join(f"{k} {recipe.get(k)!r} vs {first.get(k)!r}" for k in changed)
                    + "; rerun both with the same options")
    return None
