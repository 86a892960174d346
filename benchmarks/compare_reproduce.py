"""Training wall time of our path (``train_and_evaluate``, as ``mnist-mlp reproduce`` runs it) vs
the notebook's way (plain ``model.fit`` on the TensorFlow backend), same models, same epochs.

    python benchmarks/compare_reproduce.py                       # the seven, 2 epochs each
    python benchmarks/compare_reproduce.py --epochs 20 --models arch1_relu

Each side runs in its own process (a process holds one Keras backend) and times, per model,
compile + fit (with per-epoch validation on the test set) + evaluate; start-up and data loading
are the same for both and left out. Ours uses the backend ``mnist_mlp`` picks (KERAS_BACKEND, else
the fastest installed) and the default recipe; the notebook's way is its own code with the
TensorFlow backend, ``verbose=0`` (its progress bar would only slow it down).
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
    from mnist_mlp import data, models
    from mnist_mlp.preprocess import preprocess

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
    from mnist_mlp import data
    from mnist_mlp.recipe import Recipe
    from mnist_mlp.train import Dataset, train_and_evaluate

    dataset = Dataset.from_mnist(data.load_mnist())
    seconds = {}
    with tempfile.TemporaryDirectory() as run_dir:
        for name in names:
            started = time.perf_counter()
            train_and_evaluate(name, dataset, Recipe(epochs=epochs), run_dir, label="  ")
            seconds[name] = time.perf_counter() - started
    return seconds


WORKERS = {"notebook": notebook_way, "ours": ours}


def run_worker(worker: str, names: list[str], epochs: int) -> tuple[dict[str, float], str]:
    """Run one side in a fresh process (this script with --worker); return its seconds, backend."""
    env = dict(os.environ)
    if worker == "notebook":
        env["KERAS_BACKEND"] = "tensorflow"
    cmd = [sys.executable, __file__, "--worker", worker, "--epochs", str(epochs), "--models", *names]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    line = next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))
    seconds, backend = json.loads(line.removeprefix("RESULT "))
    return seconds, backend


def main() -> int:
    from mnist_mlp.models import NOTEBOOK_MODELS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(NOTEBOOK_MODELS))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        from mnist_mlp.compat import backend_name

        seconds = WORKERS[args.worker](args.models, args.epochs)
        print("RESULT", json.dumps([seconds, backend_name()]))
        return 0
    notebook, notebook_backend = run_worker("notebook", args.models, args.epochs)
    fast, fast_backend = run_worker("ours", args.models, args.epochs)
    print(f"{'model':<18} {'notebook s':>10} {'ours s':>8} {'ours/nb':>8}"
          f"   ({args.epochs} epochs; notebook on {notebook_backend}, ours on {fast_backend})")
    for name in args.models:
        ratio = fast[name] / notebook[name]
        print(f"{name:<18} {notebook[name]:>10.1f} {fast[name]:>8.1f} {ratio:>8.2f}")
    total_nb, total_ours = sum(notebook.values()), sum(fast.values())
    print(f"{'total':<18} {total_nb:>10.1f} {total_ours:>8.1f} {total_ours / total_nb:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
