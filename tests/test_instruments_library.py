"""benchmarks/instruments/library.py: the benchmark suite finds the library's modules in the
layout of the build under test (stage folders, or the flat one of builds from before them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TREE = Path(__file__).resolve().parent.parent
MODULES = {"data": "notebook", "draws": "notebook", "models": "notebook", "recipe": "notebook",
           "train": "training", "flops": "measuring", "peak": "measuring"}
PROBE = "from instruments import library; print(library.flops.LAYOUT, library.train.LAYOUT)"


def fake_build(root: Path, staged: bool, broken: str = "") -> Path:
    """A stand-in ``mnist_mlp`` whose modules say which layout they came from."""
    package = root / "mnist_mlp"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for name, stage in MODULES.items():
        folder = package / stage if staged else package
        folder.mkdir(exist_ok=True)
        (folder / "__init__.py").write_text("")
        body = "import no_such_dependency\n" if name == broken else ""
        (folder / f"{name}.py").write_text(body + f"LAYOUT = {'staged' if staged else 'flat'!r}\n")
    return root


def probe(build: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(build), str(TREE / "benchmarks")]))
    return subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=build, capture_output=True,
                          text=True, check=False)


def test_a_build_with_stage_folders_is_timed_through_them(tmp_path):
    assert probe(fake_build(tmp_path, staged=True)).stdout.split() == ["staged", "staged"]


def test_a_build_from_before_the_stage_folders_is_timed_through_its_flat_modules(tmp_path):
    assert probe(fake_build(tmp_path, staged=False)).stdout.split() == ["flat", "flat"]


def test_a_staged_module_that_cannot_import_its_own_dependency_is_an_error_not_a_fallback(tmp_path):
    done = probe(fake_build(tmp_path, staged=True, broken="flops"))
    assert done.returncode == 1 and "No module named 'no_such_dependency'" in done.stderr
