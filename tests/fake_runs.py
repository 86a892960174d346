"""Fake run results for tests: one plausible ``RunResult`` factory and the run-folder writer
(conftest serves both as fixtures too)."""

from __future__ import annotations


def make_result(
    name: str,
    *,
    epochs: int = 20,
    train_loss: float = 0.02,
    gap: float = 0.07,
    reach_epoch: int | None = 5,
    test_accuracy: float = 0.981,
    seed: int | None = 0,
    backend: str = "tensorflow",
    keras: str = "3.15.0",
):
    """A plausible RunResult for ``name`` (the one fake result of the test suite): train loss
    falls to ``train_loss``, validation loss ends ``gap`` above it, validation accuracy first
    reaches 97.5 % at ``reach_epoch`` (None: never) and ends at ``test_accuracy`` when that is
    above 97.5 %. Parameter counts are the notebook's (golden/notebook/architectures.json)."""
    import numpy as np

    from mnist_mlp.notebook import golden
    from mnist_mlp.notebook.recipe import Recipe
    from mnist_mlp.training.results import PARAM_KEYS, EpochRecord, RunResult

    epoch = np.arange(1, epochs + 1)
    loss = train_loss + (0.25 - train_loss) * np.exp(-(epoch - 1) / 3)
    val_loss = np.linspace(0.12, loss[-1] + gap, epochs)
    reached = epoch >= (reach_epoch or epochs + 1)
    val_accuracy = np.where(
        reached,
        np.linspace(0.976, max(test_accuracy, 0.976), epochs),
        np.linspace(0.95, 0.974, epochs),
    )
    counts = golden.load("architectures")["models"][name]
    return RunResult(
        model=name,
        params={key: counts[key] for key in PARAM_KEYS},
        recipe=Recipe(epochs=epochs, seed=seed),
        epochs=tuple(
            EpochRecord(float(a), float(1 - a / 4), float(b), float(c), 3.0)
            for a, b, c in zip(loss, val_loss, val_accuracy)
        ),
        test_loss=float(val_loss[-1]),
        test_accuracy=test_accuracy,
        step_ms=6.5,
        environment={
            "python": "3.11.9", "keras": keras, "backend": backend,
            "tensorflow": "2.21.0", "numpy": "2.4.6", "machine": "x86_64",
            "cpu": "Crafted CPU @ 2.0GHz", "cpu_count": 2,
        },
        train_seconds=3.0 * epochs,
        finished="2026-01-01T00:00:00+00:00",
    )


def write_run(run_dir, results) -> None:
    """Save RunResults as a run folder's ``<model>/result.json`` files, as training does."""
    import json

    for result in results:
        folder = run_dir / result.model
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "result.json").write_text(json.dumps(result.to_json()), "utf-8")
