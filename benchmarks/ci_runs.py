"""The whole per-submission run (`bash .ci/run`) on a fresh clone, timed, with its peak disk;
and the page of docs/results/ that sets such runs side by side.

    python benchmarks/ci_runs.py measure --name uv-cold --rev HEAD --caches /tmp/caches-uv
    python benchmarks/ci_runs.py record --name pip-cold --rev f5518aa --log L --df D --seconds S --rc R
    python benchmarks/ci_runs.py render        # benchmarks/results/ci-runs/*.json -> docs/results/ci-runs.md

``measure`` clones --repo at --rev into a scratch folder, points every cache the run fills
(``PIP_CACHE_DIR``, ``UV_CACHE_DIR``, ``MNIST_MLP_CACHE``, ``KERAS_HOME``) into --caches (a new,
empty folder gives the from-nothing run; the same folder again, the warm one), runs ``.ci/run``,
and samples the used bytes of the clone's disk (``df``'s figure, ``shutil.disk_usage``; keep
--caches on the same disk, as uv needs for its links) every 5 s: the peak
disk is the highest sample minus the first, so uv's cache, the virtualenvs and the tests'
temporary files all count; every sample's rise is kept (``disk_rise_gib``). ``record`` makes the
same record from a run measured elsewhere (its log and one used-bytes figure per line). Each
record keeps tox's own summary per env (setup and command seconds), parsed from the log.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "ci-runs"
PAGE = ROOT / "docs" / "results" / "ci-runs.md"
SAMPLE_S = 5
CACHE_VARS = {"PIP_CACHE_DIR": "pip", "UV_CACHE_DIR": "uv", "MNIST_MLP_CACHE": "mnist",
              "KERAS_HOME": "keras"}
# tox's closing summary, one line per env: "  jax: OK (462.86=setup[9.77]+cmd[453.09] seconds)";
# an env that failed before its commands has its total only: "  x: FAIL code 1 (12.30 seconds)".
SUMMARY = re.compile(r"^  (?P<env>[\w.-]+): (?P<status>OK|(?:IGNORED )?FAIL code -?\d+|SKIP)"
                     r" \((?P<total>[\d.]+)(?:=setup\[(?P<setup>[\d.]+)\]\+cmd\[(?P<cmd>[\d.,]*)\])?"
                     r" seconds\)", re.MULTILINE)
COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def tox_summary(log: str) -> dict[str, dict]:
    """Each env's status, setup seconds and command seconds from tox's closing summary."""
    envs = {}
    for m in SUMMARY.finditer(COLOUR.sub("", log)):
        commands = [float(s) for s in (m["cmd"] or "").split(",") if s]
        setup = m["setup"] or (m["total"] if m["status"] != "SKIP" else 0)  # no commands ran
        envs[m["env"]] = {"status": m["status"], "setup_s": float(setup), "commands_s": commands}
    return envs


def peak_rise_gib(used_bytes: list[int]) -> float:
    """The highest sample above the first, in GiB."""
    return (max(used_bytes) - used_bytes[0]) / 2**30 if used_bytes else 0.0


def make_record(name: str, rev: str, log: str, used_bytes: list[int], seconds: float, rc: int) -> dict:
    envs = tox_summary(log)
    return {"name": name, "rev": rev, "rc": rc, "wall_s": round(seconds),
            "peak_disk_gib": round(peak_rise_gib(used_bytes), 2),
            "setup_s": round(sum(e["setup_s"] for e in envs.values())),
            "commands_s": round(sum(sum(e["commands_s"]) for e in envs.values())), "envs": envs,
            "when": time.strftime("%Y-%m-%d", time.gmtime()), "machine": _machine(),
            "disk_rise_gib": [round((b - used_bytes[0]) / 2**30, 2) for b in used_bytes]}


def _machine() -> str:
    """``2 x AMD EPYC ...``: the CPUs this process may use and their model name."""
    cpuinfo = Path("/proc/cpuinfo")
    text = cpuinfo.read_text() if cpuinfo.exists() else ""
    model = re.search(r"^model name\s*: (.*)$", text, re.MULTILINE)
    return f"{len(os.sched_getaffinity(0))} x {model[1].strip() if model else 'unknown CPU'}"


def measure(name: str, repo: Path, rev: str, caches: Path) -> dict:
    """Clone ``repo`` at ``rev``, run its ``.ci/run`` with every cache in ``caches``; the record."""
    with tempfile.TemporaryDirectory(prefix="ci-run-") as scratch:
        clone = Path(scratch) / "clone"
        subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "checkout", "-q", rev], check=True)
        env = dict(os.environ, **{var: str(caches / sub) for var, sub in CACHE_VARS.items()})
        samples, done = [], threading.Event()

        def sample():
            while not done.is_set():
                samples.append(shutil.disk_usage(clone).used)
                done.wait(SAMPLE_S)

        sampler = threading.Thread(target=sample, daemon=True)
        start = time.monotonic()
        sampler.start()
        RESULTS.mkdir(parents=True, exist_ok=True)
        log = RESULTS / f"{name}.log"
        with log.open("w") as out:  # written as it runs: `tail -f` it
            rc = subprocess.run(["bash", ".ci/run"], cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT,
                                check=False).returncode
        seconds = time.monotonic() - start
        done.set()
        sampler.join()
    return make_record(name, rev, log.read_text(errors="replace"), samples, seconds, rc)


def kept_records() -> list[dict]:
    """The runs kept in benchmarks/results/ci-runs/, by date, then name."""
    return sorted((json.loads(p.read_text()) for p in RESULTS.glob("*.json")),
                  key=lambda r: r["when"] + r["name"])


def render(records: list[dict]) -> str:
    """The page: one row per run, then each run's per-env setup + command seconds."""
    base = next((r for r in records if r["name"].startswith("pip")), None)
    lines = ["# The per-submission run, measured (`bash .ci/run`, fresh clones)", "",
             "Written by `python benchmarks/ci_runs.py render` from `benchmarks/results/ci-runs/*.json`;",
             "the method is that script's docstring; what the runs show is in [CI](../ci.md).", "",
             "| run | rev | date | exit | wall time | vs pip | env setup | test commands | peak disk |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in records:
        ratio = f"{r['wall_s'] / base['wall_s']:.2f}x" if base else "-"
        lines.append(f"| {r['name']} | {r['rev'][:7]} | {r['when']} | {r['rc']} | {r['wall_s']} s | "
                     f"{ratio} | {r['setup_s']} s | {r['commands_s']} s | {r['peak_disk_gib']:.2f} GiB |")
    lines += ["", "Per env, setup + test commands (seconds):", "",
              "| env | " + " | ".join(r["name"] for r in records) + " |", "|---|" + "---:|" * len(records)]
    for env in dict.fromkeys(e for r in records for e in r["envs"]):
        cells = []
        for r in records:
            e = r["envs"].get(env)
            cells.append("-" if e is None else f"{e['setup_s']:.0f} + {sum(e['commands_s']):.0f}"
                         + ("" if e["status"] == "OK" else f" ({e['status']})"))
        lines.append(f"| {env} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _write(record: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{record['name']}.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"{record['name']}: exit {record['rc']}, {record['wall_s']} s, "
          f"peak disk {record['peak_disk_gib']} GiB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--name", required=True)
    m.add_argument("--rev", default="HEAD")
    m.add_argument("--repo", type=Path, default=ROOT)
    m.add_argument("--caches", type=Path, required=True, help="a new folder: empty caches; reused: warm")
    r = sub.add_parser("record")
    r.add_argument("--name", required=True)
    r.add_argument("--rev", required=True)
    r.add_argument("--log", type=Path, required=True)
    r.add_argument("--df", type=Path, required=True, help="one used-bytes figure per line, every 5 s")
    r.add_argument("--seconds", type=float, required=True)
    r.add_argument("--rc", type=int, required=True)
    sub.add_parser("render")
    args = parser.parse_args(argv)
    if args.command == "measure":
        rev = subprocess.run(["git", "-C", str(args.repo), "rev-parse", args.rev], capture_output=True,
                             text=True, check=True).stdout.strip()
        _write(measure(args.name, args.repo, rev, args.caches))
    elif args.command == "record":
        used = [int(line) for line in args.df.read_text().split()]
        log = args.log.read_text(errors="replace")
        _write(make_record(args.name, args.rev, log, used, args.seconds, args.rc))
    else:
        PAGE.write_text(render(kept_records()))
        print(f"wrote {PAGE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
