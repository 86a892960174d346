"""The checkpoint reader: an intact digest proves the bytes are the ones written, not that they
are a checkpoint. A crafted file whose digest matches but whose payload is not what ``encode``
writes is a damaged checkpoint (one line, the previous one is tried), never a traceback, and a
checkpoint that does not fit the model is refused before any weight is assigned.

The fuzz test re-signs mutated payloads (the meta's JSON mutated as tests/test_fuzz_readers.py
does, arrays dropped, retyped or reshaped) and follows each one as far as a resume would: read,
``check_fits``, ``restore`` and the RNG restore."""

from __future__ import annotations

import hashlib
import io
import json
import random
import re

import numpy as np
import pytest
from fuzzing import FUZZ, mutated_json
from hypothesis import given
from hypothesis import strategies as st

from mnist_mlp.notebook import models
from mnist_mlp.notebook.recipe import DEFAULT_RECIPE
from mnist_mlp.training import checkpoint
from mnist_mlp.training.train import compile_model

MODEL = "softmax"
RECORD = {"loss": 0.5, "accuracy": 0.8, "val_loss": 0.4, "val_accuracy": 0.85, "seconds": 1.5,
          "step_ms": 2.0}  # one epoch's record, as train.EpochRecorder keeps it


def signed(payload: bytes) -> bytes:
    """A checkpoint file around ``payload`` whose header digest matches it."""
    return checkpoint.MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def npz(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def meta_array(meta) -> np.ndarray:
    return np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)


@pytest.fixture(scope="module")
def model():
    return compile_model(models.build_model(MODEL, seed=0), DEFAULT_RECIPE)


@pytest.fixture(scope="module")
def valid(model) -> tuple[dict, dict[str, np.ndarray]]:
    """A real checkpoint's meta and arrays, as ``encode`` writes them for ``model`` in training
    (its optimizer built)."""
    model.optimizer.build(model.trainable_variables)
    raw = checkpoint.encode(model, 0, {"model": MODEL}, {0: RECORD})
    with np.load(io.BytesIO(raw.partition(b"\n")[2])) as loaded:
        arrays = {name: loaded[name] for name in loaded.files}
    return json.loads(arrays.pop("meta").tobytes()), arrays


def test_a_real_checkpoint_reads_and_fits(tmp_path, model, valid):
    meta, arrays = valid
    path = tmp_path / checkpoint.LATEST
    path.write_bytes(signed(npz({**arrays, "meta": meta_array(meta)})))
    saved = checkpoint.read(path)
    assert saved.epoch == 0 and saved.history == {0: RECORD}
    checkpoint.check_fits(model, saved)  # raises nothing


CRAFTED = {
    "not a zip": lambda meta, arrays: b"PK\x03\x04 but no zip at all",
    "no meta": lambda meta, arrays: npz(arrays),
    "meta not JSON": lambda meta, arrays: npz({**arrays, "meta": np.frombuffer(b"{epoch", np.uint8)}),
    "meta a list": lambda meta, arrays: npz({**arrays, "meta": meta_array([1, 2])}),
    "epoch a string": lambda meta, arrays: npz({**arrays, "meta": meta_array({**meta, "epoch": "0"})}),
    "history keyed by words": lambda meta, arrays: npz(
        {**arrays, "meta": meta_array({**meta, "history": {"first": {}}})}),
    "history keyed by a non-ASCII digit": lambda meta, arrays: npz(
        {**arrays, "meta": meta_array({**meta, "history": {"\u00b2": RECORD}})}),
    "history missing an epoch": lambda meta, arrays: npz(
        {**arrays, "meta": meta_array({**meta, "epoch": 1})}),
    "a history record with a word for a number": lambda meta, arrays: npz(
        {**arrays, "meta": meta_array({**meta, "history": {"0": {**RECORD, "loss": "low"}}})}),
    "numpy rng of another kind": lambda meta, arrays: npz({**arrays, "meta": meta_array(
        {**meta, "rng": {**meta["rng"], "numpy": ["PCG64", 0, 0, 0.0]}})}),
    "numpy rng's cached gaussian a huge number": lambda meta, arrays: npz({**arrays, "meta": meta_array(
        {**meta, "rng": {**meta["rng"], "numpy": ["MT19937", 0, 1, 10**400]}})}),
    "python rng too short": lambda meta, arrays: npz({**arrays, "meta": meta_array(
        {**meta, "rng": {**meta["rng"], "python": [3, [0] * 10, None]}})}),
    "rng words of another type": lambda meta, arrays: npz(
        {**arrays, "rng/numpy": arrays["rng/numpy"].astype(np.float64), "meta": meta_array(meta)}),
    "weights as text": lambda meta, arrays: npz(
        {**arrays, "model/0": np.array(["a", "b"]), "meta": meta_array(meta)}),
}


@pytest.mark.parametrize("kind", sorted(CRAFTED))
def test_a_crafted_payload_with_a_matching_digest_is_a_damaged_checkpoint(tmp_path, valid, kind):
    path = tmp_path / checkpoint.LATEST
    path.write_bytes(signed(CRAFTED[kind](*valid)))
    with pytest.raises(checkpoint.CheckpointError,
                       match=f"^{path}: its payload is not a checkpoint's \\(.+\\)$"):
        checkpoint.read(path)


def test_a_crafted_latest_falls_back_to_the_previous_checkpoint(tmp_path, model, valid):
    meta, arrays = valid
    (tmp_path / checkpoint.LATEST).write_bytes(signed(CRAFTED["no meta"](meta, arrays)))
    (tmp_path / checkpoint.PREVIOUS).write_bytes(signed(npz({**arrays, "meta": meta_array(meta)})))
    said = []
    saved = checkpoint.load_latest(tmp_path, said.append)
    assert saved is not None and saved.epoch == 0
    assert said == [(f"checkpoint {tmp_path / checkpoint.LATEST}: its payload is not a checkpoint's "
                     "(KeyError); trying the previous one")]


def test_a_checkpoint_that_does_not_fit_the_model_falls_back_before_any_weight_changes(
        tmp_path, model, valid):
    meta, arrays = valid
    later = {**meta, "epoch": 4, "history": {str(e): RECORD for e in range(5)}}
    wrong = {**arrays, "model/0": np.zeros((3, 3), np.float32), "meta": meta_array(later)}
    (tmp_path / checkpoint.LATEST).write_bytes(signed(npz(wrong)))
    (tmp_path / checkpoint.PREVIOUS).write_bytes(signed(npz({**arrays, "meta": meta_array(meta)})))
    before = [np.array(w) for w in model.get_weights()]
    said = []
    saved = checkpoint.load_latest(tmp_path, said.append, fits=lambda c: checkpoint.check_fits(model, c))
    assert saved.epoch == 0
    assert said == [(f"checkpoint {tmp_path / checkpoint.LATEST}: does not fit: model variable 0 has "
                    "shape (3, 3); trying the previous one")]
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_another_runs_checkpoint_is_refused_not_replaced_even_when_it_does_not_fit(tmp_path, model, valid):
    """Another run's folder (another model here, so its arrays do not fit either): the resume is
    refused with the way out, and its checkpoint is left as it was, never "damaged"."""
    meta, arrays = valid
    theirs = {**meta, "identity": {"model": "arch1_relu"}}
    content = signed(npz({**arrays, "model/0": np.zeros((3, 3), np.float32), "meta": meta_array(theirs)}))
    (tmp_path / checkpoint.LATEST).write_bytes(content)
    said = []
    with pytest.raises(checkpoint.ResumeMismatchError):
        checkpoint.load_resumable(tmp_path, said.append, model, {"model": MODEL})
    assert said == [] and (tmp_path / checkpoint.LATEST).read_bytes() == content


@st.composite
def mutated_checkpoint(draw, valid) -> bytes:
    """A real checkpoint's payload with one mutation of its meta or of one array, re-signed."""
    meta, arrays = valid
    arrays = dict(arrays)
    kind = draw(st.sampled_from(["meta", "drop", "retype", "reshape"]))
    if kind == "meta":
        return signed(npz({**arrays, "meta": np.frombuffer(draw(mutated_json(meta)), np.uint8)}))
    name = draw(st.sampled_from(sorted(arrays)))
    if kind == "drop":
        del arrays[name]
    elif kind == "retype":
        arrays[name] = arrays[name].astype(draw(st.sampled_from([np.float64, np.int8, np.bool_, "U3"])))
    else:
        arrays[name] = np.resize(arrays[name], draw(st.sampled_from([(0,), (1,), (2, 2), (623,)])))
    return signed(npz({**arrays, "meta": meta_array(meta)}))


def test_the_fuzzer_makes_payloads_the_reader_refuses_and_ones_it_takes(tmp_path, model, valid):
    """The strategy is not vacuous: both outcomes occur on fixed examples."""
    path = tmp_path / checkpoint.LATEST
    meta, arrays = valid
    later = {**meta, "epoch": 3, "history": {str(e): RECORD for e in range(4)}}
    path.write_bytes(signed(npz({**arrays, "meta": meta_array(later)})))
    assert checkpoint.read(path).epoch == 3
    path.write_bytes(signed(npz({**arrays, "meta": meta_array({**meta, "epoch": -3})})))
    with pytest.raises(checkpoint.CheckpointError, match="epoch is not a whole number >= 0"):
        checkpoint.read(path)


def resume_from(path, model) -> None:
    """What a resume does with a checkpoint file: CheckpointError, or everything restored."""
    saved = checkpoint.read(path)
    checkpoint.check_fits(model, saved)
    checkpoint.restore(model, saved)
    checkpoint._restore_rng(saved.rng, saved.arrays)


@FUZZ
@given(data=st.data())
def test_any_resigned_payload_resumes_or_is_a_damaged_checkpoint(tmp_path_factory, model, valid, data):
    content = data.draw(mutated_checkpoint(valid))
    path = tmp_path_factory.mktemp("ckpt") / checkpoint.LATEST
    path.write_bytes(content)
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        resume_from(path, model)
    except checkpoint.CheckpointError as exc:
        assert str(exc).startswith((f"{path}: ", "does not fit: ")), exc
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)


RUN = {"epochs": 4, "train_images": 256, "batch_size": 128}  # two steps an epoch


def claiming(model, valid, epoch: int, iterations: int | None = None, poison: str | None = None):
    """``valid``'s checkpoint saying it finished ``epoch`` (0-based) after ``iterations`` optimizer
    steps (default: the run's own count), with the first weight set to ``poison``."""
    meta, arrays = valid
    index = f"optimizer/{checkpoint.iterations_index(model.optimizer)}"
    steps = (epoch + 1) * 2 if iterations is None else iterations
    changed = {**arrays, index: np.array(steps, dtype=arrays[index].dtype)}
    if poison:
        changed["model/0"] = changed["model/0"].copy()
        changed["model/0"].flat[0] = float(poison)
    return checkpoint.Checkpoint(epoch=epoch, identity=meta["identity"], rng=meta["rng"],
                                 arrays=changed, history={e: RECORD for e in range(epoch + 1)})


def test_a_checkpoint_consistent_with_its_run_is_taken(model, valid):
    checkpoint.check_claims(model, claiming(model, valid, epoch=3), RUN)  # raises nothing


@pytest.mark.parametrize(("epoch", "iterations", "poison", "said"), [
    (7, None, None, "does not fit: epoch 8 finished, but the run has 4 epochs"),
    (1, -2**31, None, "does not fit: the optimizer took -2147483648 steps, 2 epochs of 2 steps are 4"),
    (1, 3, None, "does not fit: the optimizer took 3 steps, 2 epochs of 2 steps are 4"),
    (1, None, "nan", "does not fit: model variable 0 holds NaN or infinite values"),
    (1, None, "inf", "does not fit: model variable 0 holds NaN or infinite values"),
])
def test_a_checkpoint_claiming_the_impossible_is_damaged(model, valid, epoch, iterations, poison, said):
    with pytest.raises(checkpoint.CheckpointError, match=f"^{re.escape(said)}$"):
        checkpoint.check_claims(model, claiming(model, valid, epoch, iterations, poison), RUN)
