"""Train and evaluate one model with a recipe, writing its part of a run folder.

``train_and_evaluate(name, dataset, recipe, run_dir)`` is the one entry point: it compiles the
model the notebook's way, fits with the test set as validation data, evaluates, and writes
``<run_dir>/<name>/`` = ``result.json``, ``history.csv`` and ``model.keras`` (each atomically).
Interrupted runs resume from Keras's ``BackupAndRestore`` checkpoint; finished ones are reused.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import shutil
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from mnist_mlp import models, results
from mnist_mlp.compat import compile_options, keras, seed_everything, versions
from mnist_mlp.files import atomic_path, write_json, write_text
from mnist_mlp.preprocess import preprocess
from mnist_mlp.recipe import NOTEBOOK, Recipe
from mnist_mlp.results import HISTORY_KEYS


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Preprocessed arrays: x float32 (N, 784) in [0, 1], y float32 one-hot (N, 10)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @classmethod
    def from_mnist(cls, mnist_arrays) -> Dataset:
        (x_train, y_train), (x_test, y_test) = mnist_arrays
        return cls(*preprocess(x_train, y_train), *preprocess(x_test, y_test))


class EpochRecorder(keras.callbacks.Callback):
    """Persists each finished epoch's metrics and timings to ``progress.json`` (atomically), so a
    resumed run still reports every epoch, not only those after the restart."""

    def __init__(self, path: Path, total_epochs: int, steps_per_epoch: int, announce):
        super().__init__()
        self.path = path
        self.total_epochs = total_epochs
        self.steps_per_epoch = steps_per_epoch
        self.announce = announce
        self.epochs: dict[int, dict] = {}
        if path.is_file():
            saved = results.read_json(path, "progress")
            self.epochs = {int(k): v for k, v in saved["epochs"].items()}

    def on_epoch_begin(self, epoch, logs=None):
        self._start = self._validation_start = time.perf_counter()

    def on_test_begin(self, logs=None):
        self._validation_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        end = time.perf_counter()
        record = {key: float(logs[key]) for key in HISTORY_KEYS}
        record["seconds"] = end - self._start
        record["step_ms"] = (self._validation_start - self._start) * 1000 / self.steps_per_epoch
        # Keep only epochs before this one: a restart redoes the epoch it was killed in.
        self.epochs = {e: r for e, r in self.epochs.items() if e < epoch}
        self.epochs[epoch] = record
        write_json(self.path, {"epochs": self.epochs})
        self.announce(epoch + 1, self.total_epochs, record)


def compile_model(model, recipe: Recipe):
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=recipe.learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        **compile_options(recipe.steps_per_execution, recipe.jit_compile),
    )
    return model


def _print_epoch(prefix: str):
    started = time.perf_counter()

    def announce(epoch: int, total: int, record: dict) -> None:
        elapsed = time.perf_counter() - started
        left = record["seconds"] * (total - epoch)
        print(
            f"{prefix} epoch {epoch}/{total} - loss {record['loss']:.4f} - acc "
            f"{record['accuracy']:.4f} - val_loss {record['val_loss']:.4f} - val_acc "
            f"{record['val_accuracy']:.4f} - {record['seconds']:.1f}s "
            f"({elapsed:.0f}s elapsed, ~{left:.0f}s left for this model)",
            flush=True,
        )

    return announce


def train_and_evaluate(
    name: str,
    dataset: Dataset,
    recipe: Recipe = NOTEBOOK,
    run_dir: str | Path = "runs/latest",
    label: str = "",
    callbacks: list | None = None,
) -> results.RunResult:
    """Train ``name`` with ``recipe`` on ``dataset``; return (and write) its result.

    ``callbacks`` are extra Keras callbacks, run after the epoch recorder and the backup.
    """
    spec = models.get_spec(name)
    out = Path(run_dir) / name
    done = results.load_finished(out, recipe)
    if done is not None:
        print(f"{label}{name}: finished earlier in {out}, not retrained", flush=True)
        return done

    if recipe.seed is not None:
        seed_everything(recipe.seed)
    model = compile_model(models.build_model(spec.name), recipe)
    steps = -(-len(dataset.x_train) // recipe.batch_size)
    recorder = EpochRecorder(out / "progress.json", recipe.epochs, steps, _print_epoch(f"{label}{name}"))
    backup_dir = out / "backup"
    started = time.perf_counter()
    model.fit(
        dataset.x_train,
        dataset.y_train,
        batch_size=recipe.batch_size,
        epochs=recipe.epochs,
        shuffle=True,
        validation_data=(dataset.x_test, dataset.y_test),
        verbose=0,
        callbacks=[recorder, keras.callbacks.BackupAndRestore(str(backup_dir)), *(callbacks or [])],
    )
    train_seconds = time.perf_counter() - started
    test_loss, test_accuracy = model.evaluate(
        dataset.x_test, dataset.y_test, batch_size=recipe.batch_size, verbose=0
    )

    epochs = [recorder.epochs[e] for e in sorted(recorder.epochs)]
    result = results.RunResult(
        model=name,
        params=models.param_totals(model),
        recipe=recipe,
        epochs=tuple(
            results.EpochRecord(*(e[key] for key in HISTORY_KEYS), seconds=e["seconds"])
            for e in epochs
        ),
        test_loss=float(test_loss),
        test_accuracy=float(test_accuracy),
        # The first epoch pays for tracing/compilation; the median of the rest is the step cost.
        step_ms=statistics.median(e["step_ms"] for e in (epochs[1:] or epochs)),
        environment=versions(),
        train_seconds=train_seconds,
        finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    with atomic_path(out / "model.keras", suffix=".keras") as tmp:
        model.save(tmp)
    write_text(out / "history.csv", history_csv(result))
    write_json(out / "result.json", result.to_json())  # last: its presence means "finished"
    shutil.rmtree(backup_dir, ignore_errors=True)
    (out / "progress.json").unlink(missing_ok=True)
    return result


def history_csv(result: results.RunResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["epoch", *HISTORY_KEYS, "seconds"])
    for i, epoch in enumerate(result.epochs, start=1):
        writer.writerow([i, *(repr(getattr(epoch, k)) for k in HISTORY_KEYS), f"{epoch.seconds:.3f}"])
    return buffer.getvalue()
