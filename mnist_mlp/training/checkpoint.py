"""Crash-safe training checkpoints: everything a resumed run needs, in one verified file.

After every epoch, ``EpochCheckpoint`` writes ``<model dir>/checkpoint.npz``: the model's variables
(weights, BatchNorm statistics, Dropout seed-generator states), the optimizer's variables, the
epoch, the per-epoch history, the global RNG states (Python, NumPy, PyTorch) and the run's
identity (model, recipe, data, backend, Keras). The file is a header line with the SHA-256 of
the npz payload that follows; it is written to a temporary file, fsynced and renamed, and the
checkpoint it replaces is kept as ``checkpoint.prev.npz``. ``load_latest`` verifies the digest,
falls back to the previous checkpoint when the latest is damaged, and never loads partial weights.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import os
import random
import shutil
from pathlib import Path

import numpy as np

from mnist_mlp.compat import KERAS_3, backend_name, keras
from mnist_mlp.errors import MnistMlpError
from mnist_mlp.files import atomic_path
from mnist_mlp.notebook import draws
from mnist_mlp.notebook.recipe import SPEED_ONLY
from mnist_mlp.training.results import HISTORY_KEYS, RunResult

LATEST = "checkpoint.npz"
PREVIOUS = "checkpoint.prev.npz"
MAGIC = b"mnist_mlp checkpoint 1 sha256="
RECORD_KEYS = {*HISTORY_KEYS, "seconds", "step_ms"}  # one epoch's record (train.EpochRecorder)


class CheckpointError(MnistMlpError):
    """A checkpoint file that is damaged or does not fit the model; the message names the file."""


class ResumeMismatchError(MnistMlpError, ValueError):
    """A run folder holds another recipe's run; the message names both and the way out."""


@dataclasses.dataclass
class Checkpoint:
    epoch: int  # the last finished epoch, 0-based
    identity: dict
    history: dict[int, dict]
    arrays: dict[str, np.ndarray]
    rng: dict


def _trained_recipe(recipe) -> dict:
    """The recipe's fields that decide what a run learns (not ``recipe.SPEED_ONLY``)."""
    return {k: v for k, v in recipe.as_dict().items() if k not in SPEED_ONLY}


def identity(spec, recipe, dataset) -> dict:
    """What must be equal for a checkpoint or a result to belong to the requested run."""
    return {
        "model": f"{spec.name} {spec.layer_summary}",
        **_trained_recipe(recipe),
        "train_images": len(dataset.x_train),
        "test_images": len(dataset.x_test),
        "backend": backend_name(),
        "keras": keras.__version__,
        "draws": draws.SCHEME,
    }


def result_identity(result: RunResult) -> dict:
    """The identity of a finished result (results written before ``data`` was recorded were
    trained on all of MNIST)."""
    from mnist_mlp.notebook.models import REGISTRY

    spec = REGISTRY.get(result.model)
    return {
        "model": f"{result.model} {spec.layer_summary if spec else '?'}",
        **_trained_recipe(result.recipe),
        **result.images,
        "backend": result.backend,
        "keras": result.environment.get("keras"),
        "draws": result.draws,
    }


def check_identity(saved: dict, requested: dict, where: Path) -> None:
    """Raise ResumeMismatchError naming every field where ``saved`` and ``requested`` differ."""
    keys = [k for k in requested if saved.get(k) != requested[k]]
    if keys:
        def describe(values):
            return ", ".join(f"{k} {values.get(k)}" for k in keys)

        raise ResumeMismatchError(
            f"{where} holds a run with {describe(saved)}; this run asks for {describe(requested)}: "
            "rerun with the saved options to resume it, or add --restart to discard it"
        )


# ---------------------------------------------------------------------------------------------
# What is saved


def _model_variables(model) -> list:
    """Keras 3 lists the Dropout seed-generator states among ``model.variables``; Keras 2.15
    keeps each Dropout's ``tf.random.Generator`` state apart, so it is added here."""
    variables = list(model.variables)
    if not KERAS_3:
        for layer in model.layers:
            generator = getattr(layer, "_random_generator", None)
            if generator is not None and hasattr(generator, "_maybe_init"):
                generator._maybe_init()
                if getattr(generator, "_generator", None) is not None:
                    variables.append(generator._generator.state)
    return variables


def _optimizer_variables(optimizer) -> list:
    variables = optimizer.variables
    return list(variables() if callable(variables) else variables)  # Keras 2.15: a method


def _rng_state() -> tuple[dict, dict[str, np.ndarray]]:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, state, gauss = random.getstate()
    meta = {"numpy": [name, int(pos), int(has_gauss), float(cached)],
            "python": [version, list(state), gauss]}
    arrays = {"rng/numpy": np.asarray(keys)}
    if backend_name() == "torch":
        import torch

        arrays["rng/torch"] = torch.get_rng_state().numpy()
    return meta, arrays


def _restore_rng(meta: dict, arrays: dict[str, np.ndarray]) -> None:
    name, pos, has_gauss, cached = meta["numpy"]
    np.random.set_state((name, arrays["rng/numpy"], pos, has_gauss, cached))
    version, state, gauss = meta["python"]
    random.setstate((version, tuple(state), gauss))
    if "rng/torch" in arrays:
        import torch

        torch.set_rng_state(torch.from_numpy(arrays["rng/torch"].copy()))


def encode(model, epoch: int, ident: dict, history: dict[int, dict]) -> bytes:
    """The checkpoint file's bytes: header with the payload's SHA-256, then an npz payload."""
    from mnist_mlp.compat import to_numpy

    rng_meta, arrays = _rng_state()
    for i, v in enumerate(_model_variables(model)):
        arrays[f"model/{i}"] = to_numpy(v)
    for i, v in enumerate(_optimizer_variables(model.optimizer)):
        arrays[f"optimizer/{i}"] = to_numpy(v)
    meta = {"epoch": epoch, "identity": ident, "rng": rng_meta,
            "history": {str(k): v for k, v in history.items()}}
    arrays["meta"] = np.frombuffer(json.dumps(meta, allow_nan=False).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    payload = buffer.getvalue()
    return MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view):]


def write(folder: Path, payload: bytes) -> None:
    """Write ``payload`` as the latest checkpoint; the one it replaces becomes the previous."""
    target = folder / LATEST
    with atomic_path(target) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC)
        try:
            _write_all(fd, payload)
        finally:
            os.close(fd)
        if target.exists():
            _keep_previous(target, folder / PREVIOUS)


def _keep_previous(target: Path, previous: Path) -> None:
    """Make ``previous`` a copy of ``target`` while ``target`` itself stays in place."""
    with atomic_path(previous) as tmp:
        tmp.unlink()
        try:
            os.link(target, tmp)
        except OSError:  # a filesystem without hard links
            shutil.copyfile(target, tmp)


def read(path: Path) -> Checkpoint:
    """A verified checkpoint, or CheckpointError naming ``path`` and what is wrong with it: an
    intact digest proves the bytes are the ones written, not that they are a checkpoint, so the
    payload is checked too (an npz of numeric arrays and a ``meta`` of the written form)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{path}: unreadable ({exc.strerror})") from None
    header, _, payload = raw.partition(b"\n")
    if not header.startswith(MAGIC):
        raise CheckpointError(f"{path}: not an mnist_mlp checkpoint")
    if hashlib.sha256(payload).hexdigest().encode() != header[len(MAGIC):]:
        raise CheckpointError(f"{path}: damaged (SHA-256 does not match its header)")
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        meta = json.loads(arrays.pop("meta").tobytes())
    except Exception as exc:  # noqa: BLE001 (whatever zipfile, numpy or json raise on crafted bytes)
        raise CheckpointError(f"{path}: its payload is not a checkpoint's "
                              f"({type(exc).__name__})") from None
    if problem := _payload_problem(meta, arrays):
        raise CheckpointError(f"{path}: its payload is not a checkpoint's ({problem})")
    return Checkpoint(
        epoch=meta["epoch"], identity=meta["identity"], rng=meta["rng"], arrays=arrays,
        history={int(k): v for k, v in meta["history"].items()},
    )


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _payload_problem(meta, arrays: dict[str, np.ndarray]) -> str | None:
    """What makes a decoded payload other than what ``encode`` writes, or None."""
    if not isinstance(meta, dict) or not {"epoch", "identity", "rng", "history"} <= meta.keys():
        return "meta lacks epoch, identity, rng or history"
    if not (_is_int(meta["epoch"]) and meta["epoch"] >= 0):
        return "epoch is not a whole number >= 0"
    history = meta["history"]
    if not (isinstance(meta["identity"], dict) and isinstance(history, dict)
            and all(isinstance(k, str) and k.isascii() and k.isdigit() and isinstance(v, dict)
                    for k, v in history.items())):
        return "identity or history has another form"
    if sorted(int(k) for k in history) != list(range(meta["epoch"] + 1)):
        return "history does not hold exactly the epochs up to its epoch"
    if not all(set(record) == RECORD_KEYS and all(isinstance(x, float) and math.isfinite(x)
                                                  for x in record.values())
               for record in history.values()):
        return "a history record has other fields or values"
    rng = meta["rng"]
    numpy_rng = rng.get("numpy") if isinstance(rng, dict) else None
    python_rng = rng.get("python") if isinstance(rng, dict) else None
    if not (isinstance(numpy_rng, list) and len(numpy_rng) == 4 and numpy_rng[0] == "MT19937"
            and _is_int(numpy_rng[1]) and 0 <= numpy_rng[1] <= 624 and numpy_rng[2] in (0, 1)
            and isinstance(numpy_rng[3], float) and math.isfinite(numpy_rng[3])):
        return "the numpy rng state has another form"
    if not (isinstance(python_rng, list) and len(python_rng) == 3 and python_rng[0] == 3
            and isinstance(python_rng[1], list) and len(python_rng[1]) == 625
            and all(_is_int(x) and 0 <= x < 2**32 for x in python_rng[1])
            and python_rng[1][-1] <= 624
            and (python_rng[2] is None or (isinstance(python_rng[2], float)
                                           and math.isfinite(python_rng[2])))):
        return "the Python rng state has another form"
    keys = arrays.get("rng/numpy")
    if keys is None or keys.dtype != np.uint32 or keys.shape != (624,):
        return "rng/numpy is not 624 uint32 words"
    if "rng/torch" in arrays and arrays["rng/torch"].dtype != np.uint8:
        return "rng/torch is not bytes"
    for name, value in arrays.items():
        if name.startswith(("model/", "optimizer/")) and value.dtype.kind not in "fiub":
            return f"{name} is not numeric"
    return None


def load_latest(folder: Path, say, fits=None) -> Checkpoint | None:
    """The newest verified checkpoint in ``folder`` (latest, else previous), else None.

    ``fits(checkpoint)`` (e.g. ``check_fits`` of the model) may raise CheckpointError: such a
    checkpoint counts as damaged too. Each damaged file is reported through ``say`` in one line and
    left for the next write to replace; a run whose checkpoints are all damaged starts over.
    """
    damaged = False
    for name in (LATEST, PREVIOUS):
        path = folder / name
        if not path.is_file():
            continue
        try:
            saved = read(path)
            if fits is not None:
                try:
                    fits(saved)
                except CheckpointError as exc:
                    raise CheckpointError(f"{path}: {exc}") from None
            return saved
        except CheckpointError as exc:
            damaged = True
            say(f"checkpoint {exc}; trying the previous one" if name == LATEST
                else f"checkpoint {exc}")
    if damaged:
        say(f"no intact checkpoint in {folder}: starting over from epoch 1")
    return None


def _variable_groups(model) -> tuple[tuple[str, list], ...]:
    model.optimizer.build(model.trainable_variables)
    return (("model", _model_variables(model)), ("optimizer", _optimizer_variables(model.optimizer)))


def load_resumable(folder: Path, say, model, ident: dict) -> Checkpoint | None:
    """The newest intact checkpoint of this run that fits ``model``, else None (``load_latest``).
    A checkpoint of another run (identity) is ResumeMismatchError, never a fallback: starting
    over would overwrite that run's checkpoints."""

    def fits(saved: Checkpoint) -> None:
        check_identity(saved.identity, ident, folder)
        check_fits(model, saved)
        check_claims(model, saved, ident)

    return load_latest(folder, say, fits)


def check_fits(model, saved: Checkpoint) -> None:
    """CheckpointError unless ``saved`` holds one array of the right shape for every model and
    optimizer variable, and PyTorch's rng state where the backend is PyTorch (checked before
    anything is assigned: never partial weights)."""
    if backend_name() == "torch":
        import torch

        torch_rng = saved.arrays.get("rng/torch")
        if torch_rng is None or torch_rng.shape != tuple(torch.get_rng_state().shape):
            raise CheckpointError("does not fit: no PyTorch rng state of this PyTorch's size")
    for prefix, variables in _variable_groups(model):
        count = sum(1 for k in saved.arrays if k.startswith(prefix + "/"))
        if count != len(variables):
            raise CheckpointError(f"does not fit: {count} {prefix} variables, the model has {len(variables)}")
        for i, variable in enumerate(variables):
            value = saved.arrays.get(f"{prefix}/{i}")
            if value is None or tuple(value.shape) != tuple(variable.shape):
                shape = "no array" if value is None else f"shape {value.shape}"
                raise CheckpointError(f"does not fit: {prefix} variable {i} has {shape}")


def iterations_index(optimizer) -> int | None:
    """Where the optimizer's step counter stands among its saved variables (None: not saved)."""
    counter = getattr(optimizer, "iterations", None)
    return next((i for i, v in enumerate(_optimizer_variables(optimizer)) if v is counter), None)


def check_claims(model, saved: Checkpoint, ident: dict) -> None:
    """CheckpointError unless what ``saved`` claims is possible for this run (``ident``): its epoch
    within the run's epochs, every weight and optimizer value finite, and the optimizer's step count
    its epochs times the run's steps per epoch."""
    epochs = ident.get("epochs")
    if epochs is not None and saved.epoch + 1 > epochs:
        raise CheckpointError(f"does not fit: epoch {saved.epoch + 1} finished, "
                              f"but the run has {epochs} epochs")
    for prefix, variables in _variable_groups(model):
        for i in range(len(variables)):
            value = saved.arrays[f"{prefix}/{i}"]
            if value.dtype.kind == "f" and not np.isfinite(value).all():
                raise CheckpointError(f"does not fit: {prefix} variable {i} holds NaN or infinite values")
    index = iterations_index(model.optimizer)
    if index is not None and "train_images" in ident and "batch_size" in ident:
        per_epoch = -(-ident["train_images"] // ident["batch_size"])
        taken = int(saved.arrays[f"optimizer/{index}"])
        if taken != (saved.epoch + 1) * per_epoch:
            raise CheckpointError(f"does not fit: the optimizer took {taken} steps, {saved.epoch + 1} epochs "
                                  f"of {per_epoch} steps are {(saved.epoch + 1) * per_epoch}")


def restore(model, saved: Checkpoint) -> None:
    """Put the model's and its optimizer's variables back where the checkpoint left them (the
    global RNGs follow in ``EpochCheckpoint.on_train_begin``)."""
    check_fits(model, saved)
    for prefix, variables in _variable_groups(model):
        for i, variable in enumerate(variables):
            variable.assign(saved.arrays[f"{prefix}/{i}"])


def discard(folder: Path) -> None:
    """Remove the checkpoints and any temporary file a killed write left behind."""
    for path in folder.glob("*"):
        if path.name in (LATEST, PREVIOUS) or path.name.startswith((f".{LATEST}.", f".{PREVIOUS}.")):
            path.unlink(missing_ok=True)


class EpochCheckpoint(keras.callbacks.Callback):
    """Writes a checkpoint at every epoch end; ``history()`` gives the epochs recorded so far.

    With ``resume``, the global RNG states are restored when the first ``fit`` begins (after
    ``fit`` has built the model's metrics, which may draw), once: training runs one ``fit`` per
    epoch, and the later ones continue from the generators' live state.
    """

    def __init__(self, folder: Path, ident: dict, history, resume: Checkpoint | None = None):
        super().__init__()
        self.folder = folder
        self.identity = ident
        self.history = history
        self.resume = resume

    def on_train_begin(self, logs=None):
        if self.resume is not None:
            _restore_rng(self.resume.rng, self.resume.arrays)
            self.resume = None

    def on_epoch_end(self, epoch, logs=None):
        write(self.folder, encode(self.model, epoch, self.identity, self.history()))
