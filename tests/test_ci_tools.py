"""tox's install_command wrapper: a TensorFlow that cannot install on this Python is one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PIP_INSTALL = Path(__file__).resolve().parents[1] / ".ci" / "pip_install.py"


def test_impossible_tensorflow_is_one_line_naming_the_pair():
    proc = subprocess.run(
        [sys.executable, str(PIP_INSTALL), "--dry-run", "--no-deps", "tensorflow==1.0.0"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert proc.returncode != 0
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    assert f"tensorflow==1.0.0 cannot be installed on Python {python}" in lines[0]
