"""A result knows what it is: a result.json is read only from the folder of the model it names."""

from __future__ import annotations

import shutil

import pytest
from cli_run import run_cli

from mnist_mlp.training import results


@pytest.fixture
def swapped(tmp_path, make_result, write_run):
    """A run folder whose arch1_relu/ and softmax/ results were swapped."""
    run = tmp_path / "run"
    write_run(run, [make_result("arch1_relu", test_accuracy=0.981),
                    make_result("softmax", test_accuracy=0.925)])
    shutil.move(run / "arch1_relu" / "result.json", tmp_path / "a.json")
    shutil.move(run / "softmax" / "result.json", run / "arch1_relu" / "result.json")
    shutil.move(tmp_path / "a.json", run / "softmax" / "result.json")
    return run


def test_verify_refuses_swapped_results_with_one_line(swapped, capsys):
    code, out, err = run_cli(capsys, "verify", str(swapped))
    assert code == 2, out
    assert err.count("\n") == 1
    assert f"{swapped / 'arch1_relu' / 'result.json'}: holds softmax's result, not arch1_relu's" in err


@pytest.mark.parametrize("command", ["report", "verify"])
def test_a_result_naming_an_unknown_model_is_refused(command, tmp_path, make_result, write_run, capsys):
    run = tmp_path / "run"
    write_run(run, [make_result("arch1_relu")])
    text = (run / "arch1_relu" / "result.json").read_text().replace('"model": "arch1_relu"',
                                                                     '"model": "no_such_model"')
    (run / "arch1_relu" / "result.json").write_text(text)
    code, _, err = run_cli(capsys, command, str(run))
    assert code == 2
    assert "holds no_such_model's result, not arch1_relu's" in err


def test_a_finished_result_is_reused_only_by_its_own_model(tmp_path, make_result, write_run):
    write_run(tmp_path, [make_result("softmax")])
    shutil.copytree(tmp_path / "softmax", tmp_path / "arch1_relu")
    with pytest.raises(results.ResultError, match="holds softmax's result, not arch1_relu's"):
        results.load_finished(tmp_path / "arch1_relu")
    assert results.load_finished(tmp_path / "softmax").model == "softmax"


# --- a run folder is one run: one seed (its folder's), one recipe, the same images ---------------
SUBSET = {"train_images": 2048, "test_images": 512}


def one_line_exit_2(capsys, *argv) -> str:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and len(err.strip().splitlines()) == 1, (code, out, err)
    return err


@pytest.mark.parametrize("command", ["verify", "report"])
def test_a_seed_folder_holding_another_seeds_results_is_refused(command, tmp_path, make_result, write_run,
                                                                capsys):
    write_run(tmp_path / "seed-5", [make_result("arch1_relu", seed=6), make_result("softmax", seed=6)])
    assert "holds seed 6's result, not seed 5's" in one_line_exit_2(capsys, command, str(tmp_path / "seed-5"))


@pytest.mark.parametrize(("change", "named"), [
    ({"seed": 6}, "one run folder holds one seed"),
    ({"data": SUBSET}, "train_images 2048 vs 60000"),
    ({"epochs": 12}, "epochs 12 vs 20"),
], ids=["seeds", "images", "recipes"])
@pytest.mark.parametrize("command", ["verify", "report", "compare"])
def test_one_folder_mixing_runs_is_refused_not_judged(command, change, named, tmp_path, make_result,
                                                      write_run, capsys):
    import dataclasses

    mixed = make_result("softmax", seed=change.get("seed", 5), epochs=change.get("epochs", 20))
    if "data" in change:
        mixed = dataclasses.replace(mixed, data=change["data"])
    write_run(tmp_path / "run", [make_result("arch1_relu", seed=5), mixed])
    argv = [command, str(tmp_path / "run")] + ([str(tmp_path / "run")] if command == "compare" else [])
    assert named in one_line_exit_2(capsys, *argv)


def test_verify_refuses_a_mean_over_seeds_of_other_images(tmp_path, make_result, write_run, capsys):
    import dataclasses

    write_run(tmp_path / "a" / "seed-5", [make_result("arch1_relu", seed=5)])
    subset = dataclasses.replace(make_result("arch1_relu", seed=6), data=SUBSET)
    write_run(tmp_path / "b" / "seed-6", [subset])
    err = one_line_exit_2(capsys, "verify", str(tmp_path / "a" / "seed-5"), str(tmp_path / "b" / "seed-6"))
    assert "train_images 2048 vs 60000" in err


@pytest.mark.parametrize("command", ["verify", "report"])
def test_a_linked_model_folder_is_not_read_as_the_runs(command, tmp_path, make_result, write_run, capsys):
    write_run(tmp_path / "run", [make_result("arch1_relu")])
    write_run(tmp_path / "elsewhere", [make_result("softmax")])
    (tmp_path / "run" / "softmax").symlink_to(tmp_path / "elsewhere" / "softmax")
    assert "is a symbolic link" in one_line_exit_2(capsys, command, str(tmp_path / "run"))


@pytest.mark.parametrize("name", ["seed-05", "seed-\u0665", "seed-+5"])
def test_only_the_folder_name_seed_folder_writes_is_a_seed_folder(name):
    assert results.folder_seed(name) is None
    assert results.folder_seed("seed-5") == 5 and results.folder_seed("seed-0") == 0


def test_a_foreign_model_name_that_breaks_lines_is_named_in_one_line(tmp_path, make_result, write_run,
                                                                   capsys):
    """Found by the fuzzer: a model named "\\x1e" (a line boundary to str.splitlines)."""
    import json

    write_run(tmp_path / "run", [make_result("arch1_relu")])
    path = tmp_path / "run" / "arch1_relu" / "result.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "model": "\x1e"}))
    assert "holds '\\x1e''s result" in one_line_exit_2(capsys, "verify", str(tmp_path / "run"))
