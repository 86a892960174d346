"""CI's tools: tox's install_command wrapper (a TensorFlow that cannot install on this Python is one
line), the disk check, and the choice of Pythons."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

CI = Path(__file__).resolve().parents[1] / ".ci"
INSTALL = CI / "install.py"


def test_impossible_tensorflow_is_one_line_naming_the_pair():
    proc = subprocess.run(
        [sys.executable, str(INSTALL), "--dry-run", "--no-deps", "tensorflow==1.0.0"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert proc.returncode != 0
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    assert f"tensorflow==1.0.0 cannot be installed on Python {python}" in lines[0]


def ci_module(name: str, monkeypatch):
    """A script of .ci/ imported as it runs (its folder first on sys.path); only functions and
    constants are defined: its work runs under ``__main__``."""
    monkeypatch.syspath_prepend(str(CI))
    spec = importlib.util.spec_from_file_location(name, CI / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_full_disk_is_one_line_naming_the_problem_and_the_fix(monkeypatch):
    pip_output = ("Collecting torch==2.13.0\nERROR: Could not install packages due to an OSError: "
                  "[Errno 28] No space left on device\n")
    install = ci_module("install", monkeypatch)
    line = install.explain(["torch==2.13.0"], pip_output, "3.11", "/tmp/pip.log",
                               free_bytes=3 * 2**30)
    assert line.count("\n") == 0
    assert "disk is full" in line and "3.0 GiB free" in line
    assert "free disk space" in line and "/tmp/pip.log" in line


def test_other_failures_keep_the_installer_s_last_lines(monkeypatch):
    install = ci_module("install", monkeypatch)
    line = install.explain(["numpy"], "a\nb\nc\nERROR: boom\n", "3.11", "/tmp/p.log",
                               free_bytes=100 * 2**30)
    assert line.splitlines() == ["install: installing failed on Python 3.11 (log: /tmp/p.log):",
                                 "  b", "  c", "  ERROR: boom"]


def test_disk_check_passes_with_room_and_names_the_shortage_without(tmp_path, monkeypatch):
    disk = ci_module("disk", monkeypatch)
    assert disk.shortage(tmp_path, need_gib=0.001) is None
    line = disk.shortage(tmp_path, need_gib=10**9)
    assert line.startswith("ci: ") and "GiB free on the disk of" in line
    assert "needs ~1e+09 GiB" in line and "free disk space" in line and "\n" not in line


def test_ci_run_stops_before_tox_when_the_disk_is_short(tmp_path):
    """.ci/run's first step: the shortage line and exit 2, before pip or tox run (both are
    stand-ins here that would leave a mark)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("pip", "tox"):
        (bin_dir / tool).write_text(f"#!/bin/sh\ntouch {tmp_path}/{tool}-ran\n")
        (bin_dir / tool).chmod(0o755)
    path = f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin"  # python3: this test's own
    env = {"PATH": path, "MNIST_MLP_CI_NEED_GIB": str(10**9)}
    proc = subprocess.run(["bash", str(CI / "run")], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("ci: ") and "free disk space" in proc.stderr
    assert not (tmp_path / "pip-ran").exists() and not (tmp_path / "tox-ran").exists()


def test_ci_selects_the_newest_patch_of_each_matrix_python_whatever_the_machine(monkeypatch):
    pythons = ci_module("pythons", monkeypatch)
    installed = ["2.7.18", "3.9.18", "3.10.2", "3.10.13", "3.11.7", "3.12-dev", "pypy3.10-7.3.12",
                 "3.13.0", "3.13.1", "3.11.7/envs/tools", "3.14.0"]
    assert pythons.newest_per_minor(installed) == ["3.11.7", "3.10.13", "3.13.1"]
    assert pythons.newest_per_minor([]) == []


UV_UNSATISFIABLE = """  x No solution found when resolving dependencies:
  `-> Because tensorflow>=2.15.0rc0,<=2.15.1 has no wheels with a matching Python ABI tag (e.g., `cp313`)
      and you require tensorflow==2.15.*, we can conclude that your requirements are unsatisfiable.
"""


def test_uv_s_resolver_failure_is_the_same_one_line(monkeypatch):
    install = ci_module("install", monkeypatch)
    line = install.explain(["tensorflow==2.15.*"], UV_UNSATISFIABLE, "3.13", "/tmp/i.log",
                           free_bytes=100 * 2**30)
    assert line == ("install: tensorflow==2.15.* cannot be installed on Python 3.13: choose a TensorFlow "
                    "release built for Python 3.13 (docs/ci.md); the installer's log: /tmp/i.log")
    disk = install.explain(["torch==2.13.0"], "error: No space left on device (os error 28)", "3.11",
                           "/tmp/i.log", free_bytes=2**30)
    assert disk.startswith("install: the disk is full installing torch==2.13.0 on Python 3.11 (1.0 GiB free)")


def test_installer_is_tox_s_uv_when_there_is_one_else_pip(monkeypatch, tmp_path):
    install = ci_module("install", monkeypatch)
    uv = tmp_path / "work" / ".tox" / "bin" / "uv"
    uv.parent.mkdir(parents=True)
    uv.write_text("#!/bin/sh\n")
    uv.chmod(0o755)
    monkeypatch.delenv("TOX_UV_PATH", raising=False)
    monkeypatch.delenv("MNIST_MLP_LOCK", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("TOX_WORK_DIR", str(tmp_path / "work"))
    assert install.install_command(["six"]) == [str(uv), "pip", "install", "--python", sys.executable, "six"]
    monkeypatch.setenv("MNIST_MLP_LOCK", "/locks/py311.txt")  # tox names the env's lock: a constraint
    assert install.install_command(["six"]) == [str(uv), "pip", "install", "--python", sys.executable,
                                                "--constraint", "/locks/py311.txt", "six"]
    monkeypatch.delenv("MNIST_MLP_LOCK")
    monkeypatch.setenv("TOX_WORK_DIR", str(tmp_path / "nowhere"))
    assert install.install_command(["six"]) == [sys.executable, "-m", "pip", "install", "six"]


def test_ci_run_ends_naming_the_envs_that_did_not_run_and_keeps_tox_s_status(tmp_path):
    """.ci/run's last line names the envs tox skipped for a missing Python; tox's exit status is
    the run's (stand-ins for pip and tox; no pyenv on this PATH)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pip").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "tox").write_text("#!/bin/sh\necho '  py310-tf215: SKIP (0.01 seconds)'\n"
                                 "echo '  jax: OK (393.40 seconds)'\n"
                                 "echo '  py313-tf221: SKIP (0.02 seconds)'\n"
                                 "exit 1\n")
    for tool in ("pip", "tox"):
        (bin_dir / tool).chmod(0o755)
    env = {"PATH": f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin", "MNIST_MLP_CI_NEED_GIB": "0"}
    proc = subprocess.run(["bash", str(CI / "run")], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == ("ci: envs that did not run (no interpreter): "
                                                    "py310-tf215 py313-tf221")


def test_ci_runs_the_readme_s_test_command_verbatim():
    readme = (CI.parent / "README.md").read_text()
    line = re.compile(r"^(pip install tox && tox[^#\n]*?)\s+# the per-submission tests", re.MULTILINE)
    command = line.search(readme)[1]
    assert command == "pip install tox && tox p"
    assert "{ " + command + "; }" in (CI / "run").read_text()


def test_upgrade_plan_judges_nothing_when_no_lock_moved_since_the_base(tmp_path, monkeypatch, capsys):
    plan = ci_module("upgrade_plan", monkeypatch)
    head = subprocess.run(["git", "-C", str(CI.parent), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    assert plan.main(["--out", str(tmp_path), "--base-sha", head]) == 0
    assert capsys.readouterr().out == "stacks=[]\n"
    assert plan.at_commit(head, CI.parent / "benchmarks" / "locks" / "py399.txt") is None


def test_upgrade_plan_fails_closed_on_a_base_it_cannot_read(tmp_path, monkeypatch, capsys):
    """A base commit missing from the clone must not let a changed lock pass unjudged."""
    plan = ci_module("upgrade_plan", monkeypatch)
    assert plan.main(["--out", str(tmp_path), "--base-sha", "0" * 40]) == 2
    captured = capsys.readouterr()
    assert "stacks=" not in captured.out
    assert captured.err.count("\n") == 1 and "0" * 40 in captured.err and "fetch-depth" in captured.err


def test_upgrade_plan_names_a_lock_that_cannot_compile_in_one_line(tmp_path, monkeypatch, capsys):
    plan = ci_module("upgrade_plan", monkeypatch)

    def unresolvable(*args, **kwargs):
        raise plan.stacks.LockError("uv pip compile failed: no version of tensorflow==9.9")
    monkeypatch.setattr(plan.stacks, "compile_lock", unresolvable)
    assert plan.main(["--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tensorflow==9.9" in err


def test_the_canary_asks_for_releases_past_the_newest_stacks_series(tmp_path, monkeypatch, capsys):
    """Seen: the canary compiled 'tensorflow==2.21.*' and 'torch==2.13.0', so a new TensorFlow
    minor or PyTorch release could never reach a verdict."""
    plan = ci_module("upgrade_plan", monkeypatch)
    asked = {}

    def record(reqs, python, out, newest=False, prereleases=False):
        asked[Path(out).stem] = (list(reqs), newest, prereleases)
    monkeypatch.setattr(plan.stacks, "compile_lock", record)
    assert plan.main(["--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "stacks=[]\n"  # the recorder wrote nothing new
    newest = {stack: reqs for stack, (reqs, up, pre) in asked.items() if up and pre}
    assert set(newest) == {"py310-tf215", "py311-tf216", "py312-tf218", "py313-tf221", "py311"}
    assert {"tensorflow", "torch", "jax"} <= set(newest["py311"])
    assert "tensorflow" in newest["py313-tf221"]
    assert "tensorflow==2.18.*" in newest["py312-tf218"] and "tensorflow" not in newest["py312-tf218"]
    assert ["tensorflow==2.15.*", "keras>=2.15,<3"] == newest["py310-tf215"][-2:]
