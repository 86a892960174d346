"""Self-consistency checks of the hand-transcribed golden files.

golden/architectures.json and golden/seed_results.json are transcribed from the
notebook transcript (each file's ``source``). These tests use only
json + pathlib: they check the files against themselves, against Keras'
parameter arithmetic, and against the totals the notebook printed.
"""

import json
import math
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parents[1] / "golden"

NOTEBOOK_MODELS = [
    "arch1_relu",
    "arch1_bn",
    "arch1_bn_dropout",
    "arch2_relu",
    "arch2_bn_dropout",
    "arch3_relu",
    "arch3_bn_dropout",
]
ALL_MODELS = NOTEBOOK_MODELS + ["softmax"]

# (total, trainable, non_trainable) as quoted in the issue / printed by the notebook.
EXPECTED_TOTALS = {
    "arch1_relu": (532110, 532110, 0),
    "arch1_bn": (534910, 533510, 1400),
    "arch1_bn_dropout": (534910, 533510, 1400),
    "arch2_relu": (550385, 550385, 0),
    "arch2_bn_dropout": (553885, 552135, 1750),
    "arch3_relu": (890710, 890710, 0),
    "arch3_bn_dropout": (896310, 893510, 2800),
    "softmax": (7850, 7850, 0),
}

# Hidden widths from the notebook headings ("Layer1(600), Layer2(100)", ...).
HIDDEN_WIDTHS = {
    "arch1": [600, 100],
    "arch2": [500, 250, 125],
    "arch3": [700, 350, 200, 100, 50],
    "softmax": [],
}

INPUT_DIM = 784
N_CLASSES = 10
N_EPOCHS = 20


def _load(name):
    return json.loads((GOLDEN / name).read_text())


@pytest.fixture(scope="module")
def arch():
    return _load("architectures.json")


@pytest.fixture(scope="module")
def seed():
    return _load("seed_results.json")


def _after_hidden_dense(name):
    if name.endswith("_bn_dropout"):
        return ["BatchNormalization", "Dropout"]
    if name.endswith("_bn"):
        return ["BatchNormalization"]
    return []


def _expected_layers(name):
    """(class, width) sequence the model must have, in order."""
    widths = HIDDEN_WIDTHS[name.split("_")[0]]
    seq = []
    for w in widths:
        seq.append(("Dense", w))
        seq.extend((cls, w) for cls in _after_hidden_dense(name))
    seq.append(("Dense", N_CLASSES))
    return seq


# --------------------------------------------------------------------------
# architectures.json
# --------------------------------------------------------------------------


def test_architectures_model_names_in_notebook_order(arch):
    assert list(arch["models"]) == ALL_MODELS


def test_architectures_source(arch):
    assert arch["source"] == "shared/seed/000_0e4e804191beb621.txt"


@pytest.mark.parametrize("name", ALL_MODELS, ids=ALL_MODELS)
def test_totals_match_issue(arch, name):
    m = arch["models"][name]
    assert (m["total"], m["trainable"], m["non_trainable"]) == EXPECTED_TOTALS[name]


@pytest.mark.parametrize("name", ALL_MODELS, ids=ALL_MODELS)
def test_layer_params_sum_to_total(arch, name):
    m = arch["models"][name]
    assert sum(layer["params"] for layer in m["layers"]) == m["total"]


@pytest.mark.parametrize("name", ALL_MODELS, ids=ALL_MODELS)
def test_total_is_trainable_plus_non_trainable(arch, name):
    m = arch["models"][name]
    assert m["total"] == m["trainable"] + m["non_trainable"]


@pytest.mark.parametrize("name", ALL_MODELS, ids=ALL_MODELS)
def test_non_trainable_is_half_of_batchnorm_params(arch, name):
    m = arch["models"][name]
    bn = [layer["params"] for layer in m["layers"] if layer["class"] == "BatchNormalization"]
    assert all(p % 2 == 0 for p in bn)
    assert m["non_trainable"] == sum(p // 2 for p in bn)


@pytest.mark.parametrize("name", ALL_MODELS, ids=ALL_MODELS)
def test_layer_param_formulas(arch, name):
    fan_in = INPUT_DIM
    for i, layer in enumerate(arch["models"][name]["layers"]):
        shape = layer["output_shape"]
        assert len(shape) == 2 and shape[0] is None, (i, shape)
        units = shape[1]
        if layer["class"] == "Dense":
            assert layer["params"] == (fan_in + 1) * units, (i, layer)
        elif layer["class"] == "BatchNormalization":
            assert units == fan_in, (i, layer)
            assert layer["params"] == 4 * units, (i, layer)
        elif layer["class"] == "Dropout":
            assert units == fan_in, (i, layer)
            assert layer["params"] == 0, (i, layer)
        else:
            pytest.fail(f"unexpected layer class {layer['class']!r}")
        fan_in = units


@pytest.mark.parametrize("name", ALL_MODELS, ids=ALL_MODELS)
def test_layer_order(arch, name):
    layers = arch["models"][name]["layers"]
    got = [(layer["class"], layer["output_shape"][1]) for layer in layers]
    assert got == _expected_layers(name)
    assert layers[0]["class"] == "Dense"
    assert layers[-1]["class"] == "Dense"
    assert layers[-1]["output_shape"] == [None, N_CLASSES]


def test_softmax_is_marked_as_derived(arch):
    m = arch["models"]["softmax"]
    assert m["notebook_summary"] is None
    assert "784*10 + 10" in m["derived_by_hand"]
    assert m["total"] == INPUT_DIM * N_CLASSES + N_CLASSES


@pytest.mark.parametrize("name", NOTEBOOK_MODELS, ids=NOTEBOOK_MODELS)
def test_summary_names_follow_notebook(arch, name):
    idx = NOTEBOOK_MODELS.index(name)
    assert arch["models"][name]["notebook_summary"] == f"sequential_{12 + idx}"


# --------------------------------------------------------------------------
# seed_results.json
# --------------------------------------------------------------------------


def test_seed_results_model_names_in_notebook_order(seed):
    assert list(seed["models"]) == NOTEBOOK_MODELS


@pytest.mark.parametrize("name", NOTEBOOK_MODELS, ids=NOTEBOOK_MODELS)
def test_sections_agree_between_files(arch, seed, name):
    assert seed["models"][name]["notebook_section"] == arch["models"][name]["notebook_section"]


@pytest.mark.parametrize("name", NOTEBOOK_MODELS, ids=NOTEBOOK_MODELS)
def test_twenty_epochs_numbered(seed, name):
    epochs = seed["models"][name]["epochs"]
    assert [e["epoch"] for e in epochs] == list(range(1, N_EPOCHS + 1))


@pytest.mark.parametrize("name", NOTEBOOK_MODELS, ids=NOTEBOOK_MODELS)
def test_losses_positive_accuracies_in_unit_interval(seed, name):
    m = seed["models"][name]
    for e in m["epochs"]:
        assert e["loss"] > 0 and e["val_loss"] > 0, e
        assert 0 < e["acc"] <= 1 and 0 < e["val_acc"] <= 1, e
        assert e["seconds"] > 0 and e["us_per_sample"] > 0, e
    assert m["test_score"] > 0
    assert 0 < m["test_accuracy"] <= 1


@pytest.mark.parametrize("name", NOTEBOOK_MODELS, ids=NOTEBOOK_MODELS)
def test_val_acc_number_matches_text(seed, name):
    for e in seed["models"][name]["epochs"]:
        text = e["val_acc_text"]
        assert isinstance(text, str)
        # Keras prints 4 decimals; the transcript cut some lines short.
        assert text.startswith("0.") and 1 <= len(text) - 2 <= 4 and text[2:].isdigit(), e
        assert e["val_acc"] == float(text), e


@pytest.mark.parametrize("name", NOTEBOOK_MODELS, ids=NOTEBOOK_MODELS)
def test_final_val_loss_is_rounded_test_score(seed, name):
    m = seed["models"][name]
    assert m["epochs"][-1]["val_loss"] == round(m["test_score"], 4)


@pytest.mark.parametrize("name", NOTEBOOK_MODELS, ids=NOTEBOOK_MODELS)
def test_final_val_acc_text_is_prefix_of_test_accuracy(seed, name):
    m = seed["models"][name]
    assert repr(m["test_accuracy"]).startswith(m["epochs"][-1]["val_acc_text"])


@pytest.mark.parametrize("name", NOTEBOOK_MODELS, ids=NOTEBOOK_MODELS)
def test_median_us_per_sample(seed, name):
    m = seed["models"][name]
    vals = sorted(e["us_per_sample"] for e in m["epochs"])
    mid = len(vals) // 2
    expected = (vals[mid - 1] + vals[mid]) / 2
    assert math.isclose(m["median_us_per_sample"], expected)


def test_test_accuracy_range(seed):
    accs = [m["test_accuracy"] for m in seed["models"].values()]
    assert len(accs) == len(NOTEBOOK_MODELS)
    assert all(0.9776 <= a <= 0.9838 for a in accs)
    assert min(accs) == 0.9776
    assert max(accs) == 0.9838
