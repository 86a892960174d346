"""The notebook's three closing observations, turned into checks over a run's results.

Pure functions (no I/O): ``observations(results)`` runs every check; the report runs them on a
run's results and on the notebook's own published numbers (``notebook_results``). Also here:
what the notebook's ``weight_plot`` actually picked with ``get_weights()[0], [2], [4]``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from mnist_mlp.notebook import golden
from mnist_mlp.notebook.models import NOTEBOOK_MODELS, get_spec
from mnist_mlp.notebook.recipe import Recipe
from mnist_mlp.report.blocks import Table
from mnist_mlp.training.results import EpochRecord, RunResult

Results = Mapping[str, RunResult]

HOLDS = "holds"
FAILS = "does not hold"
UNCHECKABLE = "not checkable with the models present"

OVERFITTING_PAIRS = (
    ("arch1_relu", "arch1_bn_dropout"),
    ("arch2_relu", "arch2_bn_dropout"),
    ("arch3_relu", "arch3_bn_dropout"),
)
CONVERGENCE_LEVELS = (0.975, 0.98)  # "close to 98 %": the verdict uses the first, both are shown
CONVERGENCE_EPOCH = 15
DEPTH_SPREAD = 0.01
FLOAT_SLACK = 1e-9  # accuracies are k/10000 in binary floating point: 0.99 - 0.98 > 0.01


@dataclasses.dataclass(frozen=True)
class Claim:
    """One of the notebook's closing observations and how this report tests it."""

    name: str
    text: str
    test: str


CLAIMS = (
    Claim(
        "1. Batch Normalization and Dropout reduce overfitting",
        "Batch Normalization and Dropout layers reduce the variance of the model (prevent it from "
        "overfitting to the train data). The performance of the MLP on train data is much better "
        "with BN and Dropout.",
        "Gap = final validation loss - final train loss. Holds when each *_bn_dropout model's gap "
        "is smaller than its *_relu twin's, for every architecture pair present. The second "
        "sentence is read as the same statement: Dropout raises the training loss itself.",
    ),
    Claim(
        "2. All models reach close to 98 % within 15 epochs",
        "All the models are able to minimize the loss and give close to 98% accuracy after just 15 "
        "epochs.",
        f"Reading 'close to 98 %' as {CONVERGENCE_LEVELS[0]:.1%} validation accuracy: holds when "
        f"every notebook model present reaches it by epoch {CONVERGENCE_EPOCH}; the first epoch "
        f"at {CONVERGENCE_LEVELS[1]:.0%} is shown too. Softmax is not one of the notebook's models.",
    ),
    Claim(
        "3. Depth makes little difference",
        "For MNIST data, even a shallow NN works well, there's not much difference in the "
        "performance of models on increasing the depth of the neural network.",
        f"Holds when the final test accuracies of the notebook models present (at least two "
        f"depths) span at most {DEPTH_SPREAD * 100:.0f} percentage point, i.e. 100 of the 10,000 "
        "test images. The threshold is a judgement, not a measurement: a smaller spread is small "
        "next to the several points every one of these MLPs gains over a linear softmax "
        "classifier, and of the order that changing only the random seed moves one model "
        "(golden/measured/gates.json lists measured seeds).",
    ),
)
WEIGHT_PLOT_NOTE = (
    "Each panel is one Dense layer's kernel, found by layer, for every Dense layer. The notebook's "
    "weight_plot instead takes get_weights()[0], [2] and [4] and labels them 'Hidden Layer 1', "
    "'Hidden Layer 2' and 'Output Layer'; that is right only for arch1_relu. Where it is not, "
    "the model's section below says what the notebook actually plotted."
)
NOTEBOOK_LABELS = ("Hidden Layer 1", "Hidden Layer 2", "Output Layer")
NOTEBOOK_PICKS = (0, 2, 4)
NOTEBOOK_MEANT = ("hidden 1 kernel", "hidden 2 kernel", "output kernel")


@dataclasses.dataclass(frozen=True)
class Observation:
    """One notebook claim checked on one set of results: ``verdict`` is HOLDS, FAILS or
    UNCHECKABLE, ``evidence`` the numbers behind it."""

    claim: Claim
    evidence: str
    verdict: str
    table: Table | None = None


def percent(value: float) -> str:
    return f"{value:.2%}"


def loss_gap(result: RunResult) -> float:
    """Final validation loss minus final train loss: how far the model overfits."""
    last = result.epochs[-1]
    return last.val_loss - last.loss


def check_overfitting(results: Results) -> Observation:
    """Claim 1: each *_bn_dropout model's loss gap is smaller than its *_relu twin's."""
    pairs = [(a, b) for a, b in OVERFITTING_PAIRS if a in results and b in results]
    if not pairs:
        return Observation(
            CLAIMS[0], "Needs an *_relu model and its *_bn_dropout twin in the same run.",
            UNCHECKABLE,
        )
    rows = []
    for plain, regularized in pairs:
        gaps = loss_gap(results[plain]), loss_gap(results[regularized])
        rows.append((plain.split("_")[0], f"{gaps[0]:.4f}", f"{gaps[1]:.4f}",
                     "yes" if gaps[1] < gaps[0] else "no"))
    smaller = sum(row[3] == "yes" for row in rows)
    evidence = (
        f"The gap is smaller with BN + Dropout in {smaller} of the {len(rows)} architecture "
        "pair(s) present."
    )
    table = Table(("architecture", "gap, ReLU", "gap, BN + Dropout", "smaller with BN + Dropout"),
                  tuple(rows))
    return Observation(CLAIMS[0], evidence, HOLDS if smaller == len(rows) else FAILS, table)


def first_epoch_reaching(values: list[float], level: float) -> int | None:
    """The first epoch (1-based) whose value is at least ``level``; None if none is."""
    return next((epoch for epoch, value in enumerate(values, start=1) if value >= level), None)


def check_convergence(results: Results) -> Observation:
    """Claim 2: every notebook model reaches 97.5 % validation accuracy by epoch 15.

    A model that has not got there in a run shorter than 15 epochs is neither a pass nor a fail.
    """
    low, high = CONVERGENCE_LEVELS
    present = [n for n in NOTEBOOK_MODELS if n in results]
    if not present:
        return Observation(CLAIMS[1], "Needs at least one of the notebook's seven models.",
                           UNCHECKABLE)
    rows, late, unknown = [], [], []
    for model in present:
        values = results[model].metric("val_accuracy")
        reached = first_epoch_reaching(values, low)
        if reached is None or reached > CONVERGENCE_EPOCH:
            (late if len(values) >= CONVERGENCE_EPOCH else unknown).append(model)
        at_epoch = values[CONVERGENCE_EPOCH - 1] if len(values) >= CONVERGENCE_EPOCH else None
        rows.append((model, _epoch_text(reached), _epoch_text(first_epoch_reaching(values, high)),
                     "-" if at_epoch is None else percent(at_epoch), str(len(values))))
    verdict = FAILS if late else UNCHECKABLE if unknown else HOLDS
    evidence = (
        f"{len(present) - len(late) - len(unknown)} of {len(present)} notebook model(s) reach "
        f"{low:.1%} validation accuracy by epoch {CONVERGENCE_EPOCH}"
        + (f"; not: {', '.join(late)}" if late else "")
        + (f"; too few epochs to tell: {', '.join(unknown)}" if unknown else "")
        + "."
    )
    headers = ("model", f"first epoch >= {low:.1%}", f"first epoch >= {high:.0%}",
               f"val accuracy at epoch {CONVERGENCE_EPOCH}", "epochs run")
    return Observation(CLAIMS[1], evidence, verdict, Table(headers, tuple(rows)))


def _epoch_text(epoch: int | None) -> str:
    return "never" if epoch is None else str(epoch)


def check_depth(results: Results) -> Observation:
    """Claim 3: the notebook models' final test accuracies lie within DEPTH_SPREAD of each other.

    Checkable only with models of at least two depths: otherwise the spread says nothing about
    depth.
    """
    present = [n for n in NOTEBOOK_MODELS if n in results]
    depths = {n: len(get_spec(n).hidden_units) for n in present}
    if len(set(depths.values())) < 2:
        return Observation(
            CLAIMS[2], "Needs notebook models of at least two depths in the same run.", UNCHECKABLE
        )
    accuracy = {n: results[n].test_accuracy for n in present}
    best, worst = max(accuracy, key=accuracy.get), min(accuracy, key=accuracy.get)
    spread = accuracy[best] - accuracy[worst]
    within = spread <= DEPTH_SPREAD + FLOAT_SLACK
    evidence = (
        f"Test accuracies of the {len(present)} notebook model(s) present span "
        f"{spread * 100:.2f} percentage points (best {best} {percent(accuracy[best])}, worst "
        f"{worst} {percent(accuracy[worst])}): {'within' if within else 'more than'} "
        f"{DEPTH_SPREAD * 100:.0f} point."
    )
    rows = tuple((n, str(depths[n]), percent(accuracy[n])) for n in present)
    table = Table(("model", "hidden layers", "test accuracy"), rows)
    return Observation(CLAIMS[2], evidence, HOLDS if within else FAILS, table)


def observations(results: Results) -> list[Observation]:
    """The notebook's three observations, each checked against ``results``."""
    return [check_overfitting(results), check_convergence(results), check_depth(results)]


NOTEBOOK_RECIPE = Recipe(seed=None, steps_per_execution=1)  # the notebook's fit: unseeded, 1 step per call


def notebook_results() -> dict[str, RunResult]:
    """The notebook's published run (golden/notebook/seed_results.json) as RunResults, so every check
    and the loss figure's dashed curve read it through the same code as our runs."""
    architectures = golden.load("architectures")["models"]
    return {
        name: RunResult(
            model=name,
            params={key: architectures[name][key] for key in ("total", "trainable", "non_trainable")},
            recipe=NOTEBOOK_RECIPE,
            epochs=tuple(
                EpochRecord(e["loss"], e["acc"], e["val_loss"], e["val_acc"], float(e["seconds"]))
                for e in entry["epochs"]
            ),
            test_loss=entry["test_score"],
            test_accuracy=entry["test_accuracy"],
            step_ms=entry["median_us_per_sample"] * NOTEBOOK_RECIPE.batch_size / 1000,
            environment={"source": "the notebook's published run (golden/notebook/seed_results.json)"},
        )
        for name, entry in golden.load("seed_results")["models"].items()
    }


def weight_list_labels(name: str) -> list[str]:
    """What each entry of ``model.get_weights()`` is, in order, derived from the model's spec:
    Dense gives kernel and bias, BatchNormalization gamma, beta, moving mean and variance."""
    spec = get_spec(name)
    labels = []
    for i in range(1, len(spec.hidden_units) + 1):
        labels += [f"hidden {i} kernel", f"hidden {i} bias"]
        if spec.batch_norm:
            labels += [f"BN {i} {part}" for part in ("gamma", "beta", "moving mean",
                                                     "moving variance")]
    return labels + ["output kernel", "output bias"]


def notebook_weight_picks(name: str) -> list[tuple[str, str]]:
    """``(notebook's label, what it really plotted)`` for the notebook's weight_plot on ``name``."""
    labels = weight_list_labels(name)
    return [(label, labels[i] if i < len(labels) else "nothing (no such weight)")
            for label, i in zip(NOTEBOOK_LABELS, NOTEBOOK_PICKS)]
