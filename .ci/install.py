"""tox's install_command: ``uv pip install`` (pip where no uv is found), but the failures a user
can act on are one clear line instead of a resolver trace (the full log is kept in a file): a
TensorFlow that cannot install on this Python names the pair, a full disk says how much is free
and what the run needs."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from disk import remedy  # .ci/disk.py, beside this script

UNSATISFIABLE = r"No matching distribution|ResolutionImpossible|conflict|No solution found|unsatisfiable"


def find_uv() -> str | None:
    """The uv that tox-uv uses: $TOX_UV_PATH, else uv on PATH, else the one tox provisioned for
    tox.ini's ``requires`` (in .tox/.tox of the work dir tox passes as $TOX_WORK_DIR)."""
    provisioned = Path(os.environ.get("TOX_WORK_DIR", ".tox")) / ".tox" / "bin" / "uv"
    for candidate in (os.environ.get("TOX_UV_PATH"), shutil.which("uv"), str(provisioned)):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def install_command(args: list[str]) -> list[str]:
    """The command that installs ``args`` into this interpreter's environment, constrained to
    the env's lock ($MNIST_MLP_LOCK, benchmarks/stacks.py) where it names one."""
    if lock := os.environ.get("MNIST_MLP_LOCK"):
        args = ["--constraint", lock, *args]
    uv = find_uv()
    if uv:
        return [uv, "pip", "install", "--python", sys.executable, *args]
    return [sys.executable, "-m", "pip", "install", *args]


def explain(args: list[str], output: str, python: str, log: str, free_bytes: int) -> str:
    """What a failed install of ``args`` prints: one line where the cause is known, else the
    installer's last lines."""
    wanted = [a for a in args if re.match(r"(tensorflow|keras)\b", a)]
    if "No space left on device" in output:
        packages = " ".join(a for a in args if not a.startswith("-"))
        return (f"install: the disk is full installing {packages} on Python {python} "
                f"({free_bytes / 2**30:.1f} GiB free); {remedy()}; the installer's log: {log}")
    if wanted and re.search(UNSATISFIABLE, output):
        return (f"install: {' + '.join(wanted)} cannot be installed on Python {python}: choose "
                f"a TensorFlow release built for Python {python} (docs/ci.md); the installer's log: {log}")
    tail = output.strip().splitlines()[-3:]
    return "\n  ".join([f"install: installing failed on Python {python} (log: {log}):", *tail])


def main(args: list[str]) -> int:
    proc = subprocess.run(install_command(args), check=False, capture_output=True, text=True)
    if proc.returncode == 0:
        return 0
    with tempfile.NamedTemporaryFile("w", prefix="install-", suffix=".log", delete=False) as log:
        log.write(proc.stdout + proc.stderr)
    python = ".".join(map(str, sys.version_info[:2]))
    print(explain(args, proc.stdout + proc.stderr, python, log.name,
                  shutil.disk_usage(sys.prefix).free))
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
