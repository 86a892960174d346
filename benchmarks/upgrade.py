"""The upgrade verdict: a candidate stack judged against a locked one, in one command.

    python benchmarks/upgrade.py --base py312-tf218 --pin tensorflow==2.21.0
    python benchmarks/upgrade.py --base py311 --pin keras==3.13.2           # on JAX, the stack's backend
    python benchmarks/upgrade.py --base py313-tf221 --candidate-python 3.12 # another Python
    python benchmarks/upgrade.py --base-lock OLD.txt --candidate-lock NEW.txt --base py311

Both environments are built with uv from their locks (the candidate's lock is ``uv pip compile``
of the base stack's requirements with the pins applied, every other pin kept where it can be),
the same ``mnist_mlp`` source installed in each. Then, for every model:

1. accuracy: ``mnist-mlp reproduce`` of the same seeds in each environment, seeds added where the
   paired comparison needs them (``mnist_mlp.judging.upgrade.seeds_wanted``);
2. build: each model's configuration as trained and parameter counts, diffed;
3. speed: ``benchmarks/ab.py`` between the two environments' Pythons, interleaved on the same cores.

The page (verdict.md, verdict.html, verdict.json) goes to --out; exit 0 when nothing got worse,
1 when anything did, 2 for bad input or a failed build. ``--candidate-env KEY=VALUE`` reaches
only the candidate's processes: the test-only switches (a planted slowdown) go there.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import stacks
from ab import absolute_path, env_pairs, key_value

from mnist_mlp.cli.arguments import OneLineParser, positive_int
from mnist_mlp.cli.environment import BACKENDS
from mnist_mlp.errors import MnistMlpError
from mnist_mlp.files import write_json, write_text
from mnist_mlp.judging import abcompare, compare, upgrade
from mnist_mlp.judging.config_diff import SAVED, diff
from mnist_mlp.judging.matrix import seed_runs
from mnist_mlp.measuring.benchjson import load as load_bench_json
from mnist_mlp.notebook.models import names as model_names
from mnist_mlp.report import plots
from mnist_mlp.training.reproduce import prepare_run_dir
from mnist_mlp.training.results import seed_folder

TREE = stacks.TREE
KEPT = TREE / "benchmarks" / "results" / "upgrade"
SHOWN = ("tensorflow", "keras", "jax", "jaxlib", "torch", "numpy", "scipy")
VERSIONS = f"""import json
from importlib import metadata
out = {{}}
for name in {SHOWN!r}:
    try:
        out[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        pass
print(json.dumps(out))
"""


class UpgradeError(Exception):
    """Bad input or a side that cannot be built or run (exit 2)."""


def run(command: list, what: str, env: dict | None = None, ok=(0,)) -> subprocess.CompletedProcess:
    """``command``; UpgradeError naming ``what`` and its last output lines unless it exits in ``ok``."""
    proc = subprocess.run([str(c) for c in command], capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {})})
    if proc.returncode not in ok:
        tail = " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-4:])
        raise UpgradeError(f"{what} failed (exit {proc.returncode}): {tail}")
    return proc


def lock_changes(base: dict[str, str], candidate: dict[str, str]) -> tuple[str, ...]:
    """``name old -> new`` for every pin that differs, ``+name v`` / ``-name v`` for the rest."""
    changes = []
    for name in sorted(set(base) | set(candidate)):
        if name not in candidate:
            changes.append(f"-{name} {base[name]}")
        elif name not in base:
            changes.append(f"+{name} {candidate[name]}")
        elif base[name] != candidate[name]:
            changes.append(f"{name} {base[name]} -> {candidate[name]}")
    return tuple(changes)


def candidate_lock(args, base_lock: Path, out: Path) -> Path:
    """The candidate's lock: given, or compiled from the base stack with the pins applied."""
    if args.candidate_lock:
        return args.candidate_lock
    if not (args.pin or args.newest or args.candidate_python != args.base_python):
        return base_lock  # nothing in the stack changes (a test-only plant): the same lock
    path = out / "candidate.lock.txt"
    shutil.copyfile(base_lock, path)  # uv keeps the existing pins it can
    wanted = stacks.requirements(args.base, tuple(args.pin), newest=args.newest)
    stacks.compile_lock(wanted, args.candidate_python, path, newest=args.newest,
                        prereleases=args.prereleases)
    return path


def build_env(python: str, lock: Path, envs: Path) -> Path:
    """A virtualenv of ``python`` holding exactly ``lock`` and this tree's mnist_mlp (reused when
    one of the same Python and lock is complete); its Python."""
    key = hashlib.sha256(f"{python}\n{lock.read_text()}".encode()).hexdigest()[:12]
    env = envs / f"py{python}-{key}"
    done = env / ".complete"
    interpreter = env / "bin" / "python"
    uv = stacks.find_uv()
    if not done.exists():
        shutil.rmtree(env, ignore_errors=True)
        find_links = {"UV_FIND_LINKS": stacks.find_links()}
        run([uv, "venv", "--quiet", "--seed", "--python", python, env], f"uv venv --python {python}")
        run([uv, "pip", "install", "--quiet", "--python", interpreter, "-r", lock],
            f"installing {lock.name} on Python {python}", find_links)
        done.touch()
    # this tree's mnist_mlp, reinstalled every time: a reused environment must not judge an older one
    run([uv, "pip", "install", "--quiet", "--python", interpreter, "--no-deps", "--reinstall-package",
         "mnist-mlp", TREE], f"installing mnist_mlp on Python {python}")
    run([interpreter, TREE / "benchmarks" / "stacks.py", "check", lock],
        f"checking {env} against {lock.name}")
    return interpreter


def candidate_only(args) -> dict:
    """The environment variables only the candidate's processes get: the test-only switches."""
    env = env_pairs(args.candidate_env)
    if args.plant:
        env.update(MNIST_MLP_PLANT=args.plant, PYTHONPATH=str(TREE / "benchmarks" / "plants"))
    return env


def side_env(args, side: str) -> dict:
    env = {"KERAS_BACKEND": args.backend, "PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "2"}
    return {**env, **(candidate_only(args) if side == "candidate" else {})}


def base_name(args) -> str:
    """The base stack's name, and the lock file given in place of its own."""
    return f"{args.base} ({args.base_lock.name})" if args.base_lock else args.base


def candidate_name(args, lock: Path) -> str:
    """What the candidate is, in a few words: its pins, lock or Python, and any plant."""
    words = args.pin or ([lock.name] if args.candidate_lock else [])
    if args.candidate_python != args.base_python:
        words = [*words, f"Python {args.candidate_python}"]
    words += [f"{k}={v}" for k, v in env_pairs(args.candidate_env).items()]
    words += [f"planted {args.plant}"] if args.plant else []
    return " ".join(words) or args.base


def reproduce(args, side: str, python: str, models, seeds, out: Path) -> None:
    """``mnist-mlp reproduce`` of ``models`` x ``seeds`` in ``side``'s environment, into
    OUT/SIDE/runs (finished runs there are reused, so merged fan-out folders train nothing)."""
    print(f"upgrade: {side}: training {' '.join(models)} on seeds {' '.join(map(str, seeds))}",
          flush=True)
    command = [Path(python).parent / "mnist-mlp", "reproduce", "--models", *models,
               "--seeds", *map(str, seeds), "--out", out / side / "runs",
               *(["--epochs", str(args.epochs)] if args.epochs else []),
               *(["--jobs", str(args.jobs)] if args.jobs else [])]
    done = run(command, f"{side}'s reproduce", side_env(args, side), ok=(0, 1))  # 1: its gate, not ours
    missing = [f"{model} seed {seed}" for seed in seeds for model in models
               if not (seed_folder(out / side / "runs", seed) / model / "result.json").is_file()]
    if missing:  # exit 1 without results is a crash (Python's own exit 1), not a gate
        tail = " | ".join((done.stdout + done.stderr).strip().splitlines()[-4:])
        raise UpgradeError(f"{side}'s reproduce exited {done.returncode} without "
                           f"{', '.join(missing)}: {tail}")


def claim_side_folder(args, side: str, python: str, lock: Path, out: Path) -> None:
    """Stamp OUT/SIDE with what it trains (Python, lock, the side's switches); runs there that a
    differently stamped side trained are removed first, never reused. Folders without a stamp (a
    fan-out's merged artifacts) are kept."""
    switches = candidate_only(args) if side == "candidate" else {}
    stamp = json.dumps({"python": python, "lock": lock.read_text(), "env": switches}, sort_keys=True)
    path = out / side / "stamp.json"
    if path.is_file() and path.read_text() != stamp:
        print(f"upgrade: {side}: {out / side / 'runs'} was trained by another {side}; removing it",
              flush=True)
        shutil.rmtree(out / side / "runs", ignore_errors=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, stamp)


def train_side(args, python: str, out: Path) -> None:
    """One side's share of a fan-out (``--side``): the first seed for every model, later seeds
    only for the models the first seed left unsettled on the two sides found in OUT."""
    first, later = upgrade.SEEDS[0], [seed for seed in args.seeds if seed != upgrade.SEEDS[0]]
    if first in args.seeds:
        reproduce(args, args.side, python, args.models, [first], out)
    models = unsettled_models(out, args.models) if later else []
    if later and not models:
        print(f"upgrade: seed {first} settles every model; seeds {' '.join(map(str, later))} "
              "not trained", flush=True)
    if models:
        reproduce(args, args.side, python, models, later, out)


def train_seeds(args, pythons: dict, out: Path) -> dict[str, dict[str, dict[int, float]]]:
    """Reproduce rounds in both environments until every model has the seeds it wants."""
    wanted = {model: 1 for model in args.models}
    values: dict[str, dict[str, dict[int, float]]] = {"base": {}, "candidate": {}}
    while True:
        todo = {m: n for m, n in wanted.items()  # seeds both sides have: those are what pair
                if len(set(values["base"].get(m, {})) & set(values["candidate"].get(m, {}))) < n}
        if not todo:
            return values
        for count in sorted(set(todo.values())):
            models = [m for m, n in todo.items() if n == count]
            for side in ("base", "candidate"):
                reproduce(args, side, pythons[side], models, upgrade.SEEDS[:count], out)
        for side in ("base", "candidate"):
            values[side] = side_values(out / side / "runs", args.models)
        for row in compare.paired_rows(values["base"], values["candidate"]):
            wanted[row.model] = upgrade.seeds_wanted(list(row.differences), cap=args.max_seeds)


def side_values(runs: Path, models) -> dict[str, dict[int, float]]:
    """model -> seed -> statistic of one side's run folder, from the seed folders holding a
    finished result (an interrupted reproduce leaves some with a checkpoint only: the next round
    finishes them)."""
    finished = {}
    for folder in sorted(runs.glob("seed-*")):
        if any(folder.glob("*/result.json")):
            finished.update(seed_runs(folder))
    return judged_values(compare.run_values(runs, finished), models)


def unsettled_models(out: Path, models) -> list[str]:
    """``models`` less those the first seed settles (``upgrade.seeds_wanted`` of its one paired
    difference is 1, as in ``train_seeds``); all of them until both sides hold that seed's results."""
    first = upgrade.SEEDS[0]
    base, candidate = (side_values(out / side / "runs", models) for side in ("base", "candidate"))
    return [m for m in models
            if not (first in base.get(m, {}) and first in candidate.get(m, {})
                    and upgrade.seeds_wanted([candidate[m][first] - base[m][first]]) == 1)]


def judged_values(found: dict, models) -> dict:
    """``found`` (model -> seed -> statistic) narrowed to ``models`` and the verdict's seeds: a run
    folder may hold other models or seeds (an earlier run's, a fan-out's strays)."""
    return {model: {seed: value for seed, value in found[model].items() if seed in upgrade.SEEDS}
            for model in models if model in found}


def reused_runs(out: Path, values: dict, started_at: float) -> int:
    """How many of the runs behind ``values`` (side -> model -> seed) finished before ``started_at``
    (seconds since the epoch): an earlier, interrupted invocation trained them."""
    finished = [json.loads((seed_folder(out / side / "runs", seed) / model / "result.json").read_text())
                .get("finished") for side, models in values.items() for model, seeds in models.items()
                for seed in seeds]
    return sum(at is not None and at < started_at for at in map(seconds_since_epoch, finished))


def seconds_since_epoch(stamp) -> float | None:
    """An ISO time's seconds since the epoch; None for anything else (a result without one)."""
    try:
        return datetime.datetime.fromisoformat(stamp).timestamp()
    except (TypeError, ValueError):
        return None


def build_changes(models, out: Path) -> dict[str, tuple[str, ...]]:
    """Per model, the fields of the first seed's configuration as trained and parameter counts
    that differ between the two sides."""
    changes = {}
    for model in models:
        sides = [seed_folder(out / side / "runs", upgrade.SEEDS[0]) / model for side in ("base", "candidate")]
        config = [json.loads((folder / SAVED).read_text()) for folder in sides]
        params = [json.loads((folder / "result.json").read_text())["params"] for folder in sides]
        changes[model] = tuple(diff(config[0], config[1]) + diff(params[0], params[1], "params"))
    return changes


def judge_speed(args, pythons: dict, out: Path) -> tuple[upgrade.SpeedRow, ...]:
    """benchmarks/ab.py between the two environments, judged per model."""
    if args.speed_rounds == 0:
        return ()
    speed = out / "speed"
    shutil.rmtree(speed, ignore_errors=True)  # an earlier run's timings must never be read as this one's
    command = [sys.executable, TREE / "benchmarks" / "ab.py", "--base-python", pythons["base"],
               "--candidate-python", pythons["candidate"], "--backend", args.backend,
               "--models", *args.models, "--pairs", args.speed_pairs,
               "--bench-rounds", args.speed_rounds, "--out", speed, "--work", speed / "work",
               "--threshold", upgrade.SPEED_THRESHOLD]
    if switches := candidate_only(args):
        command += ["--candidate-env", *(f"{k}={v}" for k, v in switches.items())]
    print(f"upgrade: speed: {len(args.models)} models, {args.speed_pairs} process pairs of "
          f"{args.speed_rounds} rounds, interleaved", flush=True)
    run(command, "the speed A/B (benchmarks/ab.py)", {"KERAS_BACKEND": args.backend}, ok=(0, 1))
    base, candidate = (load_bench_json(speed / f"{side}.json") for side in ("base", "candidate"))
    base_samples = abcompare.samples(base, "base")
    candidate_samples = abcompare.samples(candidate, "candidate")
    rows = abcompare.compare(base_samples, candidate_samples, upgrade.SPEED_THRESHOLD, upgrade.SPEED_ALPHA)
    pairs = {(info.get("kind"), info.get("model")): info["ab_rounds"]
             for info in (entry["extra_info"] for entry in base["benchmarks"])}
    found = []
    for row in rows:
        b = base_samples[row.kind, row.model].values
        c = candidate_samples[row.kind, row.model].values
        bounds, start = [], 0
        for count in pairs[row.kind, row.model]:
            bounds.append((start, start + count))
            start += count
        per_pair = tuple(round(float(abcompare.np.median(c[i:j] / b[i:j])), 4) for i, j in bounds)
        found.append(upgrade.SpeedRow(row.model, row.ratio, row.ci_low, row.ci_high, row.p_slower,
                                      row.verdict, per_pair))
    return tuple(found)


def versions(python: str) -> dict[str, str]:
    return json.loads(run([python, "-c", VERSIONS], f"{python}: reading versions").stdout)


def kept_name(text: str) -> str:
    """A kept verdict's name: letters, digits, dots, dashes and underscores, not starting with a dot."""
    if not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]*", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a plain name (letters, digits, . _ -)")
    return text


def speed_rounds(text: str) -> int:
    """0 (no speed section) or at least 2 rounds: the A/B's least."""
    value = 0 if text.strip() == "0" else positive_int(text)
    if value == 1:
        raise argparse.ArgumentTypeError("1 round cannot be compared: 0 (no speed section) or at least 2")
    return value


def unresolved(text: str) -> Path:
    """An absolute path that keeps its symbolic links: a virtualenv's python is one."""
    return Path(text).absolute()


def parse_arguments(argv):
    parser = OneLineParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="py311", choices=sorted(stacks.STACKS),
                        help="the locked stack judged against (default %(default)s)")
    parser.add_argument("--base-lock", type=absolute_path, help="a lock file instead of the stack's")
    candidate = parser.add_argument_group("the candidate (one or more)")
    candidate.add_argument("--pin", nargs="+", default=[], metavar="REQ",
                           help="requirements replacing the base stack's of the same name")
    candidate.add_argument("--candidate-lock", type=absolute_path)
    parser.add_argument("--base-python", help="the base's Python (default: the base stack's); with "
                        "--candidate-python, a Python upgrade on one lock")
    candidate.add_argument("--candidate-python", help="default: the base stack's Python")
    parser.add_argument("--backend", choices=BACKENDS, help="default: KERAS_BACKEND, else jax where "
                        "the lock has it, else tensorflow")
    parser.add_argument("--models", nargs="+", default=list(model_names()), metavar="NAME")
    parser.add_argument("--max-seeds", type=int, default=len(upgrade.SEEDS),
                        choices=range(1, len(upgrade.SEEDS) + 1), metavar="N",
                        help="the most seeds a model trains (default %(default)s)")
    parser.add_argument("--epochs", type=positive_int, help="training epochs (default: the notebook's)")
    parser.add_argument("--jobs", type=positive_int, help="reproduce's --jobs (default: its own)")
    parser.add_argument("--speed-pairs", type=positive_int, default=2)
    parser.add_argument("--speed-rounds", type=speed_rounds, default=30,
                        help="timed rounds per model and process, at least 2 (0: no speed section)")
    parser.add_argument("--candidate-env", nargs="*", default=[], type=key_value, metavar="KEY=VALUE",
                        help="test-only: e.g. MNIST_MLP_BENCH_INJECT=0.10, a planted slowdown")
    parser.add_argument("--plant", metavar="DEFECT[:MODEL[:FRACTION[:DRAW]]]",
                        help="test-only: a defect of benchmarks/planted_defects.py in the candidate")
    parser.add_argument("--base-env-python", type=unresolved,
                        help="an existing environment's Python for the base (no build)")
    parser.add_argument("--candidate-env-python", type=unresolved)
    parser.add_argument("--side", choices=("base", "candidate"),
                        help="fan-out: only build this side and train --seeds into OUT/SIDE/runs "
                             "(seeds after 11 only for the models seed 11 of both sides in OUT did "
                             "not settle); a later run without --side on the merged OUT reuses them")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(upgrade.SEEDS[:1]), metavar="S",
                        help="with --side: the seeds to train (default %(default)s)")
    parser.add_argument("--newest", action="store_true",
                        help="resolve the candidate's unpinned requirements to the newest releases")
    parser.add_argument("--prereleases", action="store_true",
                        help="with --newest: pre-releases too")
    parser.add_argument("--keep", metavar="NAME", type=kept_name,
                        help="also keep the verdict: benchmarks/results/upgrade/NAME.json and its page "
                             "docs/results/upgrade-NAME.md")
    parser.add_argument("--from-verdict", type=absolute_path, metavar="VERDICT_JSON",
                        help="the headline and exit status of a verdict.json already measured "
                             "(with --keep: keep it and its page)")
    parser.add_argument("--out", type=absolute_path, default=TREE / "runs" / "upgrade")
    parser.add_argument("--envs", type=absolute_path, default=TREE / ".tox" / "upgrade-envs")
    args = parser.parse_args(argv)
    if not (args.from_verdict or args.pin or args.candidate_lock or args.candidate_python
            or args.candidate_env_python or args.candidate_env or args.plant or args.newest):
        parser.error("name a candidate: --pin, --candidate-lock or --candidate-python "
                     "(or, to test the verdict, --candidate-env or --plant)")
    if args.candidate_lock and (args.pin or args.newest):
        parser.error("--candidate-lock is the whole candidate: give it without --pin and --newest")
    if args.prereleases and not args.newest:
        parser.error("--prereleases goes with --newest")
    if stray := sorted(set(args.seeds) - set(upgrade.SEEDS)):
        parser.error(f"--seeds {' '.join(map(str, stray))}: the verdict's seeds are "
                     f"{' '.join(map(str, upgrade.SEEDS))} (the others calibrate the gates)")
    if unknown := set(args.models) - set(model_names()):
        parser.error(f"unknown models {', '.join(sorted(unknown))}; the models: {', '.join(model_names())}")
    stack_python = stacks.STACKS[args.base][0]
    args.base_python = args.base_python or stack_python
    args.candidate_python = args.candidate_python or stack_python
    return args


def read_verdict(path: Path) -> upgrade.Verdict:
    """A verdict.json measured before; UpgradeError (one line) when it is not one."""
    if not path.is_file():
        raise UpgradeError(f"{path} is not a regular file; give the verdict.json an upgrade run wrote")
    try:
        verdict = upgrade.Verdict.from_json(json.loads(path.read_text()))
        upgrade.headline(verdict)  # pairs the seeds: a model only one side has is refused here
        return verdict
    except (ValueError, KeyError, TypeError, AttributeError, ArithmeticError, RecursionError,
            compare.CompareError) as error:
        reason = f"{type(error).__name__}: {error}".encode("unicode_escape").decode()[:200]
        raise UpgradeError(f"{path} is not a verdict.json ({reason}); "
                           "give the verdict.json an upgrade run wrote") from None


def keep(verdict: upgrade.Verdict, name: str) -> Path:
    """The kept verdict and its page (tests/test_upgrade.py renders the page again from it)."""
    write_json(KEPT / f"{name}.json", verdict.to_json())
    results = TREE / "docs" / "results"
    figure = results / "figures" / f"upgrade-{name}.png"
    plots.plot_upgrade(verdict, upgrade.SPEED_THRESHOLD, figure)
    page = results / f"upgrade-{name}.md"
    write_text(page, upgrade.markdown(verdict, figure, results))
    return page


def main(argv=None) -> int:
    args = parse_arguments(argv)
    started, started_at = time.perf_counter(), time.time()
    out = args.out
    try:
        if args.from_verdict:
            verdict = read_verdict(args.from_verdict)
            print(upgrade.headline(verdict))
            if args.keep:
                print(f"upgrade: kept as {keep(verdict, args.keep)}")
            return verdict.exit_status
        base_lock = args.base_lock or stacks.lock_path(args.base)
        base_pins = stacks.read_lock(base_lock)  # the locks given are read before --out is made
        given_pins = stacks.read_lock(args.candidate_lock) if args.candidate_lock else None
        prepare_run_dir(out)
        cand_lock = candidate_lock(args, base_lock, out)
        cand_pins = given_pins if given_pins is not None else stacks.read_lock(cand_lock)
        args.backend = (args.backend or os.environ.get("KERAS_BACKEND")
                        or ("jax" if "jax" in base_pins else "tensorflow"))
        changes = lock_changes(base_pins, cand_pins)
        print(f"upgrade: lock changes: {', '.join(changes) or 'none'}", flush=True)
        pythons = {}
        for side, python, lock, given in (("base", args.base_python, base_lock, args.base_env_python),
                                          ("candidate", args.candidate_python, cand_lock,
                                           args.candidate_env_python)):
            if args.side in (None, side):
                print(f"upgrade: {side}: Python {python}, {lock.name}", flush=True)
                pythons[side] = str(given or build_env(python, lock, args.envs))
                claim_side_folder(args, side, str(given or python), Path(lock), out)
        if args.side:
            train_side(args, pythons[args.side], out)
            return 0
        accuracy = train_seeds(args, pythons, out)
        build = build_changes(args.models, out)
        speed = judge_speed(args, pythons, out)
        sides = {side: upgrade.Side(name, python, str(lock), versions(pythons[side]))
                 for side, name, python, lock in (
                     ("base", base_name(args), args.base_python, base_lock),
                     ("candidate", candidate_name(args, Path(cand_lock)), args.candidate_python,
                      cand_lock))}
        verdict = upgrade.Verdict(
            sides["base"], sides["candidate"], args.backend, changes, build, accuracy, speed,
            round(time.perf_counter() - started, 1),
            f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}",
            reused_runs(out, accuracy, started_at))
    except (UpgradeError, stacks.LockError, MnistMlpError, OSError) as error:
        print(f"upgrade: {error}", file=sys.stderr)
        return 2
    except (ValueError, KeyError, TypeError) as error:  # a file the verdict reads is malformed
        print(f"upgrade: a measured file is malformed ({type(error).__name__}: {error}); "
              f"delete {out} and rerun", file=sys.stderr)
        return 2
    write_json(out / "verdict.json", verdict.to_json())
    figure = out / "figures" / "verdict.png"
    plots.plot_upgrade(verdict, upgrade.SPEED_THRESHOLD, figure)
    write_text(out / "verdict.md", upgrade.markdown(verdict, figure, out))
    write_text(out / "verdict.html", upgrade.to_html(verdict, figure))
    print(upgrade.markdown(verdict))
    if args.keep:
        print(f"upgrade: kept as {keep(verdict, args.keep)}")
    print(f"upgrade: {upgrade.headline(verdict)}; the page: {out / 'verdict.html'}")
    return verdict.exit_status


if __name__ == "__main__":
    sys.exit(main())
