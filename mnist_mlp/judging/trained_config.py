"""The whole configuration as trained: a canonical description of what Keras trains, and its diff.

``describe(model, fit_params)`` reads, after ``compile`` and at the start of ``fit``:

- ``model``: ``model.get_config()`` (every layer's config: units, activation, use_bias,
  initializers, regularizers, constraints, dtype policy, BatchNormalization and Dropout
  settings ...) with the model's class as ``class_name``;
- ``optimizer``: ``model.optimizer.get_config()`` with its class as ``class_name``;
- ``compile``: ``model.get_compile_config()`` without the optimizer (described above): loss,
  loss_weights, metrics, weighted_metrics, each by name or serialized config;
- ``keras``: the global settings training reads: floatx, epsilon, image_data_format and the
  global dtype policy;
- ``fit``: a Keras callback's ``self.params`` at ``on_train_begin`` (epochs, steps) plus the
  batch size, which Keras's params do not carry (the caller states the one it gave ``fit``;
  ``steps``, which Keras derives from it, cross-checks it).

The rule: the description is what Keras reports, converted to JSON values, with exactly the
changes declared in ``NORMALISATION`` below and nothing else dropped. Every entry names a path and
why that key legitimately varies between Keras 2.15 and 3.x (or between runs) without changing
what is trained:

- labels Keras generates (layer names such as ``dense_2``, the optimizer's default name) are
  dropped, and only while they are the generated ones: a name someone chose stays;
- Keras 2 spellings are mapped to Keras 3's (``batch_input_shape`` -> ``batch_shape``, a dtype
  policy -> its name, a resolved BatchNormalization axis ``[1]`` -> ``-1``);
- keys one version writes and the other does not are dropped only while they hold the neutral
  value that version writes when the feature is off (``quantization_config: null``,
  ``renorm: false``, ...): switched on, they show in the diff; likewise a Dropout's
  ``build_config``, which only Keras 2 writes and which repeats the previous layer's output shape;
- execution settings (``jit_compile``, ``steps_per_execution``, ``run_eagerly`` and the progress
  display ``verbose``) are out of scope, whatever their value: they change how fast a step runs or
  what is printed, not the arithmetic; each backend resolves them differently (PyTorch runs one
  step per execution, JAX resolves ``jit_compile="auto"`` to True, Keras 2 keeps "auto"); the
  speed tests and ``compat.compile_options`` own them.

Everywhere: numpy scalars become Python numbers, tuples lists, and every float is written as the
shortest decimal that reads back as the same float32, because Keras keeps hyper-parameters in
float32 variables (``get_config`` reports ``learning_rate=0.001`` as 0.0010000000474974513);
a change smaller than float32's precision is therefore not seen. No rule is per backend: JAX,
TensorFlow and PyTorch give the same description.

``diff(expected, actual)`` gives one line per differing field, by dotted path
(``optimizer.epsilon: expected 1e-07, got 0.001``). ``DescribeAtTrainBegin`` is the callback
that takes the description at the first ``on_train_begin`` (``train_and_evaluate`` calls ``fit``
once per epoch; later calls only advance ``fit.epochs`` to the epochs trained in all).

golden/notebook/trained_config.json holds the notebook's description per Keras major;
``python benchmarks/golden_trained_config.py --write`` regenerates the current major's section.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from mnist_mlp.compat import KERAS_3, keras
from mnist_mlp.judging.config_diff import SAVED, diff
from mnist_mlp.notebook import golden, models

MNIST_TRAIN_IMAGES = 60000  # the notebook fits on all of MNIST's training images
GOLDEN = "trained_config"
_UNSET = object()


@dataclasses.dataclass(frozen=True)
class Rule:
    """One normalisation: at ``path`` (``[*]`` any list index), rename the key, replace the value,
    or drop the key (always, while it equals ``neutral``, or while ``when(value, owner)`` holds,
    ``owner`` being the nearest enclosing serialized object: the dict with its ``class_name``)."""

    path: str
    why: str
    rename: str | None = None
    replace: Callable[[Any], Any] | None = None
    neutral: Any = _UNSET
    when: Callable[[Any, dict], bool] | None = None
    always: bool = False

    def drops(self, value: Any, owner: dict) -> bool:
        """Whether this rule drops ``value`` (inside the serialized object ``owner``)."""
        if self.always:
            return True
        if self.neutral is not _UNSET:
            return value == self.neutral and type(value) is type(self.neutral)
        return self.when is not None and self.when(value, owner)


def _snake(name: str) -> str:
    """``BatchNormalization`` -> ``batch_normalization``, as Keras derives default names."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _is_generated_layer_name(name: Any, layer: dict) -> bool:
    """Keras's default name for this layer's class (``dense``, ``dense_2``; Keras 2 ``input_1``)."""
    stems = {_snake(layer.get("class_name", "")), "input"}
    return isinstance(name, str) and re.fullmatch(rf"(?:{'|'.join(stems)})(?:_\d+)?", name) is not None


def _is_default_optimizer_name(name: Any, optimizer: dict) -> bool:
    """The optimizer's default name: its class name (Keras 2 ``Adam``) or the snake-case one
    numbered (Keras 3 ``adam``, ``adam_3``, ``loss_scale_optimizer``)."""
    stems = {re.escape(str(optimizer.get("class_name", ""))), _snake(optimizer.get("class_name", ""))}
    return isinstance(name, str) and re.fullmatch(rf"(?:{'|'.join(stems)})(?:_\d+)?", name) is not None


def _policy_name(dtype: Any) -> Any:
    """A serialized float dtype policy (Keras 3 DTypePolicy, Keras 2 Policy) as its name."""
    if isinstance(dtype, dict) and dtype.get("class_name") in ("DTypePolicy", "Policy"):
        config = dtype.get("config", {})
        if set(config) == {"name"}:
            return config["name"]
    return dtype


def _resolved_axis(axis: Any) -> Any:
    """Keras 2's built BatchNormalization axis ``[1]`` (of a 2-D input) as the argument -1."""
    return -1 if axis == [1] else axis


LAYER = "model.layers[*].config"
INITIALIZER = "model.layers[*].config.*_initializer.config"

# The declared table: every change describe() makes to what Keras reports (module docstring).
NORMALISATION: tuple[Rule, ...] = (
    # Generated labels.
    Rule(f"{LAYER}.name", when=_is_generated_layer_name,
         why="auto-generated layer names count the layers built earlier in the process "
             "(dense_7) and differ between Keras 2 (input_1) and 3 (input_layer)"),
    Rule("optimizer.name", when=_is_default_optimizer_name,
         why="the optimizer's default name: its class name in Keras 2 ('Adam'), the snake-case one "
             "numbered by the optimizers built earlier in Keras 3 ('adam_3'); the class is "
             "optimizer.class_name"),
    # Keras 2 spellings mapped to Keras 3's.
    Rule(f"{LAYER}.batch_input_shape", rename="batch_shape",
         why="Keras 2's InputLayer spelling of Keras 3's batch_shape"),
    Rule(f"{LAYER}.dtype", replace=_policy_name,
         why="Keras 3 serializes a layer's dtype policy as a DTypePolicy object, Keras 2 as its "
             "name (or a Policy object when mixed); both become the policy's name"),
    Rule("model.dtype", replace=_policy_name, why="the model's dtype policy, as a layer's"),
    Rule(f"{LAYER}.axis", replace=_resolved_axis,
         why="Keras 2 reports BatchNormalization's axis resolved at build ([1] for the (batch, "
             "features) inputs of every model here), Keras 3 the argument (-1): the same axis"),
    # Keys one version writes with the value that means "off".
    Rule("model.trainable", neutral=True, why="Keras 3 only; the model is trainable"),
    Rule("model.dtype", neutral="float32",
         why="Keras 3 only; the model's own policy, float32 by default (the layers carry theirs)"),
    Rule("model.build_input_shape", neutral=[None, 784],
         why="Keras 3 only; repeats the InputLayer's batch_shape (784 inputs in every model)"),
    Rule(f"{LAYER}.optional", neutral=False, why="Keras 3 only (InputLayer); a required input"),
    Rule(f"{LAYER}.quantization_config", neutral=None, why="Keras 3 only (Dense); no quantization"),
    Rule(f"{LAYER}.activity_regularizer", neutral=None,
         why="Keras 2 writes null, Keras 3 writes the key only when a regularizer is set"),
    Rule(f"{LAYER}.synchronized", neutral=False,
         why="Keras 3 writes it, Keras 2 only when set; no cross-replica BatchNormalization"),
    Rule(f"{LAYER}.renorm", neutral=False, why="Keras 3 writes it, Keras 2 only when set; no renorm"),
    Rule(f"{LAYER}.renorm_clipping", neutral=None, why="Keras 3 writes it, Keras 2 only with renorm"),
    Rule(f"{LAYER}.renorm_momentum", neutral=0.99,
         why="Keras 3 writes its default, Keras 2 only with renorm (read only with renorm on)"),
    Rule(f"{INITIALIZER}.input_axes", neutral=None,
         why="recent Keras 3 only (variance-scaling initializers); fan-in from the usual axes"),
    Rule(f"{INITIALIZER}.output_axes", neutral=None,
         why="recent Keras 3 only (variance-scaling initializers); fan-out from the usual axes"),
    Rule("optimizer.loss_scale_factor", neutral=None, why="Keras 3 only; no loss scaling"),
    Rule("optimizer.gradient_accumulation_steps", neutral=None,
         why="Keras 3 only; every step applies its own gradients"),
    Rule("optimizer.is_legacy_optimizer", neutral=False,
         why="Keras 2 only; False for the (new) optimizers Keras 3 has"),
    Rule("model.layers[*].build_config", when=lambda value, layer: layer.get("class_name") == "Dropout",
         why="Keras 2 writes every built layer's input shape, Keras 3 only those of layers that "
             "build weights; a Dropout's input shape is the output shape of the layer before it"),
    # Execution settings, out of scope whatever their value.
    Rule("optimizer.jit_compile", always=True,
         why="Keras 2 only: whether the update step is XLA-compiled (True on GPU, False on CPU); "
             "execution, like compile.jit_compile"),
    Rule("compile.jit_compile", always=True, why="execution: XLA compilation, resolved per backend"),
    Rule("compile.steps_per_execution", always=True,
         why="execution: steps per compiled call (1 on PyTorch, compat.compile_options)"),
    Rule("compile.run_eagerly", always=True, why="execution: Keras 2 writes null, Keras 3 false"),
    Rule("fit.verbose", always=True, why="progress display (mnist_mlp fits with verbose=0)"),
)


def _pattern(path: str) -> re.Pattern:
    """A rule's path as a regex over concrete paths: ``[*]`` any index, ``*`` any key part."""
    escaped = re.escape(path).replace(r"\[\*\]", r"\[\d+\]").replace(r"\*", r"[^.\[\]]*")
    return re.compile(escaped + "$")


_RULES = tuple((_pattern(rule.path), rule) for rule in NORMALISATION)


def _rules_at(path: str) -> list[Rule]:
    return [rule for pattern, rule in _RULES if pattern.match(path)]


def _float32(value: float) -> float:
    """The shortest decimal that reads back as the same float32 (0.0010000000474974513 -> 0.001)."""
    if not math.isfinite(value):
        return value
    return float(str(np.float32(value)))


def _plain(value: Any) -> Any:
    """``value`` as JSON-able Python: numpy scalars, tuples and Keras objects converted."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _float32(float(value))
    if value is None or isinstance(value, str):
        return value
    if hasattr(value, "get_config"):
        return _plain(keras.saving.serialize_keras_object(value))
    if hasattr(value, "numpy"):  # a variable or tensor (Keras 2's steps_per_execution, ...)
        return _plain(np.asarray(value.numpy()).tolist())
    return repr(value)


def normalise(node: Any, path: str = "", owner: dict | None = None) -> Any:
    """Apply ``NORMALISATION`` to an already plain ``node`` found at ``path``."""
    if isinstance(node, list):
        return [normalise(item, f"{path}[{i}]", owner) for i, item in enumerate(node)]
    if not isinstance(node, dict):
        return node
    owner = node if "class_name" in node else (owner or node)
    out = {}
    for key, value in node.items():
        child = f"{path}.{key}" if path else key
        for rule in _rules_at(child):
            if rule.rename:
                key, child = rule.rename, child.rsplit(".", 1)[0] + "." + rule.rename
            if rule.replace:
                value = rule.replace(value)
        if any(rule.drops(value, owner) for rule in _rules_at(child)):
            continue
        out[key] = normalise(value, child, owner)
    return out


def global_settings() -> dict:
    """Keras's process-wide settings that training reads."""
    return {
        "floatx": keras.backend.floatx(),
        "epsilon": keras.backend.epsilon(),
        "image_data_format": keras.backend.image_data_format(),
        "dtype_policy": keras.mixed_precision.global_policy().name,
    }


def describe(model, fit_params: dict) -> dict:
    """The canonical description of what ``model`` (compiled) trains under ``fit_params``."""
    optimizer = model.optimizer
    compiled = dict(model.get_compile_config())
    compiled.pop("optimizer", None)
    raw = {
        "model": {"class_name": type(model).__name__, **model.get_config()},
        "optimizer": {"class_name": type(optimizer).__name__, **optimizer.get_config()},
        "compile": compiled,
        "keras": global_settings(),
        "fit": dict(fit_params),
    }
    return normalise(_plain(raw))


class DescribeAtTrainBegin(keras.callbacks.Callback):
    """Takes ``describe(model, params + batch_size)`` at the first ``on_train_begin``; later fit
    calls (one per epoch in ``train_and_evaluate``) only set ``fit.epochs`` to the total so far."""

    def __init__(self, batch_size: int):
        super().__init__()
        self.batch_size = batch_size
        self.description: dict | None = None
        self.fit_calls = 0

    def on_train_begin(self, logs=None):
        self.fit_calls += 1
        if self.description is None:
            self.description = describe(self.model, {**self.params, "batch_size": self.batch_size})
        else:
            self.description["fit"]["epochs"] = _plain(self.params["epochs"])


def major() -> str:
    """The installed Keras's major version, the key of its golden section."""
    return "3" if KERAS_3 else "2"




def load_saved(model_dir) -> dict | None:
    """The description a finished training saved in ``model_dir`` (None: trained before it was
    saved); a damaged file is a ResultError naming it."""
    from pathlib import Path

    from mnist_mlp.training.results import read_json

    path = Path(model_dir) / SAVED
    return read_json(path, SAVED) if path.is_file() else None


def saved_drift(model_dir, result) -> tuple[dict | None, list[str]] | None:
    """The description saved beside ``result`` in ``model_dir`` and its departures from the golden
    one; a damaged file: ``(None, [its one line])``, an extra never fatal to a report; nothing
    saved (trained before descriptions were): None."""
    from mnist_mlp.training.results import ResultError

    try:
        description = load_saved(model_dir)
    except ResultError as exc:
        return None, [str(exc)]
    return None if description is None else (description, run_drift(description, result))


def run_drift(description: dict, result) -> list[str]:
    """``golden_drift`` of a saved description against the fit its run's recipe and data mean
    (``result``: the model's RunResult)."""
    images = (result.data or {}).get("train_images", MNIST_TRAIN_IMAGES)
    return golden_drift(result.model, description, result.environment.get("keras", "?"),
                        notebook_fit(result.recipe, images))


def golden_drift(name: str, description: dict, keras_version: str, fit: dict | None = None) -> list[str]:
    """Where ``description`` (model ``name`` trained on Keras ``keras_version``) departs from the
    notebook's golden one, one line per field; ``fit``: the fit group the run's recipe means."""
    keras_major = str(keras_version).split(".")[0]
    if keras_major not in golden.load(GOLDEN)["keras"] or name not in models.names():
        return [f"no golden description for {name} on Keras {keras_version}"]
    wanted = expected(name, keras_major)
    return diff({**wanted, "fit": fit or wanted["fit"]}, description)


def notebook_fit(recipe=None, train_images: int = MNIST_TRAIN_IMAGES) -> dict:
    """The fit group of a run of ``recipe`` (default: the notebook's) on ``train_images`` images."""
    from mnist_mlp.notebook.recipe import DEFAULT_RECIPE

    recipe = recipe or DEFAULT_RECIPE
    return {"epochs": recipe.epochs, "steps": -(-train_images // recipe.batch_size),
            "batch_size": recipe.batch_size}


def section(data: dict, keras_major: str) -> dict:
    """The golden section for ``keras_major``, following a ``{"same_as": major}`` reference."""
    entry = data["keras"][keras_major]
    return data["keras"][entry["same_as"]] if "same_as" in entry else entry


def expected(name: str, keras_major: str | None = None, data: dict | None = None) -> dict:
    """The golden description of model ``name`` for a Keras major (default: the installed one)."""
    part = section(data or golden.load(GOLDEN), keras_major or major())
    return {**part["shared"], **part["models"][name]}
