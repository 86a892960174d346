"""The command line: tables, the verify gate's PASS/FAIL/exit codes, and one-line errors."""

from __future__ import annotations

import json
import re

import pytest
from cli_run import run_cli

from mnist_mlp.cli import main as cli
from mnist_mlp.judging.gates import accuracy
from mnist_mlp.notebook import golden, models
from mnist_mlp.training.pool import usable_cores

GATES = accuracy.section("tensorflow")


def write_accuracies(make_result, write_run, run_dir, accuracies: dict[str, float]) -> None:
    """A run folder whose models finished at the given test accuracies."""
    write_run(run_dir, [make_result(name, epochs=3, test_accuracy=acc) for name, acc in accuracies.items()])


def test_models_table_lists_every_model_with_its_counts(capsys):
    code, out, _ = run_cli(capsys, "models")
    assert code == 0
    for name in models.names():
        line = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert f"{golden.load('architectures')['models'][name]['total']:,}" in line and line.endswith("same")
    assert "784-700-350-200-100-50-10 +BN +Dropout(0.5)" in out
    assert "built here: all eight as the notebook's" in out


def test_models_builds_each_model_here_and_fails_on_a_count_the_notebook_did_not_have(
        capsys, monkeypatch):
    """'Does it still build?': the counts are this env's built models', judged against the
    notebook's; a changed layer (here: one more parameter in arch2_relu) is exit 1, a gate."""
    real = models.param_totals

    def one_more(model):
        counts = real(model)
        if model.name == "arch2_relu":
            counts = {**counts, "total": counts["total"] + 1, "trainable": counts["trainable"] + 1}
        return counts

    monkeypatch.setattr(models, "param_totals", one_more)
    code, out, _ = run_cli(capsys, "models")
    assert code == cli.EXIT_GATE_FAILED
    line = next(line for line in out.splitlines() if line.startswith("arch2_relu "))
    assert "550,386" in line and line.endswith("DIFFERS (notebook 550,385)")
    assert "built here: FAILED for arch2_relu" in out


def test_summary_prints_keras_summary(capsys):
    code, out, _ = run_cli(capsys, "summary", "arch3_bn_dropout")
    assert code == 0 and re.search(r"Total params: 896,?310", out) and "0.55" in out  # Keras 2: no comma


@pytest.mark.parametrize(
    "argv",
    [
        ["summary", "arch9"],
        ["train", "nope"],
        ["train", "arch1_relu", "--epochs", "0"],
        ["reproduce", "--batch-size", "-1"],
        ["reproduce", "--epochs", "many"],
        ["reproduce", "--models", "arch1_relu", "bogus"],
    ],
    ids=["summary-unknown", "train-unknown", "epochs-0", "batch-negative", "epochs-text", "models-unknown"],
)
def test_bad_values_exit_2_with_one_line(capsys, argv):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("mnist-mlp")  # one line, no usage block


def test_unknown_model_error_lists_valid_names(capsys):
    _, _, err = run_cli(capsys, "summary", "arch9")
    assert all(name in err for name in models.names())


def test_out_folder_that_is_a_file_is_refused_and_kept(capsys, tmp_path):
    target = tmp_path / "results.txt"
    target.write_text("precious")
    code, _, err = run_cli(capsys, "train", "softmax", "--epochs", "1", "--out", str(target))
    assert code == 2 and "is a file" in err and len(err.strip().splitlines()) == 1
    assert target.read_text() == "precious"


def test_out_folder_under_a_file_is_not_writable(capsys, tmp_path):
    (tmp_path / "f").write_text("x")
    code, _, err = run_cli(capsys, "reproduce", "--out", str(tmp_path / "f" / "run"))
    assert code == 2 and "not writable" in err


def test_out_folder_that_is_a_dangling_link_names_the_link(capsys, tmp_path):
    """Seen: 'not writable (File exists)' for a link whose target is missing."""
    link = tmp_path / "run"
    link.symlink_to(tmp_path / "gone" / "run")
    code, _, err = run_cli(capsys, "reproduce", "--out", str(link))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"--out {link} is a link to {tmp_path / 'gone' / 'run'}, which does not exist" in err
    assert "File exists" not in err and link.is_symlink() and not (tmp_path / "gone").exists()


def test_verify_passes_a_good_run(capsys, tmp_path, make_result, write_run):
    write_accuracies(make_result, write_run, tmp_path, {name: 0.999 for name in models.names()})
    code, out, _ = run_cli(capsys, "verify", str(tmp_path))
    assert code == 0
    assert out.count("PASS") == len(models.names()) + 1 and "FAIL" not in out  # + the mean row


def test_verify_fails_one_bad_model(capsys, tmp_path, make_result, write_run):
    accuracies = {name: 0.999 for name in models.names()} | {"arch2_relu": 0.95}
    write_accuracies(make_result, write_run, tmp_path, accuracies)
    code, out, _ = run_cli(capsys, "verify", str(tmp_path))
    assert code == 1
    failing = [line for line in out.splitlines() if line.endswith("FAIL")]
    assert [line.split()[0] for line in failing] == ["arch2_relu"]
    assert "95.00" in failing[0] and "98.08" in failing[0]  # ours and the notebook's


def test_mean_gate_fails_when_every_model_is_just_above_its_floor(make_result):
    results = {name: make_result(name, test_accuracy=GATES["models"][name]["min_test_accuracy"])
               for name in models.names()}
    rows = {row.model: row for row in accuracy.rows(results, GATES | {"min_mean_test_accuracy": 0.999})}
    assert all(rows[name].passed for name in models.names())
    assert not rows["mean(7)"].passed


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no <model>/result.json"), ("{not json", "malformed result.json"),
     ('{"model": "arch1_relu"}', "malformed result.json")],
    ids=["empty-folder", "not-json", "missing-keys"],
)
def test_verify_bad_run_folder_is_one_line_exit_2(capsys, tmp_path, content, message):
    if content is not None:
        (tmp_path / "arch1_relu").mkdir()
        (tmp_path / "arch1_relu" / "result.json").write_text(content)
    code, _out, err = run_cli(capsys, "verify", str(tmp_path))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_verify_missing_folder(capsys, tmp_path):
    code, _, err = run_cli(capsys, "verify", str(tmp_path / "nowhere"))
    assert code == 2 and "no such run folder" in err


def test_data_command_reports_source_and_verified(capsys, mnist, monkeypatch):
    monkeypatch.setenv("MNIST_MLP_CACHE", str(mnist.cache_path.parent))
    code, out, _ = run_cli(capsys, "data")
    assert code == 0 and "source:  cache" in out and "verified" in out and "(60000, 28, 28)" in out


def test_bad_data_file_is_exit_2(capsys, tmp_path):
    bad = tmp_path / "mnist.npz"
    bad.write_bytes(b"\x00" * 100)
    code, _, err = run_cli(capsys, "--data", str(bad), "data")
    assert code == 2 and str(bad) in err and len(err.strip().splitlines()) == 1


def test_reproduce_end_to_end_one_epoch(capsys, tmp_path, mnist, monkeypatch):
    """The main job on real MNIST, shrunk to one epoch of two models: folder, report, gate, resume."""
    monkeypatch.setenv("MNIST_MLP_CACHE", str(mnist.cache_path.parent))
    run = tmp_path / "run"
    code, out, _ = run_cli(capsys, "reproduce", "--models", "softmax", "arch1_relu", "--epochs", "1",
                           "--out", str(run))
    assert code == 1  # one epoch of softmax (~90 %) cannot reach its 20-epoch gate (~92 %) on any backend
    if len(usable_cores()) > 1:  # --jobs' default: a job this small trains here, not on the pool
        assert "training in this process on every core: faster than worker processes" in out
    assert "[1/2] softmax epoch 1/1" in out and "[2/2] arch1_relu epoch 1/1" in out
    failed = next(line for line in out.splitlines() if line.startswith("accuracy gate FAILED for:"))
    assert "softmax" in failed
    for name in ("softmax", "arch1_relu"):
        assert {"result.json", "history.csv", "model.keras"} <= {p.name for p in (run / name).iterdir()}
    assert (run / "report.html").is_file() and (run / "report.md").is_file()
    # The job's matrix FLOPs by hand (tests/test_efficiency.py): one epoch and the test evaluation
    # of arch1_relu (145,484,000,000 + 10,628,000,000) and of softmax (2,038,400,000 + 156,800,000).
    saved = json.loads((run / "efficiency.json").read_text())
    assert saved["flops"] == 158_307_200_000
    assert saved["ratio"] == pytest.approx(saved["seconds"] / (saved["flops"] / sum(
        saved["peak_flops_per_s"].values())), rel=0.01)
    assert sorted(map(int, saved["peak_flops_per_s"])) == usable_cores()
    line = next(line for line in out.splitlines() if line.startswith("efficiency: "))
    assert line.startswith("efficiency: 0.2 TFLOP of matrix products in ") and line.endswith("x the floor")
    code, out, _ = run_cli(capsys, "reproduce", "--models", "softmax", "--epochs", "1", "--jobs", "1",
                           "--out", str(run))
    assert "softmax: finished earlier" in out and "not retrained" in out
    assert "efficiency: not stated: softmax did part of the work before this job" in out


@pytest.mark.parametrize("command", [["train", "softmax"], ["matrix", "a", "b"]])
def test_an_output_path_too_long_for_the_system_is_one_line_exit_2(command, capsys, tmp_path):
    """Seen: 25 parts of 200 bytes ended in OSError's traceback (exit 1) while argparse checked it."""
    too_long = str(tmp_path / "/".join(["b" * 200] * 25))
    code, _, err = run_cli(capsys, *command, "--out", too_long)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "too long" in err and "Traceback" not in err


def test_report_of_a_folder_that_holds_no_run_touches_nothing(capsys, tmp_path):
    """Seen: 'report' of a user's folder swept files that looked like a killed write's and left a
    .lock behind, before saying the folder held no run."""
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / ".notes.abcd1234.tmp").write_text("mine")
    code, _, err = run_cli(capsys, "report", str(folder))
    assert code == 2 and "result.json" in err
    assert sorted(p.name for p in folder.iterdir()) == [".notes.abcd1234.tmp"]
