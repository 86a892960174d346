"""benchmarks/stacks.py: the locks every tox env installs from, and the check that holds them."""

from __future__ import annotations

import configparser
import re
import subprocess
import sys
from pathlib import Path

import pytest
import stacks
from packaging.requirements import Requirement
from packaging.version import Version

TREE = Path(__file__).resolve().parent.parent
TOX = configparser.ConfigParser(interpolation=None)
TOX.read(TREE / "tox.ini")


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_lock_is_name_equals_version_lines(tmp_path):
    lock = write(tmp_path / "l.txt", "# header\nNumPy==2.4.6\n\njax_lib==0.10.2  # why\n")
    assert stacks.read_lock(lock) == {"numpy": "2.4.6", "jax-lib": "0.10.2"}


@pytest.mark.parametrize("line", ["numpy>=2", "numpy", "-e .", "numpy==2 ; python_version<'3'"])
def test_a_lock_line_that_is_not_an_exact_pin_is_refused_with_its_line_number(tmp_path, line):
    lock = write(tmp_path / "l.txt", f"scipy==1.15.0\n{line}\n")
    with pytest.raises(stacks.LockError, match=r"l\.txt:2: .* is not 'name==version'"):
        stacks.read_lock(lock)


def test_every_installed_version_outside_the_lock_is_named():
    lock = {"numpy": "2.4.6", "torch": "2.13.0", "scipy": "1.16.0"}
    installed = {"numpy": "2.4.7", "torch": "2.13.0+cpu", "scipy": "1.16.0", "keras": "3.15.1",
                 "pip": "25.0", "setuptools": "80", "wheel": "0.45", "mnist-mlp": "0.1.0"}
    assert stacks.mismatches(lock, installed) == [
        "keras==3.15.1 is not in the lock",
        "numpy==2.4.7 where the lock holds 2.4.6",
    ]


def test_a_local_build_tag_in_the_lock_must_match():
    assert stacks.same_version("2.13.0", "2.13.0+cpu")
    assert stacks.same_version("2.13.0+cpu", "2.13.0+cpu")
    assert not stacks.same_version("2.13.0+cpu", "2.13.0+cu121")
    assert not stacks.same_version("2.13.0+cpu", "2.13.0")
    assert not stacks.same_version("2.13.0", "2.13.1")


def test_a_pin_replaces_the_requirement_of_its_name_only():
    reqs = stacks.requirements("py312-tf218", ("TensorFlow==2.21.0",))
    assert "tensorflow==2.18.*" not in reqs and reqs[-1] == "TensorFlow==2.21.0"
    assert reqs[:-1] == list(stacks.PACKAGE)


def test_check_refuses_this_interpreter_against_a_lock_missing_one_of_its_packages(tmp_path):
    """The planted release: a package installed here that the lock does not hold is exit 2 and
    one line naming it. The lock is this interpreter's own freeze (as the check sees it), less pytest."""
    script = str(TREE / "benchmarks" / "stacks.py")
    frozen = subprocess.run([sys.executable, script, "freeze"], capture_output=True, text=True, check=True)
    pins = frozen.stdout.splitlines()
    pytest_pin = next(line for line in pins if line.startswith("pytest=="))
    lock = write(tmp_path / "l.txt", "".join(f"{line}\n" for line in pins if line != pytest_pin))
    run = subprocess.run([sys.executable, script, "check", str(lock)], capture_output=True, text=True,
                         check=False)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1
    assert f"{pytest_pin} is not in the lock" in run.stderr
    write(lock, lock.read_text() + f"{pytest_pin}\n")
    passed = subprocess.run([sys.executable, script, "check", str(lock)], capture_output=True, text=True,
                            check=False)
    assert passed.returncode == 0, passed.stderr


@pytest.mark.parametrize("stack", sorted(stacks.STACKS))
def test_every_lock_satisfies_its_stacks_requirements(stack):
    lock = stacks.read_lock(stacks.lock_path(stack))
    for text in stacks.requirements(stack):
        requirement = Requirement(text)
        name = stacks.normalise(requirement.name)
        assert name in lock, f"{stack}: {name} missing"
        assert requirement.specifier.contains(Version(lock[name]), prereleases=True), (stack, text)


def lock_of(env: str) -> str:
    """The lock tox gives ``env``: [testenv]'s MNIST_MLP_LOCK line, the last one whose factors
    the env has."""
    factors = set(env.split("-"))
    chosen = None
    for line in TOX["testenv"]["set_env"].splitlines():
        match = re.fullmatch(r"\s*(?:([\w,]+):\s*)?MNIST_MLP_LOCK = .*locks\{/\}([\w-]+)\.txt", line)
        if match and (match[1] is None or factors & set(match[1].split(","))):
            chosen = match[2]
    assert chosen, env
    return chosen


def tox_envs() -> list[str]:
    names = TOX["tox"]["env_list"].split()
    for label in TOX["tox"]["labels"].splitlines():
        if "=" in label:
            names += [n.strip() for n in label.split("=", 1)[1].split(",")]
    return sorted(set(names) | {"reproduce", "mutation", "fuzz", "accuracy"})


def test_every_env_installs_from_the_lock_of_its_stack_and_checks_it():
    expected = {"py310-tf215": "py310-tf215", "py311-tf216": "py311-tf216",
                "py312-tf218": "py312-tf218", "py313-tf221": "py313-tf221",
                "matrix-py310-tf215": "py310-tf215", "matrix-py313-tf221": "py313-tf221",
                "jax": "py311", "torch": "py311", "faults": "py311", "lint": "py311",
                "reproduce": "py311", "matrix-py311-jax": "py311", "accuracy": "py311"}
    for env, stack in expected.items():
        assert lock_of(env) == stack, env
    for env in tox_envs():
        assert stacks.lock_path(lock_of(env)).is_file(), env
    # bench envs set their own set_env: the py311 lock, spelled as [testenv]'s default
    bench = TOX["testenv:bench-{jax,tensorflow,torch}"]["set_env"]
    assert "MNIST_MLP_LOCK = {tox_root}{/}benchmarks{/}locks{/}py311.txt" in bench
    assert TOX["testenv"]["commands_pre"].strip() == "python {tox_root}{/}benchmarks{/}stacks.py check"
    assert not any("commands_pre" in TOX[s] for s in TOX.sections() if s != "testenv")


def test_each_tox_dep_of_a_stack_is_held_by_its_lock():
    """tox.ini's factor deps (tensorflow==2.18.* for tf218, ...) are what the lock resolved."""
    for line in TOX["testenv"]["deps"].strip().splitlines():
        factor, _, text = line.strip().partition(": ")
        env = {"tf215": "py310-tf215", "tf216": "py311-tf216", "tf218": "py312-tf218",
               "tf221": "py313-tf221"}.get(factor, "py311")
        requirement = Requirement(text)
        version = stacks.read_lock(stacks.lock_path(env))[stacks.normalise(requirement.name)]
        assert requirement.specifier.contains(Version(version)), (line, version)


def test_a_lock_that_is_not_utf8_is_a_lock_error_naming_it(tmp_path):
    """Seen: upgrade.py --candidate-lock of such a file said 'delete OUT and rerun'."""
    lock = tmp_path / "lock.txt"
    lock.write_bytes(b"numpy==2.4.6\n\xff\n")
    with pytest.raises(stacks.LockError, match=r"lock.txt: not UTF-8 text"):
        stacks.read_lock(lock)


def test_the_newest_stacks_follow_new_releases_and_the_older_keep_their_series():
    assert stacks.requirements("py311", newest=True)[-6:] == [
        "tensorflow", "jax", "torch", "mutmut>=3.3,<4", "ruff", "uv"]
    assert stacks.requirements("py313-tf221", newest=True)[-1] == "tensorflow"
    assert stacks.requirements("py312-tf218", newest=True)[-1] == "tensorflow==2.18.*"
    assert stacks.requirements("py311", ("torch==2.14.0",), newest=True)[-1] == "torch==2.14.0"
    assert stacks.requirements("py311")[-6:-3] == ["tensorflow==2.21.*", "jax", "torch==2.13.0"]


def test_pytorchs_cpu_wheels_are_found_unless_the_machine_names_its_own(monkeypatch):
    """The locks pin torch==X+cpu, which PyPI does not serve: a user with no find-links of their
    own gets PyTorch's page of CPU wheels; a machine's own (even empty) setting wins."""
    monkeypatch.delenv("UV_FIND_LINKS", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    assert stacks.find_links() == "https://download.pytorch.org/whl/cpu/torch/"
    monkeypatch.setenv("PIP_FIND_LINKS", "/opt/wheels")
    assert stacks.find_links() == "/opt/wheels"
    monkeypatch.setenv("UV_FIND_LINKS", "")
    assert stacks.find_links() == ""


def test_every_torch_env_of_tox_finds_pytorchs_cpu_wheels_by_default():
    config = configparser.ConfigParser(interpolation=None)
    config.read(stacks.TREE / "tox.ini")
    default = ("torch: UV_FIND_LINKS = {env:UV_FIND_LINKS:{env:PIP_FIND_LINKS:"
               "https://download.pytorch.org/whl/cpu/torch/}}")
    for section in ("testenv", "testenv:bench-{jax,tensorflow,torch}"):
        lines = [line.strip() for line in config[section]["set_env"].splitlines()]
        assert default in lines, section
