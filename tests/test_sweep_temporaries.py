"""The next run sweeps what killed writes left: every temporary file ``files.atomic_path`` names, in
every folder of the run folder that the run writes into (the run folder, figures/, the model
folders, the run's seed-S/ folders and theirs), never through a symbolic link."""

from __future__ import annotations

import pytest
from cli_run import run_cli

from mnist_mlp import files

# What a kill during each atomic write of a run leaves, as atomic_path names it, by folder.
from mnist_mlp.training import reproduce

ROOT = (".efficiency.json.a1b2c3d4.tmp", ".report.md.zz_9yy8x.tmp", ".report.html.k2j4h5g7.tmp")
FIGURES = (".test_accuracy.png.q1w2e3r4.tmp.png", ".loss_arch1_relu.png.abcdefgh.tmp.png",
           ".weights_softmax.png.0_9a8b7c.tmp.png")
MODEL = (".result.json.m0n1b2v3.tmp", ".model.keras.k2j4h5g7.tmp.keras", ".checkpoint.npz.q1w2e3r4.tmp.npz")
REPORT = (".report.md.zz_9yy8x.tmp", ".report.html.k2j4h5g7.tmp")


def temporaries(folder):
    return sorted(p.name for p in folder.iterdir() if files.TEMPORARY.fullmatch(p.name))


def plant(folder, names, kept=("notes.txt",)):
    folder.mkdir(parents=True, exist_ok=True)
    for name in (*names, *kept):
        (folder / name).write_text("torn")


@pytest.fixture
def outside(tmp_path):
    """A folder outside the run: a file and a file named like a leftover temporary."""
    folder = tmp_path / "outside"
    plant(folder, [".result.json.abcdefgh.tmp"], kept=["victim.txt"])
    return folder


def listing(folder):
    return {p.name: p.read_text() for p in folder.iterdir()}


def test_taking_a_run_folder_sweeps_every_folder_the_run_writes_and_follows_no_link(tmp_path, outside):
    out = tmp_path / "run"
    plant(out, ROOT)
    plant(out / "figures", FIGURES)
    for model in ("arch1_relu", "softmax"):
        plant(out / model, MODEL)
    seed = out / "seed-3"
    plant(seed, REPORT)
    plant(seed / "figures", FIGURES)
    plant(seed / "arch1_relu", MODEL)
    plant(out / "seed-4", MODEL)  # another seed's folder: another run may hold it
    # Links: a model folder that is a link (its writer refuses it; the sweep does not enter it),
    # and links named like temporary files (removed themselves, never what they point to).
    (out / "arch2_relu").symlink_to(outside)
    (out / ".report.md.linked01.tmp").symlink_to(outside / "victim.txt")
    (out / "figures" / ".val_accuracy.png.linked02.tmp.png").symlink_to(outside)
    (seed / "arch1_relu" / ".result.json.linked03.tmp").symlink_to(outside / ".result.json.abcdefgh.tmp")
    before = listing(outside)

    with reproduce.locked(out, [3], per_seed_folders=True):
        swept = {folder: temporaries(folder) for folder in (
            out, out / "figures", out / "arch1_relu", out / "softmax",
            seed, seed / "figures", seed / "arch1_relu")}

    assert swept == {folder: [] for folder in swept}
    assert temporaries(out / "seed-4") == sorted(MODEL)
    assert all((folder / "notes.txt").read_text() == "torn" for folder in swept)
    assert (out / "arch2_relu").is_symlink()
    assert listing(outside) == before


def test_report_sweeps_the_temporaries_of_its_report_and_figures(tmp_path, make_result, write_run, capsys):
    run = tmp_path / "run"
    write_run(run, [make_result("arch1_relu")])
    plant(run, REPORT)
    plant(run / "figures", FIGURES)
    code, out, err = run_cli(capsys, "report", str(run))
    assert (code, out, err) == (0, f"report: {run / 'report.html'}\n", "")
    assert temporaries(run) == temporaries(run / "figures") == []
    assert (run / "report.md").is_file() and (run / "figures" / "loss_arch1_relu.png").is_file()


def test_report_on_a_folder_a_run_holds_is_refused_and_sweeps_nothing(tmp_path, make_result, write_run,
                                                                      capsys):
    run = tmp_path / "run"
    write_run(run, [make_result("arch1_relu")])
    from mnist_mlp.training.lock import run_lock

    with run_lock(run):
        plant(run, REPORT)  # a live run's writes in flight
        code, _, err = run_cli(capsys, "report", str(run))
    assert code == 2 and err.count("\n") == 1 and "is in use by another mnist-mlp run" in err
    assert temporaries(run) == sorted(REPORT)


def test_report_on_a_folder_of_seed_folders_a_run_holds_is_refused(tmp_path, make_result, write_run, capsys):
    """A reproduce --seeds folder holds its runs in seed-S/: it is a run's folder too."""
    out = tmp_path / "out"
    write_run(out / "seed-11", [make_result("arch1_relu", seed=11)])
    from mnist_mlp.training.lock import run_lock

    with run_lock(out):
        code, _, err = run_cli(capsys, "report", str(out))
    assert code == 2 and err.count("\n") == 1 and "is in use by another mnist-mlp run" in err
