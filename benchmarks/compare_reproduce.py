"""Training wall time of our path (``train_and_evaluate``, as ``mnist-mlp reproduce`` runs it) vs
the notebook's way (plain ``model.fit`` on the TensorFlow backend), same models, same epochs.

    python benchmarks/compare_reproduce.py                       # the seven, 2 epochs each
    python benchmarks/compare_reproduce.py --epochs 20 --models arch1_relu

Three runs, each in its own process (a process holds one Keras backend), each timing per model
compile + fit (with per-epoch validation on the test set) + evaluate; start-up and data loading
are the same for all and left out:

- the notebook's way: its own code on TensorFlow, ``verbose=0`` (a progress bar only slows it);
- ours on TensorFlow: the same backend, so ``ours-tf / notebook`` is what our code path buys;
- ours on the fastest backend (the one ``mnist_mlp`` picks with KERAS_BACKEND unset, or
  ``--fast-backend``): ``ours-fast / ours-tf`` is what the backend change buys.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def notebook_way(names: list[str], epochs: int) -> dict[str, float]:
    from mnist_mlp.notebook import data, models
    from mnist_mlp.notebook.preprocess import preprocess

    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    x_train, y_train = preprocess(x_train, y_train)
    x_test, y_test = preprocess(x_test, y_test)
    seconds = {}
    for name in names:
        started = time.perf_counter()
        model = models.build_model(name)
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        model.fit(x_train, y_train, batch_size=128, epochs=epochs, verbose=0,
                  validation_data=(x_test, y_test))
        model.evaluate(x_test, y_test, verbose=0)
        seconds[name] = time.perf_counter() - started
    return seconds


def ours(names: list[str], epochs: int) -> dict[str, float]:
    from mnist_mlp.notebook import data
    from mnist_mlp.notebook.recipe import Recipe
    from mnist_mlp.training.train import Dataset, train_and_evaluate

    dataset = Dataset.from_mnist(data.load_mnist())
    seconds = {}
    with tempfile.TemporaryDirectory() as run_dir:
        for name in names:
            started = time.perf_counter()
            train_and_evaluate(name, dataset, Recipe(epochs=epochs), run_dir, label="  ")
            seconds[name] = time.perf_counter() - started
    return seconds


WORKERS = {"notebook": notebook_way, "ours": ours}


def run_worker(worker: str, names: list[str], epochs: int, backend: str | None):
    """Run one side in a fresh process (this script with --worker) on ``backend`` (None: the one
    mnist_mlp picks); return its seconds and the backend it really ran on."""
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    if backend:
        env["KERAS_BACKEND"] = backend
    cmd = [sys.executable, __file__, "--worker", worker, "--epochs", str(epochs), "--models", *names]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    line = next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))
    seconds, ran_on = json.loads(line.removeprefix("RESULT "))
    if backend and ran_on != backend:
        raise RuntimeError(f"{worker} asked for {backend} but ran on {ran_on}")
    return seconds, ran_on


def main() -> int:
    from mnist_mlp.notebook.models import NOTEBOOK_MODELS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(NOTEBOOK_MODELS))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--fast-backend", help="backend for the third run (default: mnist_mlp's pick)")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        from mnist_mlp.compat import backend_name

        seconds = WORKERS[args.worker](args.models, args.epochs)
        print("RESULT", json.dumps([seconds, backend_name()]))
        return 0
    notebook, _ = run_worker("notebook", args.models, args.epochs, "tensorflow")
    ours_tf, _ = run_worker("ours", args.models, args.epochs, "tensorflow")
    ours_fast, fast = run_worker("ours", args.models, args.epochs, args.fast_backend)
    print(f"{args.epochs} epochs; seconds; notebook and ours-tf on tensorflow, ours-fast on {fast}")
    print(f"{'model':<18} {'notebook':>9} {'ours-tf':>8} {'ours-fast':>9} "
          f"{'tf/nb':>6} {'fast/tf':>7} {'fast/nb':>7}")
    rows = [(name, notebook[name], ours_tf[name], ours_fast[name]) for name in args.models]
    rows.append(("total", sum(notebook.values()), sum(ours_tf.values()), sum(ours_fast.values())))
    for name, nb, tf, fast_s in rows:
        print(f"{name:<18} {nb:>9.1f} {tf:>8.1f} {fast_s:>9.1f} "
              f"{tf / nb:>6.2f} {fast_s / tf:>7.2f} {fast_s / nb:>7.2f}")
    print("tf/nb: our code path on the same backend; fast/tf: the backend change; fast/nb: both")
    return 0


if __name__ == "__main__":
    sys.exit(main())
