"""golden/gates.json is a calibration, not a wish: each backend's section is checked against its
own measurements and against the notebook's ~98 %; calibrate() is checked on crafted seeds."""

from __future__ import annotations

import statistics

import pytest

from mnist_mlp import golden, models
from mnist_mlp.verify import calibrate, gates_for, merge_gates

FILE = golden.load("gates")
SECTIONS = FILE["backends"]
# Floors with their reasons: the notebook's seven finished between 97.76 % and 98.38 %; a gate
# below 97 % would let a real regression through, one above the worst seed would fail on noise.
MLP_FLOOR = 0.97
SOFTMAX_BAND = (0.90, 0.93)  # a linear softmax classifier on MNIST reaches ~92-93 %
CASES = [(b, n) for b in SECTIONS for n in models.names()]


def test_default_backend_is_calibrated_and_used_for_uncalibrated_ones():
    assert FILE["default_backend"] in SECTIONS
    assert gates_for("some-future-backend") is SECTIONS[FILE["default_backend"]]
    assert set(SECTIONS) <= {"tensorflow", "jax", "torch"}


@pytest.mark.parametrize(("backend", "name"), CASES, ids=[f"{b}-{n}" for b, n in CASES])
def test_threshold_is_worst_seed_minus_margin(backend, name):
    section = SECTIONS[backend]
    entry = section["models"][name]
    assert len(entry["measured"]) >= 3, "calibrate from at least three seeds"
    assert entry["min_test_accuracy"] == round(min(entry["measured"].values()) - section["margin"], 4)
    assert section["calibrated_on"]["backend"] == backend


@pytest.mark.parametrize("backend", SECTIONS)
@pytest.mark.parametrize("name", models.NOTEBOOK_MODELS)
def test_mlp_thresholds_stay_close_to_the_notebook(backend, name):
    floor = SECTIONS[backend]["models"][name]["min_test_accuracy"]
    assert MLP_FLOOR <= floor < golden.load("seed_results")["models"][name]["test_accuracy"]


@pytest.mark.parametrize("backend", SECTIONS)
def test_softmax_gets_its_own_lower_gate(backend):
    assert SOFTMAX_BAND[0] <= SECTIONS[backend]["models"]["softmax"]["min_test_accuracy"] <= SOFTMAX_BAND[1]


@pytest.mark.parametrize("backend", SECTIONS)
def test_mean_gate_is_worst_seed_mean_minus_margin(backend):
    section = SECTIONS[backend]
    assert section["min_mean_test_accuracy"] == round(
        min(section["measured_means"].values()) - section["mean_margin"], 4
    )
    for seed, mean in section["measured_means"].items():
        per_model = [section["models"][n]["measured"][seed] for n in models.NOTEBOOK_MODELS]
        assert mean == pytest.approx(statistics.fmean(per_model), abs=1e-12)
    assert section["min_mean_test_accuracy"] >= 0.975


def crafted_run(offset: float) -> dict[str, dict]:
    return {name: {"test_accuracy": 0.98 + offset + i / 1000} for i, name in enumerate(models.names())}


def test_calibrate_takes_the_worst_seed_minus_the_margin():
    section = calibrate({0: crafted_run(0.0), 1: crafted_run(-0.002), 2: crafted_run(0.001)},
                        margin=0.003, mean_margin=0.002, env={"backend": "jax"})
    assert section["models"]["arch1_relu"]["min_test_accuracy"] == round(0.978 - 0.003, 4)
    assert section["models"]["arch1_bn"]["measured"] == {"0": 0.981, "1": 0.979, "2": 0.982}
    assert section["min_mean_test_accuracy"] == round(0.978 + 0.003 - 0.002, 4)


def test_merge_keeps_the_other_backends():
    merged = merge_gates({"default_backend": "tensorflow", "backends": {"tensorflow": {"x": 1}}},
                         "jax", {"y": 2})
    assert merged["backends"] == {"tensorflow": {"x": 1}, "jax": {"y": 2}}
    fresh = merge_gates(None, "tensorflow", {"z": 3})
    assert fresh["default_backend"] == "tensorflow" and fresh["backends"] == {"tensorflow": {"z": 3}}
