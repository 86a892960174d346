"""The upgrade workflow's plan: which stacks to judge, with their base and candidate locks.

    python .ci/upgrade_plan.py --out locks --base-sha SHA   # a pull request: the locks it changes
    python .ci/upgrade_plan.py --out locks                  # the canary: every stack's newest releases

Writes OUT/base/STACK.txt and OUT/candidate/STACK.txt and prints ``stacks=[...]`` (JSON) for
$GITHUB_OUTPUT. A pull request's base lock is the lock at its base commit; a stack new in the pull
request has no base and is not judged. The canary's candidate is ``uv pip compile --upgrade
--prerelease allow`` of the stack's requirements, the newest stacks' past their series
(``stacks.FOLLOW_RELEASES``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import stacks  # benchmarks/stacks.py


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(stacks.TREE), *args], capture_output=True, text=True,
                          check=False)


def at_commit(sha: str, path: Path) -> str | None:
    """``path``'s text at commit ``sha``, None where it did not exist; stacks.LockError when the
    commit cannot be read (a changed lock must never pass unjudged)."""
    if git("rev-parse", "--verify", "--quiet", f"{sha}^{{commit}}").returncode != 0:
        raise stacks.LockError(f"the base commit {sha} is not in this clone; check it out with "
                               "its history (actions/checkout's fetch-depth: 0)")
    relative = path.relative_to(stacks.TREE).as_posix()
    if not git("ls-tree", "--name-only", sha, "--", relative).stdout.strip():
        return None
    shown = git("show", f"{sha}:{relative}")
    if shown.returncode != 0:
        raise stacks.LockError(f"git cannot read {relative} at {sha}: {shown.stderr.strip()}")
    return shown.stdout


def plan(out: Path, base_sha: str | None) -> list[str]:
    """The stacks to judge; their base and candidate locks written under ``out``."""
    (out / "base").mkdir(parents=True, exist_ok=True)
    (out / "candidate").mkdir(parents=True, exist_ok=True)
    judged = []
    for stack, (python, _) in stacks.STACKS.items():
        lock = stacks.lock_path(stack)
        if not lock.is_file():  # a stack without a lock yet (or one a pull request deletes)
            print(f"upgrade_plan: {stack} has no lock; not judged", file=sys.stderr)
            continue
        base, candidate = out / "base" / f"{stack}.txt", out / "candidate" / f"{stack}.txt"
        if base_sha:
            before = at_commit(base_sha, lock)
            if before is None or before == lock.read_text():
                continue
            base.write_text(before)
            shutil.copyfile(lock, candidate)
        else:
            shutil.copyfile(lock, base)
            shutil.copyfile(lock, candidate)
            stacks.compile_lock(stacks.requirements(stack, newest=True), python, candidate, newest=True,
                                prereleases=True)
            if candidate.read_text() == base.read_text():
                continue
        judged.append(stack)
    return judged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--base-sha", default="", help="a pull request's base commit (empty: canary)")
    args = parser.parse_args(argv)
    try:
        judged = plan(args.out, args.base_sha or None)
    except (stacks.LockError, OSError) as error:
        print(f"upgrade_plan: {error}", file=sys.stderr)
        return 2
    print(f"stacks={json.dumps(judged)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
