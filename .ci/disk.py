"""Is there room for the default `tox p` run? Run before it (`.ci/run`): one line and exit 2 when
the disk that holds .tox has less free space than the run fills, instead of pip failing with
"No space left on device" half an hour in."""

import os
import shutil
import sys
from pathlib import Path

# Disk the default `tox p` run fills from empty (uv's cache, the nine virtualenvs linked from it,
# the tests' temporary files) with room to spare, measured: docs/ci.md, 'Disk'.
# MNIST_MLP_CI_NEED_GIB overrides it (0: no check, e.g. where .tox is already built).
DEFAULT_RUN_GIB = 14


def remedy(need_gib: float = DEFAULT_RUN_GIB) -> str:
    """What the run needs and how to make room: the end of every disk message."""
    return (f"the default tox p run needs ~{need_gib:g} GiB (its virtualenvs under .tox): free disk "
            f"space (old .tox envs, uv's and pip's caches) and rerun")


def shortage(path: Path, need_gib: float = DEFAULT_RUN_GIB) -> str | None:
    """The line to print when ``path``'s disk has less than ``need_gib`` free, else None."""
    free_gib = shutil.disk_usage(path).free / 2**30
    if free_gib >= need_gib:
        return None
    return f"ci: {free_gib:.1f} GiB free on the disk of {path}, and {remedy(need_gib)}"


if __name__ == "__main__":
    need = float(os.environ.get("MNIST_MLP_CI_NEED_GIB") or DEFAULT_RUN_GIB)
    line = shortage(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd(), need)
    if line:
        print(line, file=sys.stderr)
        sys.exit(2)
