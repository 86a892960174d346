"""Print the newest installed patch release of each Python the tox matrix needs (3.10-3.13), from
the version names given as arguments (``pyenv versions --bare``); names that are not plain
CPython releases (``3.12-dev``, ``pypy3.10-7.3``, virtualenvs) are ignored."""

import re
import sys

MATRIX = ("3.11", "3.10", "3.12", "3.13")  # tox.ini's minors; the first becomes `python` (the main job's)


def newest_per_minor(names: list[str]) -> list[str]:
    """For each minor of MATRIX that ``names`` has, its highest patch release, first found first."""
    newest: dict[str, tuple[int, str]] = {}
    for name in names:
        match = re.fullmatch(r"(3\.\d+)\.(\d+)", name.strip())
        if match and match[1] in MATRIX and int(match[2]) >= newest.get(match[1], (-1, ""))[0]:
            newest[match[1]] = (int(match[2]), name.strip())
    return [newest[minor][1] for minor in MATRIX if minor in newest]


if __name__ == "__main__":
    print(" ".join(newest_per_minor(sys.argv[1:])))
