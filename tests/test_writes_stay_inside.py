"""Every write and delete of a run stays inside its run folder: a model, figures or seed folder
that is a symbolic link is refused in one line (exit 2) and nothing is written or swept through it."""

from __future__ import annotations

import pytest
from cli_run import run_cli


@pytest.fixture
def outside(tmp_path):
    """A folder outside the run, holding a file that looks like a leftover temporary."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / ".result.json.tmp123").write_text("not ours")
    return folder


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_a_symlinked_model_folder_is_refused_and_nothing_is_written_through_it(tiny_cli, tmp_path,
                                                                                outside, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "arch1_relu").symlink_to(outside)
    code, _, err = run_cli(capsys, "train", "arch1_relu", "--epochs", "1", "--out", str(run))
    assert code == 2
    assert err.count("\n") == 1
    assert f"{run / 'arch1_relu'} is a symbolic link" in err
    assert listing(outside) == [".result.json.tmp123"]


def test_a_symlinked_figures_folder_is_refused(tmp_path, outside, make_result, write_run, capsys):
    run = tmp_path / "run"
    write_run(run, [make_result("arch1_relu")])
    (run / "figures").symlink_to(outside)
    code, _, err = run_cli(capsys, "report", str(run))
    assert code == 2
    assert f"{run / 'figures'} is a symbolic link" in err
    assert listing(outside) == [".result.json.tmp123"]


def test_a_symlinked_seed_folder_is_refused(tiny_cli, tmp_path, outside, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "seed-11").symlink_to(outside)
    code, _, err = run_cli(capsys, "reproduce", "--models", "softmax", "--seeds", "11", "--epochs", "1",
                           "--jobs", "1", "--out", str(run))
    assert code == 2
    assert f"{run / 'seed-11'} is a symbolic link" in err
    assert listing(outside) == [".result.json.tmp123"]
