"""A result knows what it is: a result.json is read only from the folder of the model it names."""

from __future__ import annotations

import shutil

import pytest
from cli_run import run_cli

from mnist_mlp import results


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
