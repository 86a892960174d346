"""The upgrade verdict: the seed policy, the judgement, the page (mnist_mlp/judging/upgrade.py) and the
command's pure parts (benchmarks/upgrade.py)."""

from __future__ import annotations

import dataclasses
import json
import statistics
from pathlib import Path

import pytest
import stacks
import upgrade as command

from mnist_mlp.judging import upgrade
from mnist_mlp.judging.upgrade import Side, SpeedRow, Verdict

TREE = Path(__file__).resolve().parent.parent
# t quantiles, from tables: t(0.99, 3), t(0.90, 3), t(0.99, 7), t(0.90, 7)
T99_3, T90_3, T99_7, T90_7 = 4.540703, 1.637744, 2.997952, 1.414924


def test_the_detectable_drop_is_the_paired_t_tests_at_90_percent_power():
    # differences 1, 2, 1.5, 0.5 thousandths: sd 0.6455 thousandths
    drop = upgrade.detectable_drop([0.001, 0.002, 0.0015, 0.0005])
    assert drop == pytest.approx((T99_3 + T90_3) * 0.000645497 / 2, rel=1e-5)
    assert upgrade.detectable_drop([0.0, 0.0, 0.0]) == 0.0
    assert upgrade.detectable_drop([0.001]) is None


def test_one_bit_identical_seed_settles_a_model_and_others_get_four_then_more():
    assert upgrade.seeds_wanted([]) == 1
    assert upgrade.seeds_wanted([0.0]) == 1
    assert upgrade.seeds_wanted([0.0, 0.0]) == 2
    assert upgrade.seeds_wanted([0.0001]) == 4
    assert upgrade.seeds_wanted([-0.0001, 0.0001, 0.0, 0.0002]) == 4  # drop 0.04 points: enough
    # sd 0.0984 points over 4 seeds: detectable 0.304 points > 0.2: ask for 4 x (0.304/0.2)^2 -> 10, capped
    noisy = [-0.0030, -0.0040, -0.0050, -0.0029]
    assert statistics.stdev(noisy) == pytest.approx(0.000984, rel=1e-3)
    assert upgrade.detectable_drop(noisy) == pytest.approx((T99_3 + T90_3) * statistics.stdev(noisy) / 2)
    assert upgrade.seeds_wanted(noisy) == 8
    assert upgrade.seeds_wanted(noisy, cap=6) == 6
    assert upgrade.seeds_wanted(noisy * 2) == 8  # at the cap: no more


def side(name: str, tf: str) -> Side:
    return Side(name, "3.12", f"/locks/{name}.txt", {"tensorflow": tf, "keras": "3.15.1"})


def verdict(build=None, candidate_values=None, speed_ratio=1.0, speed_verdict="same") -> Verdict:
    base_values = {"arch1_relu": {11: 0.981, 12: 0.982, 13: 0.980, 14: 0.983},
                   "softmax": {11: 0.925}}
    return Verdict(
        side("py312-tf218", "2.18.1"), side("tensorflow==2.21.0", "2.21.0"), "tensorflow",
        ("tensorflow 2.18.1 -> 2.21.0",), build or {"arch1_relu": (), "softmax": ()},
        {"base": base_values, "candidate": candidate_values or base_values},
        (SpeedRow("arch1_relu", speed_ratio, speed_ratio - 0.01, speed_ratio + 0.01, 0.001,
                  speed_verdict, (speed_ratio, speed_ratio)),),
        412.5, "2 CPUs, x86_64")


def test_nothing_changed_is_exit_0_and_identical():
    v = verdict()
    assert v.failures() == [] and v.exit_status == 0
    assert [row.outcome for row in v.paired()] == ["identical", "identical"]
    assert upgrade.headline(v) == ("py312-tf218 → tensorflow==2.21.0 (tensorflow): nothing got worse "
                                   "(exit 0; 6.9 min on 2 CPUs, x86_64)")


def test_a_resumed_verdict_says_how_many_training_runs_it_reused():
    # arch1_relu's 4 seeds and softmax's 1, on both sides: 10 runs
    v = Verdict(**{**verdict().__dict__, "reused_runs": 9})
    assert upgrade.headline(v).endswith(
        "(exit 0; 6.9 min on 2 CPUs, x86_64; 9 of 10 training runs reused from an earlier invocation)")
    assert Verdict.from_json(json.loads(json.dumps(v.to_json()))) == v
    old = verdict().to_json()
    del old["reused_runs"]  # a verdict.json kept before runs were counted
    assert Verdict.from_json(old).reused_runs == 0


def test_runs_finished_before_the_invocation_are_counted_as_reused(tmp_path):
    for side, seed, model, finished in (("base", 11, "softmax", "2026-12-06T05:41:04+00:00"),
                                        ("base", 12, "softmax", "2026-12-06T06:40:00+00:00"),
                                        ("candidate", 11, "softmax", "2026-12-06T06:29:59+00:00")):
        folder = tmp_path / side / "runs" / f"seed-{seed}" / model
        folder.mkdir(parents=True)
        (folder / "result.json").write_text(json.dumps({"finished": finished}))
    values = {"base": {"softmax": {11: 0.9, 12: 0.9}}, "candidate": {"softmax": {11: 0.9}}}
    started = 1796538600.0  # 2026-12-06T06:30:00+00:00
    assert command.reused_runs(tmp_path, values, started) == 2


def test_a_given_base_lock_is_named_beside_its_stack(tmp_path):
    args = command.parse_arguments(["--base", "py311", "--base-lock", str(tmp_path / "keras3132.txt"),
                                    "--candidate-lock", str(tmp_path / "py311.txt")])
    assert command.base_name(args) == "py311 (keras3132.txt)"
    assert command.base_name(command.parse_arguments(["--pin", "keras==3.15.1"])) == "py311"


def test_a_changed_build_field_a_worse_model_and_a_slower_step_each_fail():
    changed = verdict(build={"arch1_relu": ("optimizer.epsilon: expected 1e-07, got 0.001",),
                             "softmax": ()})
    assert changed.failures() == ["build: arch1_relu (1 field(s) changed)"]
    worse = verdict(candidate_values={"arch1_relu": {11: 0.979, 12: 0.980, 13: 0.978, 14: 0.981},
                                      "softmax": {11: 0.925}})
    assert worse.failures() == ["accuracy: arch1_relu worse"] and worse.exit_status == 1
    slower = verdict(speed_ratio=1.10, speed_verdict="SLOWER")
    assert slower.failures() == ["speed: arch1_relu slower x1.100"] and slower.exit_status == 1


def test_a_detectable_drop_of_zero_is_called_bit_identical_only_when_every_seed_is():
    shifted = verdict(candidate_values={"arch1_relu": {11: 0.979, 12: 0.980, 13: 0.978, 14: 0.981},
                                        "softmax": {11: 0.925}})
    page = upgrade.markdown(shifted)
    # every seed 0.2 points lower: no spread, so any drop is seen, but nothing is bit-identical
    assert "| arch1_relu | 11 12 13 14 | -0.200 |" in page
    assert "any (no spread) | worse |" in page and "any (bit-identical) | worse |" not in page
    assert "| softmax | 11 | +0.000 | - | any (bit-identical) | identical |" in page


def test_a_verdict_without_a_speed_section_says_so():
    v = Verdict(**{**verdict().__dict__, "speed": ()})
    assert upgrade.headline(v) == ("py312-tf218 → tensorflow==2.21.0 (tensorflow): nothing got worse, "
                                   "speed not measured (exit 0; 6.9 min on 2 CPUs, x86_64)")


def test_only_the_asked_models_and_the_verdicts_seeds_are_judged():
    found = {"arch1_relu": {1: 0.97, 11: 0.98, 12: 0.98}, "softmax": {11: 0.92}}
    assert command.judged_values(found, ["arch1_relu"]) == {"arch1_relu": {11: 0.98, 12: 0.98}}


def test_a_seed_an_interrupted_reproduce_left_unfinished_is_not_read(tmp_path, make_result, write_run):
    """Seen: a verdict resumed after a kill ended with exit 2 on a seed folder holding only a
    checkpoint; reproduce finishes such a seed, so until then it is not a value."""
    from mnist_mlp.notebook import draws
    runs = tmp_path / "base" / "runs"
    write_run(runs / "seed-11", [dataclasses.replace(make_result("softmax", seed=11, test_accuracy=0.925),
                                                     draws=draws.SCHEME)])
    (runs / "seed-12" / "softmax").mkdir(parents=True)
    (runs / "seed-12" / "softmax" / "checkpoint.npz").write_bytes(b"partial")
    assert list(command.side_values(runs, ["softmax"])["softmax"]) == [11]


def test_a_fanned_out_side_trains_later_seeds_only_for_models_seed_11_did_not_settle(
        tmp_path, make_result, write_run, monkeypatch):
    """CI trains seed 11 first, then the later seeds on runners of their own: a model identical on
    seed 11 is settled there (as in the whole verdict) and is not trained again."""
    from mnist_mlp.notebook import draws

    def seed_11(side, accuracies):
        write_run(tmp_path / side / "runs" / "seed-11", [
            dataclasses.replace(make_result(model, seed=11, test_accuracy=value), draws=draws.SCHEME)
            for model, value in accuracies.items()])
    models = ["arch1_relu", "arch2_relu", "softmax"]
    assert command.unsettled_models(tmp_path, models) == models  # nothing trained yet
    seed_11("base", {"arch1_relu": 0.981, "arch2_relu": 0.979, "softmax": 0.925})
    assert command.unsettled_models(tmp_path, models) == models  # one side only
    seed_11("candidate", {"arch1_relu": 0.981, "arch2_relu": 0.978, "softmax": 0.925})
    assert command.unsettled_models(tmp_path, models) == ["arch2_relu"]
    assert command.unsettled_models(tmp_path, ["softmax"]) == []
    trained = []
    monkeypatch.setattr(command, "reproduce", lambda args, side, python, models, seeds, out:
                        trained.append((side, list(models), list(seeds))))
    for seeds in (["11"], ["12", "13"], ["11", "14"]):
        args = command.parse_arguments(["--base", "py311", "--pin", "keras==3.15.1", "--side", "base",
                                        "--models", *models, "--seeds", *seeds])
        command.train_side(args, "python", tmp_path)
    assert trained == [("base", models, [11]), ("base", ["arch2_relu"], [12, 13]),
                       ("base", models, [11]), ("base", ["arch2_relu"], [14])]


def test_a_run_without_a_finished_time_is_not_counted_as_reused(tmp_path):
    folder = tmp_path / "base" / "runs" / "seed-11" / "softmax"
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(json.dumps({"finished": "-"}))
    assert command.reused_runs(tmp_path, {"base": {"softmax": {11: 0.9}}}, 1796538600.0) == 0


@pytest.mark.parametrize(("argv", "says"), [
    (["--candidate-env", "FOO"], "KEY=VALUE"),
    (["--pin", "keras==3.15.1", "--candidate-lock", "x.txt"], "--candidate-lock"),
    (["--newest", "--candidate-lock", "x.txt"], "--candidate-lock"),
    (["--pin", "keras==3.15.1", "--prereleases"], "--prereleases"),
    (["--pin", "keras==3.15.1", "--speed-rounds", "1"], "--speed-rounds"),
    (["--pin", "keras==3.15.1", "--speed-rounds", "-1"], "--speed-rounds"),
    (["--pin", "keras==3.15.1", "--speed-pairs", "0"], "--speed-pairs"),
    (["--pin", "keras==3.15.1", "--epochs", "0"], "--epochs"),
    (["--pin", "keras==3.15.1", "--jobs", "-3"], "--jobs"),
    (["--pin", "keras==3.15.1", "--backend", "nonsense"], "--backend"),
    (["--pin", "keras==3.15.1", "--side", "base", "--seeds", "99"], "--seeds"),
])
def test_bad_arguments_are_refused_before_anything_is_built(argv, says, capsys):
    with pytest.raises(SystemExit) as exit_info:
        command.parse_arguments(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


def altered(**changes) -> str:
    """A measured verdict.json with some of its fields replaced (``side_accuracy``: the
    candidate's accuracy of arch1_relu; ``speed_row``: fields of the speed row)."""
    data = verdict().to_json()
    if "side_accuracy" in changes:
        data["accuracy"]["candidate"]["arch1_relu"] = changes.pop("side_accuracy")
    if "speed_row" in changes:
        data["speed"][0].update(changes.pop("speed_row"))
    data.update(changes)
    return json.dumps(data)


@pytest.mark.parametrize("text", [
    altered(build=["arch1_relu"]), "[]", '{"base": 1}', "not json", "[" * 100_000,
    altered(accuracy={"base": verdict().to_json()["accuracy"]["base"]}),
    altered(side_accuracy={"11": float("nan"), "12": 0.98, "13": 0.98, "14": 0.98}),
    altered(side_accuracy={"11": 10**400}), altered(side_accuracy={"11": 50.0}),
    altered(speed_row={"verdict": "FASTER!!"}), altered(speed_row={"ratio": float("nan")}),
    altered(wall_seconds=10**400), altered(wall_seconds=-1.0), altered(reused_runs=10**30),
    altered(base={**verdict().to_json()["base"], "name": "py311\n\x1b[31mred"}),
    altered(backend={"x": 1}),
], ids=["build-list", "list", "base-int", "not-json", "deep", "no-candidate", "nan", "huge-int",
        "above-1", "speed-word", "ratio-nan", "wall-huge", "wall-negative", "reused-huge",
        "control-characters", "backend-object"])
def test_a_malformed_verdict_file_is_one_line_and_exit_2(text, tmp_path, capsys):
    bad = tmp_path / "verdict.json"
    bad.write_text(text)
    assert command.main(["--from-verdict", str(bad)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and str(bad) in err and "delete" not in err


def test_a_verdict_file_that_is_not_a_regular_file_is_refused(capsys):
    assert command.main(["--from-verdict", "/dev/zero"]) == 2
    assert "/dev/zero is not a regular file" in capsys.readouterr().err


def test_a_verdict_survives_its_json():
    v = verdict(speed_ratio=1.10, speed_verdict="SLOWER")
    again = Verdict.from_json(json.loads(json.dumps(v.to_json())))
    assert again == v


def test_the_page_states_each_section_and_keeps_untrusted_text_inert():
    v = verdict()
    page = upgrade.markdown(v)
    # Markdown shows the escaped brackets as brackets
    assert ("| arch1_relu | 11 12 13 14 | +0.000 | \\[+0.000, +0.000\\] | any (bit-identical) "
            "| identical |") in page
    assert "| arch1_relu | 1.000 | \\[0.990, 1.010\\] | 1.000 1.000 | 0.0010 | same |" in page
    assert "| tensorflow | 2.18.1 | 2.21.0 |" in page
    hostile = Verdict(**{**v.__dict__, "lock_changes": ("<script>x</script>",)})
    assert "<script>" not in upgrade.to_html(hostile) and "<script>" not in upgrade.markdown(hostile)


def test_lock_changes_name_every_moved_added_and_removed_pin():
    assert command.lock_changes({"tensorflow": "2.18.1", "ml-dtypes": "0.4.1", "old": "1"},
                                {"tensorflow": "2.21.0", "ml-dtypes": "0.4.1", "new": "2"}) == (
        "+new 2", "-old 1", "tensorflow 2.18.1 -> 2.21.0")


def test_a_command_without_a_candidate_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        command.parse_arguments(["--base", "py312-tf218"])
    assert exit_info.value.code == 2
    assert "name a candidate" in capsys.readouterr().err


def test_the_candidate_is_named_by_what_changed(tmp_path):
    args = command.parse_arguments(["--base", "py312-tf218", "--pin", "tensorflow==2.21.0"])
    assert command.candidate_name(args, tmp_path / "candidate.lock.txt") == "tensorflow==2.21.0"
    args = command.parse_arguments(["--base", "py313-tf221", "--candidate-python", "3.12",
                                    "--plant", "label_noise_07pct:arch1_relu:0.0037:1"])
    assert command.candidate_name(args, tmp_path / "c.txt") == (
        "Python 3.12 planted label_noise_07pct:arch1_relu:0.0037:1")
    assert command.candidate_only(args) == {
        "MNIST_MLP_PLANT": "label_noise_07pct:arch1_relu:0.0037:1",
        "PYTHONPATH": str(TREE / "benchmarks" / "plants")}


def test_the_base_python_can_differ_from_its_stacks():
    """A Python upgrade: the base stack's lock on an older Python against the stack's own."""
    args = command.parse_arguments(["--base", "py313-tf221", "--base-python", "3.12",
                                    "--candidate-python", "3.13"])
    assert (args.base_python, args.candidate_python) == ("3.12", "3.13")
    assert command.candidate_name(args, Path("py313-tf221.txt")) == "Python 3.13"
    args = command.parse_arguments(["--base", "py313-tf221", "--pin", "numpy==2.1.3"])
    assert (args.base_python, args.candidate_python) == ("3.13", "3.13")


@pytest.mark.slow  # four training processes and four benchmark processes, on 2,048 images
def test_a_changed_keras_default_planted_in_the_candidate_is_named_and_fails_the_verdict(tiny_cli, tmp_path):
    """End to end on this environment as both sides: BatchNormalization's momentum 0.9 instead of
    0.99 on the candidate side only is named in the build section, and the verdict exits 1; the
    base side's own result is untouched (its configuration says 0.99)."""
    import subprocess
    import sys

    out = tmp_path / "verdict"
    run = subprocess.run(
        [sys.executable, str(TREE / "benchmarks" / "upgrade.py"), "--base", "py311",
         "--base-env-python", sys.executable, "--candidate-env-python", sys.executable,
         "--plant", "bn_momentum", "--models", "arch1_bn", "--epochs", "1", "--max-seeds", "1",
         "--speed-pairs", "1", "--speed-rounds", "3", "--out", str(out)],
        capture_output=True, text=True, check=False)
    assert run.returncode == 1, run.stdout[-2000:] + run.stderr[-2000:]
    kept = Verdict.from_json(json.loads((out / "verdict.json").read_text()))
    # arch1_bn's layers as configured: InputLayer, Dense, BatchNormalization, Dense, BatchNormalization, Dense
    assert kept.build["arch1_bn"] == (
        "model.layers[2].config.momentum: expected 0.99, got 0.9",
        "model.layers[4].config.momentum: expected 0.99, got 0.9")
    assert kept.failures()[0] == "build: arch1_bn (2 field(s) changed)"
    assert [row.model for row in kept.speed] == ["arch1_bn"]
    assert kept.candidate.name == "planted bn_momentum"
    page = (out / "verdict.md").read_text()
    # Markdown shows the escaped brackets as brackets
    assert "| arch1_bn | CHANGED | model.layers\\[2\\].config.momentum: expected 0.99, got 0.9;" in page
    base_folder = out / "base" / "runs" / "seed-11" / "arch1_bn"
    base_config = json.loads((base_folder / "trained_config.json").read_text())
    assert [layer["config"].get("momentum") for layer in base_config["model"]["layers"]
            if layer["class_name"] == "BatchNormalization"] == [0.99, 0.99]


KEPT = sorted((TREE / "benchmarks" / "results" / "upgrade").glob("*.json"))


@pytest.mark.parametrize("kept", KEPT, ids=[p.stem for p in KEPT])
def test_each_kept_verdict_page_is_what_its_json_renders(kept):
    verdict = Verdict.from_json(json.loads(kept.read_text()))
    results = TREE / "docs" / "results"
    figure = results / "figures" / f"upgrade-{kept.stem}.png"
    assert (results / f"upgrade-{kept.stem}.md").read_text() == upgrade.markdown(verdict, figure, results)
    assert figure.read_bytes().startswith(PNG)
    assert f"(results/upgrade-{kept.stem}.md)" in (TREE / "docs" / "upgrade.md").read_text()


PNG = b"\x89PNG\r\n\x1a\n"


def test_the_page_draws_every_models_difference_and_ratio_with_their_intervals(tmp_path):
    from mnist_mlp.report import plots

    v = verdict(speed_ratio=1.10, speed_verdict="SLOWER")
    figure = tmp_path / "figures" / "verdict.png"
    drawn = plots.plot_upgrade(v, upgrade.SPEED_THRESHOLD, figure)
    accuracy, speed = drawn.axes
    assert [t.get_text() for t in accuracy.get_yticklabels()] == ["arch1_relu", "softmax"]
    assert accuracy.get_xlabel() == "accuracy: candidate - base (points)"
    assert speed.get_xlabel() == "step time: candidate / base"
    assert sorted(line.get_xdata()[0] for line in speed.lines if len(line.get_xdata()) == 2
                  and line.get_xdata()[0] == line.get_xdata()[1]) == [1.0, 1.05]  # 1 and SLOWER
    assert figure.read_bytes().startswith(PNG)
    assert ("![Per model: the paired accuracy difference and the step-time ratio, with their intervals "
            "(grey identical, blue same, green better or faster, red worse or SLOWER; dashed: the SLOWER "
            "threshold)](figures/verdict.png)") in upgrade.markdown(v, figure, tmp_path)
    assert "data:image/png;base64," in upgrade.to_html(v, figure)
    assert "figures/" not in upgrade.markdown(v) and "data:image" not in upgrade.to_html(v)
    no_speed = dataclasses.replace(v, speed=())
    assert len(plots.plot_upgrade(no_speed, upgrade.SPEED_THRESHOLD, figure).axes) == 1


@pytest.mark.parametrize("kept", KEPT, ids=[p.stem for p in KEPT])
def test_a_kept_verdicts_base_lock_is_kept_when_no_stack_holds_it(kept):
    """A base given as a lock file of its own is kept beside the verdict, so it can be judged again."""
    verdict = Verdict.from_json(json.loads(kept.read_text()))
    given = Path(verdict.base.lock)
    if given.parts[-3:-1] == ("benchmarks", "locks"):
        lock = TREE / "benchmarks" / "locks" / given.name
    else:
        lock = kept.with_name(f"{kept.stem}.base-lock.txt")
    pins = stacks.read_lock(lock)
    assert {name: pins[name] for name in verdict.base.versions} == dict(verdict.base.versions)


@pytest.mark.parametrize("name", ["../../tmp/x", ".hidden", "a/b", ""])
def test_a_kept_verdicts_name_cannot_leave_its_folders(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        command.parse_arguments(["--from-verdict", "v.json", "--keep", name])
    assert exit_info.value.code == 2 and "is not a plain name" in capsys.readouterr().err


def test_a_side_trained_by_another_candidate_is_not_reused(tmp_path):
    """Runs of one candidate (here: a plant) are removed, never judged as another's."""
    lock = tmp_path / "lock.txt"
    lock.write_text("numpy==2.4.6\n")
    first = command.parse_arguments(["--base", "py311", "--plant", "bn_momentum"])
    command.claim_side_folder(first, "candidate", "3.11", lock, tmp_path)
    (tmp_path / "candidate" / "runs" / "seed-11").mkdir(parents=True)
    command.claim_side_folder(first, "candidate", "3.11", lock, tmp_path)  # the same candidate: kept
    assert (tmp_path / "candidate" / "runs" / "seed-11").is_dir()
    second = command.parse_arguments(["--base", "py311", "--plant", "adam_epsilon"])
    command.claim_side_folder(second, "candidate", "3.11", lock, tmp_path)
    assert not (tmp_path / "candidate" / "runs").exists()


def test_an_out_that_is_a_file_is_one_line_naming_the_fix(tmp_path, capsys):
    """Seen: 'upgrade: [Errno 17] File exists: ...', the bare errno."""
    taken = tmp_path / "taken"
    taken.write_text("mine")
    assert command.main(["--base", "py311", "--pin", "numpy==2.1.3", "--out", str(taken)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a file, not a folder; choose another --out" in err
    assert taken.read_text() == "mine"


def test_a_lock_that_cannot_be_read_leaves_no_out_folder_behind(tmp_path, capsys):
    """Seen: --out was created before the locks were read."""
    bad_lock = tmp_path / "bad.txt"
    bad_lock.write_bytes(b"\xff\xfe not utf-8")
    out = tmp_path / "out"
    assert command.main(["--base", "py311", "--base-lock", str(bad_lock), "--pin", "numpy==2.1.3",
                         "--out", str(out)]) == 2
    assert capsys.readouterr().err.count("\n") == 1 and not out.exists()
