"""Paired comparison of two builds over the same seeds (mnist_mlp.judging.compare, `mnist-mlp compare`),
and the accuracy gate judging several seeds by their mean. Expected values are computed by hand
from printed t quantiles, never by the code under test."""

from __future__ import annotations

import dataclasses
import math

import pytest

from mnist_mlp.cli import main as cli
from mnist_mlp.judging import compare
from mnist_mlp.judging.gates import accuracy
from mnist_mlp.notebook import models

T_995_DF4 = 4.604095  # two-sided 99 % interval, 4 degrees of freedom
T_999_DF4 = 7.173182  # one-sided 0.999, 4 degrees of freedom


def test_equal_values_on_every_seed_are_identical():
    row = compare.PairedRow("arch1_relu", (0.0, 0.0, 0.0))
    assert row.outcome == compare.IDENTICAL and row.passed and row.verdict == "PASS"


def test_interval_and_mean_by_hand():
    row = compare.PairedRow("arch1_relu", (0.001, 0.002, 0.003, 0.004, 0.005))
    half = T_995_DF4 * math.sqrt(2.5e-6) / math.sqrt(5)  # sd of 1..5 (x 1e-3) is sqrt(2.5)
    assert row.mean == pytest.approx(0.003, abs=1e-15)
    assert row.interval == pytest.approx((0.003 - half, 0.003 + half), abs=1e-9)  # 7-digit quantile


@pytest.mark.parametrize(("differences", "outcome"), [
    ((-0.003, -0.002, -0.004, -0.003, -0.0025), compare.WORSE),  # t = -11.3, df 4: p < 0.001
    ((0.003, 0.002, 0.004, 0.003, 0.0025), compare.BETTER),
    ((0.001, -0.001, 0.0005, -0.0005), compare.SAME),
    ((-0.001, -0.002, 0.0005, -0.0005), compare.SAME),  # t = -1.4: a drop, not significant
    ((-0.001,), compare.SAME),  # one seed cannot estimate the noise: never significant
])
def test_outcome_of_a_one_sided_paired_t_test(differences, outcome):
    row = compare.PairedRow("arch1_relu", differences)
    assert row.outcome == outcome
    assert row.passed is (outcome != compare.WORSE)


def test_margin_is_the_loss_allowed_before_worse():
    drop = (-0.0010, -0.0012, -0.0011, -0.0009, -0.0008)  # mean -0.1 pt, clearly a drop
    assert compare.PairedRow("m", drop).outcome == compare.WORSE
    assert compare.PairedRow("m", drop, margin=0.002).outcome == compare.SAME
    # p(worse) at the margin is the t distribution's lower tail at (mean + margin) / se.
    row = compare.PairedRow("m", drop, margin=0.001)
    assert row.p_worse == pytest.approx(0.5, abs=0.02)


def test_pairs_only_common_seeds_and_names_a_build_without_any():
    base = {"arch1_relu": {1: 0.98, 2: 0.981, 3: 0.979}}
    candidate = {"arch1_relu": {2: 0.981, 3: 0.978, 4: 0.99}}
    (row,) = compare.paired_rows(base, candidate)
    assert row.differences == pytest.approx((0.0, -0.001), abs=1e-12)
    with pytest.raises(compare.CompareError, match="share no seed"):
        compare.paired_rows(base, {"arch1_relu": {7: 0.98}})


def seeded_runs(make_result, write_run, folder, values: dict[int, float], models_=("arch1_relu", "softmax")):
    for seed, value in values.items():
        write_run(folder / f"seed-{seed}",
                  [dataclasses.replace(make_result(name, seed=seed, test_accuracy=value),
                                       draws="numpy-v1") for name in models_])


def test_cli_compare_identical_and_worse(tmp_path, capsys, make_result, write_run):
    seeds = {1: 0.981, 2: 0.982, 3: 0.983, 4: 0.984}
    seeded_runs(make_result, write_run, tmp_path / "base", seeds)
    seeded_runs(make_result, write_run, tmp_path / "same", seeds)
    assert cli.main(["compare", str(tmp_path / "base"), str(tmp_path / "same")]) == 0
    out = capsys.readouterr().out
    assert out.count("identical") == 2 and "FAIL" not in out
    # make_result's last epochs rise linearly to test_accuracy: 0.3 points lower everywhere.
    seeded_runs(make_result, write_run, tmp_path / "worse",
                {s: v - 0.003 - s * 1e-4 for s, v in seeds.items()})
    assert cli.main(["compare", str(tmp_path / "base"), str(tmp_path / "worse")]) == 1
    out = capsys.readouterr().out
    assert "paired comparison FAILED for: arch1_relu, softmax" in out


def test_cli_compare_against_golden_needs_a_section_of_the_statistic(tmp_path, capsys, make_result,
                                                                    write_run):
    seeded_runs(make_result, write_run, tmp_path / "cand", {1: 0.98, 2: 0.98})
    section = {"statistic": None, "models": {}}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accuracy, "section_of", lambda result: section)
        assert cli.main(["compare", "golden", str(tmp_path / "cand")]) == 2
    assert "another statistic" in capsys.readouterr().err


def test_golden_values_are_the_sections_measurements_per_seed():
    section = {**accuracy.STATISTIC, "draws": "numpy-v1",
               "models": {"arch1_relu": {"measured": {"1": 0.98, "2": 0.97}}}}
    assert compare.golden_values({"arch1_relu": {}}, section) == {"arch1_relu": {1: 0.98, 2: 0.97}}


# The accuracy gate over several seeds ---------------------------------------------------------

MEASURED = {"1": 0.980, "2": 0.978, "3": 0.981, "4": 0.982, "5": 0.979}  # mean 0.98, sd sqrt(2.5e-6)


def gates_for(names) -> dict:
    entries = {n: {"min_test_accuracy": 0.9675, "measured": MEASURED} for n in names}
    return {**accuracy.STATISTIC, "alpha": 0.001, "models": entries, "min_mean_test_accuracy": 0.9,
            "measured_means": MEASURED}


def test_several_seeds_are_judged_by_their_mean_against_the_bound_for_that_many(make_result):
    sd = math.sqrt(2.5e-6)
    # k = 4 seeds: 0.98 - t(0.999, 4) * sd * sqrt(1/4 + 1/5), floored to 0.01 points.
    expected = math.floor((0.98 - T_999_DF4 * sd * math.sqrt(1 / 4 + 1 / 5)) * 1e4) / 1e4
    assert expected == 0.9723
    runs = [{"softmax": make_result("softmax", seed=s, test_accuracy=0.975)} for s in (1, 2, 3, 4)]
    (row,) = accuracy.seed_rows(runs, gates_for(["softmax"]))
    assert row.threshold == expected and row.seeds == 4
    assert row.final == pytest.approx(0.975)
    # One seed keeps the stored one-seed minimum.
    (one,) = accuracy.seed_rows(runs[:1], gates_for(["softmax"]))
    assert one.threshold == 0.9675


def test_the_gate_judges_the_mean_of_the_last_ten_epochs(make_result):
    result = make_result("arch1_relu", test_accuracy=0.985)
    last_ten = [e.val_accuracy for e in result.epochs][-10:]
    assert accuracy.STATISTIC == {"statistic": {"last_epochs": 10}}  # chosen by measurement
    assert accuracy.gated_value(result, accuracy.STATISTIC) == pytest.approx(sum(last_ten) / 10)
    assert accuracy.gated_value(result, {}) == 0.985  # an older section: the final accuracy
    assert sum(last_ten) / 10 != pytest.approx(0.985, abs=1e-4)
    short = dataclasses.replace(result, epochs=result.epochs[:3])  # a shorter run: all its epochs
    assert accuracy.gated_value(short, accuracy.STATISTIC) == pytest.approx(
        sum(e.val_accuracy for e in result.epochs[:3]) / 3)


def test_multi_seed_verify_refuses_a_repeated_seed(tmp_path, capsys, make_result, write_run):
    for folder in ("a", "b"):
        write_run(tmp_path / folder, [make_result(n, seed=3) for n in models.names()])
    assert cli.main(["verify", str(tmp_path / "a"), str(tmp_path / "b")]) == 2
    assert "seeds [3, 3]" in capsys.readouterr().err


def test_compare_refuses_runs_the_project_did_not_draw_and_a_missing_folder(tmp_path, capsys, make_result,
                                                                            write_run):
    seeded_runs(make_result, write_run, tmp_path / "new", {1: 0.98, 2: 0.981})
    write_run(tmp_path / "old" / "seed-1", [make_result("arch1_relu", seed=1)])  # the backend drew it
    assert cli.main(["compare", str(tmp_path / "old"), str(tmp_path / "new")]) == 2
    assert "not a seeded run drawn by the project" in capsys.readouterr().err
    assert cli.main(["compare", str(tmp_path / "absent"), str(tmp_path / "new")]) == 2
    assert "no such run folder" in capsys.readouterr().err


def test_compare_refuses_builds_trained_on_other_images_or_recipes(tmp_path, capsys, make_result,
                                                                   write_run):
    """A subset run (MNIST_MLP_LIMIT) paired with a full one would read as a drop of points."""
    seeds = {1: 0.981, 2: 0.982}
    seeded_runs(make_result, write_run, tmp_path / "base", seeds)
    for seed in seeds:
        write_run(tmp_path / "subset" / f"seed-{seed}",
                  [dataclasses.replace(make_result(name, seed=seed, test_accuracy=0.85), draws="numpy-v1",
                                       data={"train_images": 512, "test_images": 128})
                   for name in ("arch1_relu", "softmax")])
    code = cli.main(["compare", str(tmp_path / "base"), str(tmp_path / "subset")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "train_images 512 vs 60000" in err and "test_images 128 vs 10000" in err
    # one folder mixing both is refused too, whichever side it is
    write_run(tmp_path / "base" / "seed-2",
              [dataclasses.replace(make_result("softmax", seed=2), draws="numpy-v1",
                                   data={"train_images": 512, "test_images": 128})])
    code = cli.main(["compare", str(tmp_path / "subset"), str(tmp_path / "subset")])
    assert code == 0  # the subset against itself is comparable (identical)
    capsys.readouterr()
    code = cli.main(["compare", str(tmp_path / "base"), str(tmp_path / "base")])
    err = capsys.readouterr().err
    assert code == 2 and "train_images 512 vs 60000" in err, err


def test_a_model_only_one_build_has_is_named_not_left_out():
    """Seen: a candidate missing arch1_relu's result compared 7 of 8 models and passed."""
    base = {"arch1_relu": {11: 0.98}, "softmax": {11: 0.92}}
    with pytest.raises(compare.CompareError, match="arch1_relu: only the base has it"):
        compare.paired_rows(base, {"softmax": {11: 0.92}})
    with pytest.raises(compare.CompareError, match="arch1_relu: only the candidate has it"):
        compare.paired_rows({"softmax": {11: 0.92}}, base)
