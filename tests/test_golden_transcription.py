"""The hand-transcribed golden files against values copied independently from the notebook.

golden/notebook/architectures.json and golden/notebook/seed_results.json are transcribed from the notebook
transcript (each file's ``source``). The literals below were copied from that text again,
separately (summary tables, the first and last epoch lines, the printed Test score and Test
accuracy of each model), and the layer counts are checked against Keras's parameter arithmetic.
These tests use only json + pathlib.
"""

import json
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "notebook"

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

# (total, trainable, non_trainable) as printed by the notebook.
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

# Each notebook summary table: its name and the Param # column, top to bottom.
NOTEBOOK_SUMMARIES = {
    "arch1_relu": ("sequential_12", [471000, 60100, 1010]),
    "arch1_bn": ("sequential_13", [471000, 2400, 60100, 400, 1010]),
    "arch1_bn_dropout": ("sequential_14", [471000, 2400, 0, 60100, 400, 0, 1010]),
    "arch2_relu": ("sequential_15", [392500, 125250, 31375, 1260]),
    "arch2_bn_dropout": ("sequential_16", [392500, 2000, 0, 125250, 1000, 0, 31375, 500, 0, 1260]),
    "arch3_relu": ("sequential_17", [549500, 245350, 70200, 20100, 5050, 510]),
    "arch3_bn_dropout": ("sequential_18", [549500, 2800, 0, 245350, 1400, 0, 70200, 800, 0,
                                           20100, 400, 0, 5050, 200, 0, 510]),
}

# The printed "Test score:" and "Test accuracy:" lines of each model.
NOTEBOOK_TEST = {
    "arch1_relu": (0.08545361435633295, 0.9838),
    "arch1_bn": (0.09417202328130224, 0.9796),
    "arch1_bn_dropout": (0.061509001989616084, 0.9816),
    "arch2_relu": (0.10277052689156026, 0.9808),
    "arch2_bn_dropout": (0.06373635350148543, 0.9818),
    "arch3_relu": (0.10133317776405511, 0.9776),
    "arch3_bn_dropout": (0.08133343692359049, 0.9811),
}

# "Epoch 1/20" and "Epoch 20/20" log lines: (seconds, us/step, loss, acc, val_loss, val_acc text).
NOTEBOOK_EPOCH_LINES = {
    "arch1_relu": [(5, 89, 0.2137, 0.9351, 0.1095, "0.9665"), (4, 59, 0.0060, 0.9980, 0.0855, "0.9838")],
    "arch1_bn": [(9, 151, 0.1981, 0.9432, 0.1175, "0.961"), (6, 106, 0.0059, 0.9981, 0.0942, "0.979")],
    "arch1_bn_dropout": [(10, 164, 0.4840, 0.8543, 0.1615, "0.95"),
                         (6, 96, 0.0667, 0.9794, 0.0615, "0.9816")],
    "arch2_relu": [(7, 113, 0.2180, 0.9334, 0.0955, "0.971"), (4, 73, 0.0162, 0.9952, 0.1028, "0.9808")],
    "arch2_bn_dropout": [(12, 206, 0.7758, 0.7553, 0.2188, "0.93"),
                         (8, 126, 0.0862, 0.9739, 0.0637, "0.981")],
    "arch3_relu": [(8, 133, 0.4770, 0.9003, 0.1612, "0.951"), (5, 78, 0.0210, 0.9939, 0.1013, "0.9776")],
    "arch3_bn_dropout": [(15, 250, 1.5225, 0.5005, 0.3861, "0.89"),
                         (13, 212, 0.1195, 0.9709, 0.0813, "0.98")],
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
    """The transcript lives beside the checkout (../shared), not in the repository."""
    assert arch["source"] == "../shared/seed/000_0e4e804191beb621.txt"


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
def test_summary_name_and_layer_params_are_the_notebooks(arch, name):
    summary, params = NOTEBOOK_SUMMARIES[name]
    assert arch["models"][name]["notebook_summary"] == summary
    assert [layer["params"] for layer in arch["models"][name]["layers"]] == params


# --------------------------------------------------------------------------
# seed_results.json
# --------------------------------------------------------------------------


def test_seed_results_model_names_in_notebook_order(seed):
    assert list(seed["models"]) == NOTEBOOK_MODELS


@pytest.mark.parametrize("name", NOTEBOOK_MODELS, ids=NOTEBOOK_MODELS)
def test_test_score_and_accuracy_are_the_printed_ones(seed, name):
    m = seed["models"][name]
    assert (m["test_score"], m["test_accuracy"]) == NOTEBOOK_TEST[name]


@pytest.mark.parametrize("name", NOTEBOOK_MODELS, ids=NOTEBOOK_MODELS)
def test_first_and_last_epoch_lines_are_the_printed_ones(seed, name):
    epochs = seed["models"][name]["epochs"]
    assert [e["epoch"] for e in epochs] == list(range(1, N_EPOCHS + 1))
    for e, (seconds, us, loss, acc, val_loss, val_acc) in zip((epochs[0], epochs[-1]),
                                                               NOTEBOOK_EPOCH_LINES[name]):
        assert (e["seconds"], e["us_per_sample"], e["loss"], e["acc"], e["val_loss"]) == \
            (seconds, us, loss, acc, val_loss), e
        assert (e["val_acc_text"], e["val_acc"]) == (val_acc, float(val_acc)), e


@pytest.mark.parametrize("name", NOTEBOOK_MODELS, ids=NOTEBOOK_MODELS)
def test_every_epoch_line_is_plausible(seed, name):
    """The 18 middle epochs are checked for shape: Keras's 4-decimal text and positive values."""
    for e in seed["models"][name]["epochs"]:
        assert e["loss"] > 0 and e["val_loss"] > 0 and 0 < e["acc"] <= 1, e
        text = e["val_acc_text"]
        assert text.startswith("0.") and 1 <= len(text) - 2 <= 4 and text[2:].isdigit(), e
        assert e["val_acc"] == float(text), e


@pytest.mark.parametrize("name", NOTEBOOK_MODELS, ids=NOTEBOOK_MODELS)
def test_median_us_per_sample(seed, name):
    m = seed["models"][name]
    vals = sorted(e["us_per_sample"] for e in m["epochs"])
    assert m["median_us_per_sample"] == (vals[9] + vals[10]) / 2


def test_golden_py_knows_every_golden_file_and_its_kind():
    """``golden.FOLDER`` (name -> notebook/ or measured/) lists exactly the files on disk."""
    from mnist_mlp.notebook import golden

    on_disk = {p.stem: p.parent.name for p in GOLDEN.parent.glob("*/*.json")}
    assert on_disk == golden.FOLDER
    assert set(on_disk.values()) == {"notebook", "measured"}
