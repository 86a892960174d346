"""tox's install_command: pip install, but a TensorFlow that cannot install on this Python is one
clear line naming the pair instead of a resolver trace (the full log is kept in a file)."""

import re
import subprocess
import sys
import tempfile

args = sys.argv[1:]
proc = subprocess.run([sys.executable, "-m", "pip", "install", *args], capture_output=True, text=True)
if proc.returncode == 0:
    sys.exit(0)
with tempfile.NamedTemporaryFile("w", prefix="pip-install-", suffix=".log", delete=False) as log:
    log.write(proc.stdout + proc.stderr)
wanted = [a for a in args if re.match(r"(tensorflow|keras)\b", a)]
python = ".".join(map(str, sys.version_info[:2]))
if wanted and re.search(r"No matching distribution|ResolutionImpossible|conflict", proc.stdout + proc.stderr):
    print(f"pip_install: {' + '.join(wanted)} cannot be installed on Python {python}: choose a "
          f"TensorFlow release built for Python {python} (README, 'Matrix'); pip's log: {log.name}")
else:
    tail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-3:]
    print(f"pip_install: pip install failed on Python {python} (log: {log.name}):", *tail, sep="\n  ")
sys.exit(proc.returncode)
