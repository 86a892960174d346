"""tox's install_command: pip install, but the failures a user can act on are one clear line
instead of a resolver trace (the full log is kept in a file): a TensorFlow that cannot install on
this Python names the pair, a full disk says how much is free and what the run needs."""

import re
import shutil
import subprocess
import sys
import tempfile

from disk import remedy  # .ci/disk.py, beside this script


def explain(args: list[str], output: str, python: str, log: str, free_bytes: int) -> str:
    """What a failed ``pip install args`` prints: one line where the cause is known, else pip's
    last lines."""
    wanted = [a for a in args if re.match(r"(tensorflow|keras)\b", a)]
    if "No space left on device" in output:
        packages = " ".join(a for a in args if not a.startswith("-"))
        return (f"pip_install: the disk is full installing {packages} on Python {python} "
                f"({free_bytes / 2**30:.1f} GiB free); {remedy()}; pip's log: {log}")
    if wanted and re.search(r"No matching distribution|ResolutionImpossible|conflict", output):
        return (f"pip_install: {' + '.join(wanted)} cannot be installed on Python {python}: choose "
                f"a TensorFlow release built for Python {python} (docs/ci.md); pip's log: {log}")
    tail = output.strip().splitlines()[-3:]
    return "\n  ".join([f"pip_install: pip install failed on Python {python} (log: {log}):", *tail])


def main(args: list[str]) -> int:
    proc = subprocess.run([sys.executable, "-m", "pip", "install", *args], check=False,
                          capture_output=True, text=True)
    if proc.returncode == 0:
        return 0
    with tempfile.NamedTemporaryFile("w", prefix="pip-install-", suffix=".log", delete=False) as log:
        log.write(proc.stdout + proc.stderr)
    python = ".".join(map(str, sys.version_info[:2]))
    print(explain(args, proc.stdout + proc.stderr, python, log.name,
                  shutil.disk_usage(sys.prefix).free))
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
