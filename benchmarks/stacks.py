"""The locked stacks: every tox env installs exactly the versions of one committed lock.

    python benchmarks/stacks.py compile            # rewrite every lock in benchmarks/locks/ (needs uv)
    python benchmarks/stacks.py compile py311      # one lock; keeps its other pins where it can
    python benchmarks/stacks.py check [LOCK]       # this Python's installed versions against LOCK
    python benchmarks/stacks.py freeze             # this Python's installed versions, as a lock

A stack is a Python version and the requirements its envs ask for (``STACKS``); its lock is the
``uv pip compile`` of them for Linux x86_64, every transitive dependency pinned. tox passes the
env's lock to the installer as constraints (``MNIST_MLP_LOCK``, .ci/install.py) and each env's
first command is ``check``: any installed distribution the lock does not hold, or holds at another
version, is one line and exit 2, so a release the index starts serving cannot enter an env
unjudged. A lock changes only through ``compile``, and a changed lock gets its verdict from
``benchmarks/upgrade.py`` (docs/upgrade.md). Standard library only: ``check`` runs before the
env's own packages are trusted.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

TREE = Path(__file__).resolve().parent.parent
LOCKS = TREE / "benchmarks" / "locks"
ENV = "MNIST_MLP_LOCK"
PLATFORM = "x86_64-manylinux_2_28"

# The package's own requirements with its test extra (pyproject.toml), which every env installs.
PACKAGE = ("numpy", "scipy>=1.15", "matplotlib", "seaborn",
           "pytest>=7.3", "pytest-benchmark>=4", "hypothesis>=6")
# stack -> (Python, what its envs ask for beyond PACKAGE). tox.ini's deps for an env of the stack
# must be satisfied by the lock (tests/test_stacks.py).
STACKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "py310-tf215": ("3.10", ("tensorflow==2.15.*", "keras>=2.15,<3")),
    "py311-tf216": ("3.11", ("tensorflow==2.16.*",)),
    "py312-tf218": ("3.12", ("tensorflow==2.18.*",)),
    "py313-tf221": ("3.13", ("tensorflow==2.21.*",)),
    # the JAX, PyTorch, fault, benchmark, reproduce and tool envs
    "py311": ("3.11", ("tensorflow==2.21.*", "jax", "torch==2.13.0", "mutmut>=3.3,<4", "ruff", "uv")),
}
# What the newest stacks let move past their series when asked for the newest releases (the
# canary, `upgrade.py --newest`): a new TensorFlow minor or PyTorch release reaches a verdict. The
# older stacks are their series and move only within it.
FOLLOW_RELEASES: dict[str, tuple[str, ...]] = {"py311": ("tensorflow", "torch"),
                                               "py313-tf221": ("tensorflow",)}
# PyTorch's CPU builds (the locks pin torch==X+cpu), which PyPI does not serve.
TORCH_CPU_WHEELS = "https://download.pytorch.org/whl/cpu/torch/"
# Installed by the virtualenv itself (uv's seed), not by a requirement: not judged.
SEED = frozenset({"pip", "setuptools", "wheel"})
PROJECT = "mnist-mlp"


class LockError(Exception):
    """A lock that cannot be read or an environment that does not match it (exit 2)."""


def normalise(name: str) -> str:
    """A distribution name as the lock writes it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_path(stack: str) -> Path:
    return LOCKS / f"{stack}.txt"


def read_lock(path: Path) -> dict[str, str]:
    """``name -> version`` of a lock (``name==version`` lines; comments and blanks ignored)."""
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise LockError(f"{path}: cannot read the lock ({error.strerror}); "
                        "write it with 'python benchmarks/stacks.py compile'") from None
    except UnicodeDecodeError:
        raise LockError(f"{path}: not UTF-8 text, so not a lock; "
                        "write it with 'python benchmarks/stacks.py compile'") from None
    pins = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;=]+)", line)
        if not match:
            raise LockError(f"{path}:{number}: {line!r} is not 'name==version'; "
                            "rewrite the lock with 'python benchmarks/stacks.py compile'")
        pins[normalise(match[1])] = match[2]
    return pins


def same_version(locked: str, installed: str) -> bool:
    """Equal, or equal but for a local build tag the lock leaves out (``2.13.0`` vs ``2.13.0+cpu``)."""
    return installed == locked or ("+" not in locked and installed.split("+", 1)[0] == locked)


def mismatches(lock: dict[str, str], installed: dict[str, str]) -> list[str]:
    """Every installed distribution the lock does not hold at that version."""
    found = []
    for name, version in sorted(installed.items()):
        if name in SEED or name == PROJECT:
            continue
        if name not in lock:
            found.append(f"{name}=={version} is not in the lock")
        elif not same_version(lock[name], version):
            found.append(f"{name}=={version} where the lock holds {lock[name]}")
    return found


def installed_versions() -> dict[str, str]:
    """``name -> version`` of every distribution installed in this environment's site-packages
    (not copies vendored inside a package, which some imports put on ``sys.path``)."""
    paths = sorted({sysconfig.get_paths()[key] for key in ("purelib", "platlib")})
    return {normalise(d.metadata["Name"]): d.version for d in metadata.distributions(path=paths)
            if d.metadata["Name"]}


def check(path: Path) -> list[str]:
    return mismatches(read_lock(path), installed_versions())


def requirement_name(requirement: str) -> str:
    return normalise(re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0])


def requirements(stack: str, pins: tuple[str, ...] = (), newest: bool = False) -> list[str]:
    """The stack's requirements, each of ``pins`` replacing the requirement of its name; with
    ``newest``, the stack's ``FOLLOW_RELEASES`` lose their version bounds."""
    replaced = {requirement_name(pin) for pin in pins}
    free = set(FOLLOW_RELEASES.get(stack, ())) if newest else set()
    wanted = [requirement_name(r) if requirement_name(r) in free else r
              for r in (*PACKAGE, *STACKS[stack][1])]
    return [*(r for r in wanted if requirement_name(r) not in replaced), *pins]


def find_links() -> str:
    """Where uv finds wheels beside the index: ``UV_FIND_LINKS``, else pip's ``PIP_FIND_LINKS`` (a
    machine's local wheels; uv reads no pip configuration), each even when empty, else PyTorch's
    CPU wheels."""
    for name in ("UV_FIND_LINKS", "PIP_FIND_LINKS"):
        if name in os.environ:
            return os.environ[name]
    return TORCH_CPU_WHEELS


def find_uv() -> str:
    uv = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    if not uv:
        raise LockError("uv is not installed; 'pip install uv' (or run through tox, which brings it)")
    return uv


def compile_lock(reqs: list[str], python: str, out: Path, newest: bool = False,
                 prereleases: bool = False) -> None:
    """``uv pip compile`` of ``reqs`` for ``python`` into ``out``; an existing ``out`` keeps every
    pin it can (uv reads it as preferences), so a changed pin moves only what it must, unless
    ``newest`` asks for the newest releases (and ``prereleases``, pre-releases too)."""
    command = [find_uv(), "pip", "compile", "-", "--python-version", python, "--python-platform",
               PLATFORM, "--no-header", "--no-annotate", "--quiet", "-o", str(out),
               *(["--upgrade"] if newest else []), *(["--prerelease", "allow"] if prereleases else [])]
    env = {**os.environ, "UV_FIND_LINKS": find_links()}
    proc = subprocess.run(command, input="\n".join(reqs) + "\n", text=True, capture_output=True,
                          env=env, check=False)
    if proc.returncode != 0:
        tail = " ".join(proc.stderr.strip().splitlines()[-2:])
        raise LockError(f"uv cannot resolve {' '.join(reqs)} on Python {python}: {tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    compile_parser = sub.add_parser("compile", help="rewrite the locks with uv")
    compile_parser.add_argument("stacks", nargs="*", metavar="STACK", help=", ".join(STACKS))
    check_parser = sub.add_parser("check", help="this environment against its lock")
    check_parser.add_argument("lock", nargs="?", type=Path, default=None)
    sub.add_parser("freeze", help="print this environment as a lock ('name==version' lines)")
    args = parser.parse_args(argv)
    if args.command == "freeze":
        print("".join(f"{name}=={v}\n" for name, v in sorted(installed_versions().items())), end="")
        return 0
    try:
        if args.command == "compile":
            if unknown := set(args.stacks) - set(STACKS):
                raise LockError(f"no stack {', '.join(sorted(unknown))}; the stacks: {', '.join(STACKS)}")
            LOCKS.mkdir(exist_ok=True)
            for stack in args.stacks or STACKS:
                compile_lock(requirements(stack), STACKS[stack][0], lock_path(stack))
                print(f"stacks: {lock_path(stack).relative_to(TREE)}: "
                      f"{len(read_lock(lock_path(stack)))} pins")
            return 0
        path = args.lock or (Path(os.environ[ENV]) if os.environ.get(ENV) else None)
        if path is None:
            raise LockError(f"no lock named: pass its path or set {ENV}")
        wrong = check(path)
        if wrong:
            raise LockError(f"{path.name}: this environment does not match its lock: "
                            f"{'; '.join(wrong)}; install from the lock, or change the lock with "
                            "'python benchmarks/stacks.py compile' and judge it (docs/upgrade.md)")
        print(f"stacks: every installed version is {path.name}'s")
        return 0
    except LockError as error:
        print(f"stacks: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
