"""golden/gates.json is a calibration, not a wish: each backend's section is checked against its
own measurements and against the notebook's ~98 %; calibrate() is checked on crafted seeds."""

from __future__ import annotations

import json
import statistics

import pytest

from mnist_mlp import golden, models
from mnist_mlp.gates.accuracy import calibrate, merge_gates, section

FILE = golden.load("gates")
SECTIONS = FILE["backends"]
# Floors with their reasons: the notebook's seven finished between 97.76 % and 98.38 %; a gate
# below 97 % would let a real regression through, one above the worst seed would fail on noise.
MLP_FLOOR = 0.97
SOFTMAX_BAND = (0.90, 0.93)  # a linear softmax classifier on MNIST reaches ~92-93 %
CASES = [(b, n) for b in SECTIONS for n in models.names()]


def test_default_backend_is_calibrated_and_used_for_uncalibrated_ones():
    assert FILE["default_backend"] in SECTIONS
    assert section("some-future-backend") is SECTIONS[FILE["default_backend"]]
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


def crafted_run(make_result, offset: float, seed: int = 0) -> dict:
    return {name: make_result(name, test_accuracy=0.98 + offset + i / 1000, seed=seed)
            for i, name in enumerate(models.names())}


def test_calibrate_takes_the_worst_seed_minus_the_margin(make_result):
    runs = {0: crafted_run(make_result, 0.0), 1: crafted_run(make_result, -0.002),
            2: crafted_run(make_result, 0.001)}
    new = calibrate(runs, margin=0.003, mean_margin=0.002, env={"backend": "jax"})
    assert new["models"]["arch1_relu"]["min_test_accuracy"] == round(0.978 - 0.003, 4)
    assert new["models"]["arch1_bn"]["measured"] == {"0": 0.981, "1": 0.979, "2": 0.982}
    assert new["min_mean_test_accuracy"] == round(0.978 + 0.003 - 0.002, 4)


def test_merge_keeps_the_other_backends():
    merged = merge_gates({"default_backend": "tensorflow", "backends": {"tensorflow": {"x": 1}}},
                         "jax", {"y": 2})
    assert merged["backends"] == {"tensorflow": {"x": 1}, "jax": {"y": 2}}
    fresh = merge_gates(None, "tensorflow", {"z": 3})
    assert fresh["default_backend"] == "tensorflow" and fresh["backends"] == {"tensorflow": {"z": 3}}


# ---------------------------------------------------------------------------------------------
# The command: mnist-mlp calibrate RUN_DIR... --write FILE


def test_cli_calibrate_writes_the_runs_backend_and_keeps_the_others(tmp_path, capsys, make_result,
                                                                    write_run):
    from mnist_mlp import cli

    for seed, offset in ((0, 0.0), (1, -0.002), (2, 0.001)):
        write_run(tmp_path / f"s{seed}", crafted_run(make_result, offset, seed).values())
    target = tmp_path / "gates.json"
    target.write_text(json.dumps({"_about": "kept", "default_backend": "tensorflow",
                                  "backends": {"jax": {"old": True}}}))
    argv = ["calibrate", *(str(tmp_path / f"s{s}") for s in range(3)), "--write", str(target)]
    assert cli.main(argv) == 0
    assert capsys.readouterr().out == f"wrote the tensorflow gates of {target} from seeds [0, 1, 2]\n"
    written = json.loads(target.read_text())
    assert written["_about"] == "kept" and written["backends"]["jax"] == {"old": True}
    tensorflow = written["backends"]["tensorflow"]
    assert tensorflow["models"]["arch1_relu"]["min_test_accuracy"] == 0.975
    assert tensorflow["calibrated_on"]["cpu"] == "Crafted CPU @ 2.0GHz"


def test_cli_calibrate_refuses_a_run_of_two_seeds(tmp_path, capsys, make_result, write_run):
    from mnist_mlp import cli

    run = crafted_run(make_result, 0.0)
    run["softmax"] = make_result("softmax", seed=5)
    write_run(tmp_path / "mixed", run.values())
    target = tmp_path / "gates.json"
    assert cli.main(["calibrate", str(tmp_path / "mixed"), "--write", str(target)]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "one seed and all models" in err and len(err.strip().splitlines()) == 1
    assert not target.exists()
