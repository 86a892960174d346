"""benchmarks/ab.py: two builds' processes on one core, one timed round each in turn, who goes
first alternating every round, so adjacent rounds of the two builds pair up; and one ruler, this
tree's instruments, for both builds."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
# A stand-in for a benchmark process: asks for a turn (like the peak measurement), then runs
# ROUNDS rounds, each after a turn, logging "<side><round>" when it runs; CRASH_AT stops it early.
FAKE_WORKER = """
import os, sys, turns
side, rounds, crash_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
handoff = turns.from_env()
handoff.wait()
for i in range(rounds):
    if i == crash_at:
        sys.exit(5)
    with open(sys.argv[4], "a") as log:
        log.write(f"{side}{i}\\n")
    handoff.wait()
"""


@pytest.fixture(scope="module")
def ab():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location("ab_under_test", BENCHMARKS / "ab.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("ab_under_test", None)
        sys.path.remove(str(BENCHMARKS))


def workers(ab, tmp_path, rounds: dict[str, int], crash_at: dict[str, int] | None = None):
    script = tmp_path / "fake_worker.py"
    script.write_text(FAKE_WORKER)
    log = tmp_path / "order.log"
    env = {**os.environ, "PYTHONPATH": str(BENCHMARKS)}
    return log, [ab.spawn(side, [sys.executable, str(script), side, str(n),
                                 str((crash_at or {}).get(side, -1)), str(log)],
                          env, tmp_path / f"{side}.json", tmp_path / f"{side}.log", tmp_path)
                 for side, n in rounds.items()]


def finish(team) -> list[int]:
    codes = [w.process.wait(timeout=30) for w in team]
    for w in team:
        w.close()
    return codes


def test_rounds_alternate_and_who_goes_first_swaps_every_round(ab, tmp_path):
    log, team = workers(ab, tmp_path, {"A": 3, "B": 3})
    ab.take_turns(team)
    assert finish(team) == [0, 0]
    assert log.read_text().split() == ["A0", "B0", "B1", "A1", "A2", "B2"]


def test_a_worker_that_dies_leaves_the_other_its_turns(ab, tmp_path):
    log, team = workers(ab, tmp_path, {"A": 3, "B": 3}, crash_at={"A": 1})
    ab.take_turns(team)
    assert finish(team) == [5, 0]
    assert log.read_text().split() == ["A0", "B0", "B1", "B2"]


def run_with_instruments(where: str | None) -> dict:
    """A benchmark run as pytest-benchmark saves it, timed with the instruments in ``where``."""
    info = {} if where is None else {"instruments": where}
    return {"benchmarks": [{"name": "test_step[arch1_relu]", "extra_info": info}]}


def test_both_builds_timed_with_this_trees_instruments_is_one_ruler(ab):
    here = str(BENCHMARKS / "instruments")
    runs = {"base": [run_with_instruments(here)] * 2, "candidate": [run_with_instruments(here)]}
    assert ab.ruler_error(runs) is None


@pytest.mark.parametrize("where", ["/old/checkout/mnist_mlp", None])
def test_a_build_timed_with_other_instruments_is_refused(ab, where):
    here = str(BENCHMARKS / "instruments")
    runs = {"base": [run_with_instruments(here), run_with_instruments(where)],
            "candidate": [run_with_instruments(here)]}
    error = ab.ruler_error(runs)
    assert error.startswith(f"the base build's test_step[arch1_relu] was timed with the "
                            f"instruments in {where}, not this tree's ")


def test_relative_out_and_work_folders_are_made_absolute(ab, tmp_path, monkeypatch):
    """The benchmark processes run from scratch folders: a relative --out would send their JSON
    to a folder that is not there (seen: ab_error_rates.py --out .benchmarks/x failed so)."""
    monkeypatch.chdir(tmp_path)
    args = ab.parse_arguments(["--base-rev", "HEAD~1", "--out", "rel/out", "--work", "w"])
    assert args.out == tmp_path.resolve() / "rel" / "out"
    assert args.work == tmp_path.resolve() / "w"


def test_a_relative_python_is_made_absolute_and_a_missing_one_is_a_usage_error(ab, tmp_path, monkeypatch,
                                                                               capsys):
    """Seen: --base-python .tox/.../bin/python ended in FileNotFoundError's traceback, because
    the probe runs from the --out folder."""
    python = tmp_path / "env" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.symlink_to(sys.executable)
    monkeypatch.chdir(tmp_path)
    args = ab.parse_arguments(["--base-python", "env/bin/python", "--candidate-python", "env/bin/python"])
    assert args.base_python == args.candidate_python == str(tmp_path / "env" / "bin" / "python")
    with pytest.raises(SystemExit) as exit_info:
        ab.parse_arguments(["--base-python", "env/bin/nothing"])
    assert exit_info.value.code == 2
    assert "env/bin/nothing is not an executable Python" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--base-env", "--candidate-env"])
def test_an_environment_switch_without_a_value_is_refused_with_exit_2(ab, flag, capsys):
    """Seen: ``--candidate-env FOO`` ended with exit 1, the status of a slower candidate."""
    with pytest.raises(SystemExit) as exit_info:
        ab.parse_arguments([flag, "FOO"])
    assert exit_info.value.code == 2
    assert "expected KEY=VALUE, got 'FOO'" in capsys.readouterr().err
    assert ab.env_pairs(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}


def test_each_worker_times_exactly_the_models_asked_for(ab, tmp_path, monkeypatch):
    """Node ids, not a -k substring: asking for arch1_bn must not time arch1_bn_dropout too."""
    started = []
    monkeypatch.setattr(ab, "spawn", lambda side, command, *rest: started.append(command))
    args = ab.parse_arguments(["--base-python", sys.executable, "--models", "arch1_bn", "softmax",
                               "--out", str(tmp_path)])
    ab.start_worker("base", "python", {}, 0, args, tmp_path)
    suite = str(ab.TREE / "benchmarks" / "test_training_speed.py")
    selected = [word for word in started[0] if word.startswith(suite)]
    assert selected == [f"{suite}::test_step[arch1_bn]", f"{suite}::test_step[softmax]"]
    assert "-k" not in started[0]
