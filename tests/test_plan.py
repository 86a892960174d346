"""The run plan (mnist_mlp.training.plan): made once per command from the command line and the machine;
the usable cores are read there and nowhere else, and what the cores cannot give is refused
before anything is created."""

from __future__ import annotations

import dataclasses

import pytest
from cli_run import run_cli

from mnist_mlp.cli import main as cli
from mnist_mlp.notebook.recipe import Recipe
from mnist_mlp.training import plan, pool, reproduce


@pytest.fixture
def counted_cores(monkeypatch):
    """``pool.usable_cores`` counting its calls; the machine has cores 0 and 1."""
    calls = []

    def usable_cores():
        calls.append(1)
        return [0, 1]

    monkeypatch.setattr(pool, "usable_cores", usable_cores)
    return calls


def test_a_plan_reads_the_cores_once_and_keeps_them(counted_cores, tmp_path, monkeypatch):
    monkeypatch.delenv(plan.LIMIT_ENV, raising=False)
    made = plan.make_plan(["softmax", "arch1_relu"], [3, 4, 3], Recipe(epochs=2), tmp_path, None, jobs=2,
                          per_seed_folders=True)
    assert counted_cores == [1]
    assert made.cores == (0, 1) and made.jobs == 2 and made.jobs_given
    assert made.seeds == (3, 4) and made.recipe.seed == 3 and made.recipe_for(4).seed == 4
    assert made.folder(4) == tmp_path / "seed-4"


def test_jobs_the_cores_cannot_give_are_one_line_exit_2_and_nothing_is_created(
        counted_cores, tmp_path, capsys):
    code, out, err = run_cli(capsys, "reproduce", "--jobs", "3", "--out", str(tmp_path / "run"))
    assert code == cli.EXIT_USAGE and out == "", err
    assert err.strip() == ("mnist-mlp: error: --jobs 3 is more than the 2 usable cores; "
                           "use at most --jobs 2")
    assert not (tmp_path / "run").exists()


def test_the_pool_path_trains_on_the_plans_cores_without_reading_them_again(
        counted_cores, tmp_path, monkeypatch, make_result):
    monkeypatch.delenv(plan.LIMIT_ENV, raising=False)
    made = plan.make_plan(["softmax"], [5], Recipe(epochs=1), tmp_path, None, jobs=2)
    given = {}

    def fake_run(tasks, recipe, source, jobs, cores=None, **kwargs):
        given.update(cores=cores, jobs=jobs, seed=recipe.seed)
        results = (make_result(task.model, seed=task.seed) for task in tasks)
        return {task: dataclasses.replace(r, environment={**r.environment, "backend_chosen_by": "test"})
                for task, r in zip(tasks, results)}

    monkeypatch.setattr(pool, "run", fake_run)
    runs = reproduce.train(made)
    assert given == {"cores": (0, 1), "jobs": 2, "seed": 5}
    assert list(runs) == [5] and list(runs[5][1]) == ["softmax"]
    assert counted_cores == [1]  # the plan's read only


def test_seeds_that_calibrated_a_gate_are_named_before_training(capsys, monkeypatch, tmp_path):
    """A user's first seeds (1, 2, 3) calibrated the accuracy gates: say so before the hour of
    training, not only in the verdict after it."""
    def stop_before_training(plan, reports=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(reproduce, "train", stop_before_training)
    code, out, _ = run_cli(capsys, "reproduce", "--seeds", "3", "12", "--jobs", "1", "--models", "softmax",
                           "--out", str(tmp_path / "run"))
    assert code == 130
    first = out.splitlines()[0]
    assert first.startswith("note: seed 3 calibrated the accuracy gate (golden/measured/gates.json)"), out


def test_a_bad_limit_setting_is_a_plan_error_naming_it(monkeypatch, counted_cores):
    monkeypatch.setenv(plan.LIMIT_ENV, "lots")
    with pytest.raises(plan.PlanError, match="MNIST_MLP_LIMIT: expected a whole number >= 1, got 'lots'"):
        plan.make_plan(["softmax"], [0], Recipe(), None, None)
