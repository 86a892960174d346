"""The notebook's MNIST architectures, declared as data, and the one builder that reads them.

Each ``ModelSpec`` is a transcription of one notebook cell: hidden widths, the stddev of each
hidden layer's ``RandomNormal(mean=0)`` kernel initializer, and whether BatchNormalization and
Dropout follow each hidden Dense layer. The output layer is always ``Dense(10, softmax)`` with
Keras's default initializer, as in the notebook.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from mnist_mlp.errors import MnistMlpError

INPUT_DIM = 28 * 28  # every model reads a flattened 28 x 28 image
NUM_CLASSES = 10  # and ends in Dense(10, softmax)

STDDEV_NOTE = (
    "The notebook's comment derives sigma = sqrt(2/(n_i + n_i+1)) = 0.055 for the second hidden "
    "layer of its BatchNormalization models, but its code passes stddev=0.55; we reproduce the "
    "code (0.55) as written."
)


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """One architecture: hidden Dense(ReLU) widths and init stddevs, then Dense(10, softmax).

    ``batch_norm``: a BatchNormalization after each hidden Dense layer.
    ``dropout``: a Dropout with this rate after each hidden block (after BN where present).
    """

    name: str
    section: str
    hidden_units: tuple[int, ...]
    init_stddevs: tuple[float, ...]
    batch_norm: bool = False
    dropout: float | None = None
    note: str = ""

    def __post_init__(self):
        if len(self.hidden_units) != len(self.init_stddevs):
            raise ValueError(f"{self.name}: one init stddev per hidden layer")

    @property
    def layer_summary(self) -> str:
        """``784-600-100-10`` style, with ``+BN``/``+Dropout(0.5)`` flags."""
        widths = "-".join(str(w) for w in (INPUT_DIM, *self.hidden_units, NUM_CLASSES))
        flags = (" +BN" if self.batch_norm else "") + (
            f" +Dropout({self.dropout})" if self.dropout else ""
        )
        return widths + flags


REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("arch1_relu", "Architecture 1: i) MLP + ReLU + ADAM", (600, 100), (0.062, 0.125)),
        ModelSpec(
            "arch1_bn", "Architecture 1: ii) MLP + Batch-Norm on hidden Layers + AdamOptimizer",
            (600, 100), (0.039, 0.55), batch_norm=True, note=STDDEV_NOTE,
        ),
        ModelSpec(
            "arch1_bn_dropout", "Architecture 1: iii) MLP + Dropout + AdamOptimizer",
            (600, 100), (0.039, 0.55), batch_norm=True, dropout=0.5,
            note="Titled 'MLP + Dropout' but the notebook's code has BatchNormalization too; kept. "
            + STDDEV_NOTE,
        ),
        ModelSpec(
            "arch2_relu", "Architecture 2: i) MLP + ReLU + ADAM", (500, 250, 125), (0.062, 0.125, 0.125)
        ),
        ModelSpec(
            "arch2_bn_dropout",
            "Architecture 2: ii) MLP + Batch Normalization + Dropout + AdamOptimizer",
            (500, 250, 125), (0.039, 0.55, 0.55), batch_norm=True, dropout=0.5, note=STDDEV_NOTE,
        ),
        ModelSpec(
            "arch3_relu", "Architecture 3: i) MLP + ReLU + ADAM",
            (700, 350, 200, 100, 50), (0.062, 0.125, 0.25, 0.1, 0.5),
        ),
        ModelSpec(
            "arch3_bn_dropout",
            "Architecture 3: ii) MLP + Batch Normalization + Dropout + AdamOptimizer",
            (700, 350, 200, 100, 50), (0.039, 0.25, 0.55, 0.15, 0.3), batch_norm=True, dropout=0.5,
            note=STDDEV_NOTE,
        ),
        ModelSpec(
            "softmax", "Softmax classifier (the baseline every MLP must beat)", (), (),
            note="The notebook's heading only; it trains no such model, so there is no published run.",
        ),
    )
}
NOTEBOOK_MODELS = tuple(name for name in REGISTRY if name != "softmax")


class UnknownModelError(MnistMlpError, ValueError):
    """A model name that is not in the registry."""


def names() -> tuple[str, ...]:
    """The eight model names: the notebook's seven in notebook order, then ``softmax``."""
    return tuple(REGISTRY)


def get_spec(name: str) -> ModelSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownModelError(
            f"unknown model {name!r}; valid names: {', '.join(REGISTRY)}"
        ) from None


def build_model(name: str, seed: int | None = None):
    """An uncompiled ``keras.Sequential`` for ``name`` with the initial weights ``draws`` gives
    ``seed``: the same arrays on every backend and Keras version (fresh ones without a seed)."""
    from mnist_mlp.compat import keras, seed_everything
    from mnist_mlp.notebook import draws

    spec = get_spec(name)
    if seed is not None:
        seed_everything(seed, deterministic_ops=False)
    layers = [keras.Input((INPUT_DIM,))]
    for units, stddev in zip(spec.hidden_units, spec.init_stddevs):
        # A fresh initializer per layer: one Keras 3 instance would repeat the same values.
        init = keras.initializers.RandomNormal(mean=0.0, stddev=stddev)
        layers.append(keras.layers.Dense(units, activation="relu", kernel_initializer=init))
        if spec.batch_norm:
            layers.append(keras.layers.BatchNormalization())
        if spec.dropout:
            layers.append(keras.layers.Dropout(spec.dropout))
    layers.append(keras.layers.Dense(NUM_CLASSES, activation="softmax"))
    model = keras.Sequential(layers, name=name)
    draws.set_initial_weights(model, seed)
    return model


def param_totals(model) -> dict[str, int]:
    """Total, trainable and non-trainable parameter counts, as ``model.summary()`` prints them."""
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    return {"total": trainable + non_trainable, "trainable": trainable, "non_trainable": non_trainable}
