"""The GitHub workflows run what tox.ini declares: ci.yml one job per env of the default list,
matrix.yml one per env of the `matrix` label, over seeds that give the accuracy verdict its power."""

from __future__ import annotations

import configparser
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
DETECTABLE_DROP = 0.30  # points: what the weekly matrix must see for every model (issue's aim)


def tox_ini() -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "tox.ini")
    return config


def listed(value: str) -> list[str]:
    """A tox list setting (one entry per line, or comma-separated) as a list."""
    return [item.strip() for item in re.split(r"[,\n]", value) if item.strip()]


def workflow_jobs(name: str) -> list[tuple[str, str]]:
    """``(env, python)`` of each ``- {env: E, python: "P"}`` line of a workflow's matrix."""
    text = (WORKFLOWS / name).read_text()
    return re.findall(r'-\s*\{env:\s*([\w.-]+),\s*python:\s*"([\d.]+)"\}', text)


def python_of(env: str, config: configparser.ConfigParser) -> str:
    """The Python an env runs on: its pyXY factor, else its section's base_python, else 3.11."""
    factor = re.search(r"py3(\d+)", env)
    if factor:
        return f"3.{factor[1]}"
    for section in config.sections():
        names = re.fullmatch(r"testenv:(.*)", section)
        if names and (names[1] == env or re.fullmatch(_expand(names[1]), env)):
            base = config[section].get("base_python", "py311")
            return f"3.{base.removeprefix('py3')}"
    return "3.11"


def _expand(generative: str) -> str:
    """``bench-{jax,tensorflow}`` as the regex ``bench-(jax|tensorflow)``."""
    return re.sub(r"\{([^}]*)\}", lambda m: "(" + "|".join(map(re.escape, m[1].split(","))) + ")",
                  generative)


def test_ci_runs_one_job_per_env_of_tox_default_list_on_its_python():
    config = tox_ini()
    jobs = workflow_jobs("ci.yml")
    assert [env for env, _ in jobs] == listed(config["tox"]["env_list"])
    assert all(python == python_of(env, config) for env, python in jobs), jobs


def test_under_tox_p_the_benchmarks_wait_for_every_test_env_and_for_each_other():
    """`tox p` times the benchmarks on quiet cores only if each bench env depends on every other
    env that a run can hold (the default list and the `full` label's test envs)."""
    config = tox_ini()
    labels = tox_labels(config)
    section = config["testenv:bench-{jax,tensorflow,torch}"]
    unconditional, by_factor = [], {}
    for line in listed_lines(section["depends"]):
        factor, _, envs = line.rpartition(": ")
        (by_factor.setdefault(factor, []) if factor else unconditional).extend(listed(envs))
    held = {*listed(config["tox"]["env_list"]), *labels["full"]}
    assert sorted(unconditional) == sorted(env for env in held if not env.startswith("bench-"))
    assert by_factor == {"tensorflow": ["bench-jax"], "torch": ["bench-jax", "bench-tensorflow"]}


def test_weekly_matrix_runs_every_env_of_the_matrix_label():
    labels = tox_labels(tox_ini())
    jobs = workflow_jobs("matrix.yml")
    assert [env for env, _ in jobs] == labels["matrix"]
    assert all(python == python_of(env, tox_ini()) for env, python in jobs), jobs


def listed_lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def tox_labels(config: configparser.ConfigParser) -> dict[str, list[str]]:
    """tox's ``labels``: each label's envs, in order."""
    return {name.strip(): listed(envs.strip()) for name, envs in
            (line.split("=", 1) for line in listed_lines(config["tox"]["labels"]))}


def matrix_default_seeds() -> list[int]:
    matrix = next(s for s in tox_ini().sections() if s.startswith("testenv:matrix-"))
    found = re.search(r"\{env:MNIST_MLP_SEEDS:([\d ]+)\}", tox_ini()[matrix]["commands"])
    return [int(seed) for seed in found[1].split()]


def test_weekly_workflow_and_tox_default_to_the_same_seeds():
    text = (WORKFLOWS / "matrix.yml").read_text()
    seeds = " ".join(map(str, matrix_default_seeds()))
    assert f'default: "{seeds}"' in text
    assert f"github.event.inputs.seeds || '{seeds}'" in text


def new_draws_sections() -> list[str]:
    """The gates.json sections that judge runs of the project's draws (the others judge only
    results written before it drew them)."""
    from mnist_mlp.notebook import draws

    backends = json.loads((ROOT / "golden" / "measured" / "gates.json").read_text())["backends"]
    return [name for name, section in backends.items() if section.get("draws") == draws.SCHEME]


def test_some_section_judges_the_new_draws():
    assert new_draws_sections() == ["jax"]


def test_every_matrix_stack_is_judged_by_a_section_of_the_new_draws():
    from mnist_mlp.judging.gates import accuracy
    from mnist_mlp.notebook import draws

    for backend, keras in (("tensorflow", "3.15.1"), ("jax", "3.15.1"), ("torch", "3.15.1"),
                           ("tensorflow", "2.15.0")):
        assert accuracy.section(backend, keras, draws.SCHEME)["draws"] == draws.SCHEME, (backend, keras)


@pytest.mark.parametrize("section", new_draws_sections())
def test_matrix_seeds_see_a_drop_of_0_3_points_for_every_model(section):
    gates = json.loads((ROOT / "golden" / "measured" / "gates.json").read_text())["backends"][section]
    seeds = matrix_default_seeds()
    assert len(seeds) == len(set(seeds))
    assert not set(seeds) & set(gates["calibration_seeds"]), "a calibration seed cannot judge its own gate"
    drops = {name: entry["detects_drop_by_seeds"][str(len(seeds))] * 100
             for name, entry in gates["models"].items()}
    assert max(drops.values()) <= DETECTABLE_DROP, drops


TORCH_CPU_WHEELS = "https://download.pytorch.org/whl/cpu/torch/"


@pytest.mark.parametrize("workflow", ["ci.yml", "matrix.yml", "upgrade.yml"])
def test_every_workflow_finds_the_cpu_build_of_torch_the_locks_pin(workflow):
    """PyPI serves no ``+cpu`` torch: without PyTorch's page a locked env cannot install on GitHub."""
    pinned = {line for lock in (ROOT / "benchmarks" / "locks").glob("*.txt")
              for line in lock.read_text().splitlines() if line.startswith("torch==")}
    assert pinned and all(line.endswith("+cpu") for line in pinned)
    text = (WORKFLOWS / workflow).read_text()
    top_level_env = re.search(r"^env:\n((?:  .*\n|\n)*?)^jobs:", text, re.MULTILINE)
    assert top_level_env and f"  UV_FIND_LINKS: {TORCH_CPU_WHEELS}\n" in top_level_env[1]


def test_the_upgrade_workflow_trains_seed_11_first_then_each_later_seed_on_a_runner_of_its_own():
    """Seen: one runner trained seeds 15-18 of every model on both sides, ~176 minutes of
    TensorFlow on 2 cores against a 180-minute limit, whatever seed 11 had settled."""
    from mnist_mlp.judging.upgrade import SEEDS

    text = (WORKFLOWS / "upgrade.yml").read_text().split("\njobs:\n", 1)[1]
    jobs = dict(re.findall(r"^  (\w+):\n((?:    .*\n|\n|  #.*\n)*)", text, re.MULTILINE))
    assert list(jobs) == ["plan", "first", "more", "verdict"]
    assert re.findall(r"--seeds (\S+)", jobs["first"]) == ["11"] and SEEDS[0] == 11
    later = json.loads(re.search(r'seed: (\[.*\])', jobs["more"])[1])
    assert [int(seed) for seed in later] == list(SEEDS[1:]) == list(range(12, 19))
    assert "needs: [plan, first]" in jobs["more"] and "needs: [plan, first, more]" in jobs["verdict"]
    for job in ("first", "more"):  # both sides of a seed on one runner
        assert 'for side in base candidate; do' in jobs[job] and '--side "$side"' in jobs[job]
