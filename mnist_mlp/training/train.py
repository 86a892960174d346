"""Train and evaluate one model with a recipe, writing its part of a run folder.

``train_and_evaluate(name, dataset, recipe, run_dir)`` is the one entry point: it compiles the
model the notebook's way, fits with the test set as validation data, evaluates, and writes
``<run_dir>/<name>/`` = ``result.json``, ``history.csv`` and ``model.keras`` (each atomically).
Interrupted runs resume from the last epoch's checkpoint (``mnist_mlp.training.checkpoint``), bit for bit
as if never stopped; finished ones are reused.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

from mnist_mlp.compat import compile_options, keras, seed_everything, versions
from mnist_mlp.errors import MnistMlpError
from mnist_mlp.files import atomic_path, real_folder, sweep_temporaries, write_json, write_text
from mnist_mlp.judging import trained_config
from mnist_mlp.notebook import draws, models
from mnist_mlp.notebook.preprocess import Dataset
from mnist_mlp.notebook.recipe import DEFAULT_RECIPE, Recipe
from mnist_mlp.training import checkpoint, compile_cache, results
from mnist_mlp.training.interrupt import StopOnInterrupt, sigint_stops_training
from mnist_mlp.training.results import HISTORY_KEYS


class EpochRecorder(keras.callbacks.Callback):
    """Records each finished epoch's metrics and timings (``epochs``, keyed by 0-based epoch), so a
    resumed run still reports every epoch; the checkpoint carries them across a restart."""

    def __init__(self, total_epochs: int, steps_per_epoch: int, announce, epochs: dict | None = None):
        super().__init__()
        self.total_epochs = total_epochs
        self.steps_per_epoch = steps_per_epoch
        self.announce = announce
        self.epochs: dict[int, dict] = dict(epochs or {})

    def on_epoch_begin(self, epoch, logs=None):
        self._start = self._validation_start = time.perf_counter()

    def on_test_begin(self, logs=None):
        self._validation_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        end = time.perf_counter()
        record = {key: float(logs[key]) for key in HISTORY_KEYS}
        if not all(math.isfinite(record[key]) for key in HISTORY_KEYS):
            # before the checkpoint callback keeps this epoch: a diverged run resumes nothing
            raise TrainingDivergedError(f"the loss became {record['loss']} in epoch {epoch + 1}")
        record["seconds"] = end - self._start
        record["step_ms"] = (self._validation_start - self._start) * 1000 / self.steps_per_epoch
        # Keep only epochs before this one: a restart redoes the epoch it was stopped in.
        self.epochs = {e: r for e, r in self.epochs.items() if e < epoch}
        self.epochs[epoch] = record
        self.announce(epoch + 1, self.total_epochs, record)


class TrainingDivergedError(MnistMlpError, ValueError):
    """The loss became NaN or infinite: the recipe cannot train this model."""


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
    recipe: Recipe = DEFAULT_RECIPE,
    run_dir: str | Path = "runs/latest",
    label: str = "",
    callbacks: list | None = None,
    restart: bool = False,
) -> results.RunResult:
    """Train ``name`` with ``recipe`` on ``dataset``; return (and write) its result.

    A checkpoint of the same run in ``run_dir`` is resumed, a finished result reused; one of
    another recipe, data, backend or Keras is refused (``ResumeMismatchError``) unless
    ``restart`` discards it. ``callbacks`` are extra Keras callbacks, run after the checkpoint.
    """
    spec = models.get_spec(name)
    out = real_folder(Path(run_dir) / name)
    sweep_temporaries(out)  # what a write killed in an earlier run left (the caller holds the lock)
    ident = checkpoint.identity(spec, recipe, dataset)
    if restart:
        _discard(out)
    done = results.load_finished(out)
    if done is not None:
        checkpoint.check_identity(checkpoint.result_identity(done), ident, out)
        print(f"{label}{name}: finished earlier in {out}, not retrained", flush=True)
        return done

    compile_cache.enable(keras.backend.backend())  # before the first compilation
    if recipe.seed is not None:
        seed_everything(recipe.seed)
    model = compile_model(models.build_model(spec.name, seed=recipe.seed), recipe)
    saved = checkpoint.load_resumable(out, lambda line: print(f"{label}{name}: {line}", flush=True),
                                      model, ident)
    if saved is not None:
        checkpoint.restore(model, saved)
        print(f"{label}{name}: resuming after epoch {saved.epoch + 1}/{recipe.epochs}", flush=True)
    first_epoch = 0 if saved is None else saved.epoch + 1
    steps = -(-len(dataset.x_train) // recipe.batch_size)
    recorder = EpochRecorder(recipe.epochs, steps, _print_epoch(f"{label}{name}"),
                             saved.history if saved else None)
    described = trained_config.DescribeAtTrainBegin(recipe.batch_size)
    started = time.perf_counter()
    if first_epoch < recipe.epochs:
        out.mkdir(parents=True, exist_ok=True)
        epoch_callbacks = [recorder, checkpoint.EpochCheckpoint(out, ident, lambda: recorder.epochs, saved),
                           StopOnInterrupt(), described, *(callbacks or [])]
        try:
            with sigint_stops_training():
                fit_epochs(model, dataset, recipe, first_epoch, epoch_callbacks)
        except TrainingDivergedError as diverged:
            raise TrainingDivergedError(f"{name}: {diverged} with learning rate {recipe.learning_rate}; "
                                        "choose a smaller --learning-rate (and --restart)") from None
    train_seconds = time.perf_counter() - started
    test_loss, test_accuracy = model.evaluate(
        dataset.x_test, dataset.y_test, batch_size=recipe.batch_size, verbose=0
    )

    epochs = [recorder.epochs[e] for e in sorted(recorder.epochs)]
    _check_finite(name, recipe, epochs, test_loss)
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
        data={"train_images": ident["train_images"], "test_images": ident["test_images"]},
        resumed=saved is not None,
        draws=draws.SCHEME,
    )
    with atomic_path(out / "model.keras", suffix=".keras") as tmp:
        model.save(tmp)
    write_text(out / "history.csv", history_csv(result))
    if described.description is not None:  # what Keras trained (the matrix diffs it between envs)
        write_json(out / trained_config.SAVED, described.description)
    write_json(out / "result.json", result.to_json())  # last: its presence means "finished"
    checkpoint.discard(out)
    return result


def fit_epochs(model, dataset: Dataset, recipe: Recipe, first_epoch: int, callbacks: list) -> None:
    """Fit epochs ``first_epoch`` .. ``recipe.epochs - 1``, one ``fit`` call per epoch, each on the
    training set in the order ``draws.epoch_order`` gives that epoch (Keras shuffles nothing)."""
    for epoch in range(first_epoch, recipe.epochs):
        order = draws.epoch_order(recipe.seed, epoch, len(dataset.x_train))
        model.fit(
            dataset.x_train[order],
            dataset.y_train[order],
            batch_size=recipe.batch_size,
            epochs=epoch + 1,
            initial_epoch=epoch,
            shuffle=False,
            validation_data=(dataset.x_test, dataset.y_test),
            verbose=0,
            callbacks=callbacks,
        )
        if model.stop_training:
            break


def _discard(out: Path) -> None:
    """``--restart``: forget this model's checkpoints and finished files."""
    checkpoint.discard(out)
    for name in ("result.json", "history.csv", "model.keras", trained_config.SAVED):
        (out / name).unlink(missing_ok=True)


def _check_finite(name: str, recipe: Recipe, epochs: list[dict], test_loss: float) -> None:
    for i, record in enumerate(epochs, start=1):
        if not all(math.isfinite(record[key]) for key in HISTORY_KEYS):
            raise TrainingDivergedError(
                f"{name}: the loss became {record['loss']} in epoch {i} with learning rate "
                f"{recipe.learning_rate}; choose a smaller --learning-rate (and --restart)"
            )
    if not math.isfinite(test_loss):
        raise TrainingDivergedError(f"{name}: the test loss is {test_loss}; choose a smaller --learning-rate")


def history_csv(result: results.RunResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["epoch", *HISTORY_KEYS, "seconds"])
    for i, epoch in enumerate(result.epochs, start=1):
        writer.writerow([i, *(repr(getattr(epoch, k)) for k in HISTORY_KEYS), f"{epoch.seconds:.3f}"])
    return buffer.getvalue()
