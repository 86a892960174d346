"""What each ``mnist-mlp`` command does once its arguments are parsed (``mnist_mlp.cli.main``): each
handler takes the parsed arguments, calls the library, prints, and returns the exit status (0, or
``EXIT_GATE_FAILED`` when a gate failed). Heavy modules are imported inside the handlers, so
``mnist-mlp --help`` and a bad argument stay fast."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

from mnist_mlp.errors import EXIT_GATE_FAILED


def cmd_data(args) -> int:
    from mnist_mlp.notebook.data import fetch_mnist

    started = time.perf_counter()
    mnist = fetch_mnist(args.data)
    size = mnist.cache_path.stat().st_size if mnist.cache_path.exists() else 0
    print(f"source:  {mnist.source} ({mnist.path or 'downloaded; kept only in the cache'})")
    print(f"cache:   {mnist.cache_path} ({size / 1e6:.1f} MB)")
    for name in ("x_train", "y_train", "x_test", "y_test"):
        array = getattr(mnist, name)
        print(f"{name + ':':<8} {array.dtype} {array.shape}")
    print(f"verified against golden/notebook/mnist.json in {time.perf_counter() - started:.1f}s")
    return 0


def cmd_models(args) -> int:
    """Build every model in this env and judge its parameter counts against the notebook's
    (golden/notebook/architectures.json): a count that differs is a failed gate, exit 1."""
    from mnist_mlp.notebook import golden, models

    notebook = golden.load("architectures")["models"]
    keys = ("total", "trainable", "non_trainable")
    print(f"{'name':<18} {'layers':<36} {'total':>9} {'trainable':>9} {'non-train':>9}  built here")
    differ = []
    for name, spec in models.REGISTRY.items():
        built = models.param_totals(models.build_model(name))
        same = all(built[k] == notebook[name][k] for k in keys)
        differ += [] if same else [name]
        verdict = "same" if same else f"DIFFERS (notebook {notebook[name]['total']:,})"
        print(f"{name:<18} {spec.layer_summary:<36} {built['total']:>9,} {built['trainable']:>9,} "
              f"{built['non_trainable']:>9,}  {verdict}")
    print("\nbuilt here: " + (f"FAILED for {', '.join(differ)}" if differ
                                else "all eight as the notebook's") +
          " (parameter counts of the models this env builds against golden/notebook/architectures.json)")
    return EXIT_GATE_FAILED if differ else 0


def cmd_summary(args) -> int:
    from mnist_mlp.notebook.models import build_model, get_spec

    build_model(args.name).summary()
    note = get_spec(args.name).note
    if note:
        print(f"Note: {note}")
    return 0


def _recipe(args):
    from mnist_mlp.notebook.recipe import Recipe

    return Recipe(
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        steps_per_execution=args.steps_per_execution,
    )


def _print_gate(rows: list, columns, gate: str) -> int:
    """Print a gate's table; exit status 1, naming the rows that did not pass, if any failed."""
    from mnist_mlp.judging.gates import failures, format_table

    print(format_table(rows, columns))
    failed = failures(rows)
    if failed:
        print(f"{gate} FAILED for: {', '.join(failed)}")
        return EXIT_GATE_FAILED
    return 0


def _verify_and_print(*runs: dict) -> int:
    """The accuracy gate over one run folder's results, or several seeds' judged by their mean."""
    from mnist_mlp.judging.gates import accuracy

    gates = accuracy.section_of(next(iter(runs[0].values())))
    seeds = f"{len(runs)} seeds' mean" if len(runs) > 1 else "1 seed"
    print(f"accuracy gate: {accuracy.describe_statistic(gates)}, {seeds}")
    calibration = set(gates.get("calibration_seeds", ())) & {next(iter(r.values())).seed for r in runs}
    if calibration:
        print(f"note: seeds {sorted(calibration)} calibrated this gate; its bound is for new seeds "
              "(for these, 'mnist-mlp compare golden RUN' is exact)")
    return _print_gate(accuracy.seed_rows(runs, gates), accuracy.COLUMNS, "accuracy gate")


def cmd_train(args) -> int:
    from mnist_mlp.training import reproduce
    from mnist_mlp.training.plan import make_plan

    plan = make_plan([args.name], [args.seed], _recipe(args), args.out, args.data, jobs=1,
                     restart=args.restart)
    out = reproduce.prepare_run_dir(plan.out)
    with reproduce.locked(out):
        results = reproduce.train_here(plan.models, plan.recipe, out, plan.source, plan.restart)
    return _verify_and_print(results)


def _print_efficiency(runs: dict, started: datetime, seconds: float, cores: list[int], out: Path) -> None:
    """The job's FLOPs, its floor at the peak its cores show now, and the ratio (efficiency.json)."""
    from mnist_mlp.measuring import efficiency

    results = [r for _, seed_results in runs.values() for r in seed_results.values()]
    print(efficiency.report(results, seconds, started, cores, results[0].backend, out), flush=True)


def _calibration_seeds() -> set[int]:
    """The seeds that calibrated any backend's accuracy gate."""
    from mnist_mlp.notebook import golden

    return {seed for section in golden.load("gates")["backends"].values()
            for seed in section.get("calibration_seeds", ())}


def cmd_reproduce(args) -> int:
    """Parse (argparse) -> plan (read once) -> train and report -> print the gate."""
    from mnist_mlp import report
    from mnist_mlp.notebook.models import names
    from mnist_mlp.training import reproduce
    from mnist_mlp.training.plan import make_plan

    started, started_at = time.perf_counter(), datetime.now(timezone.utc)
    plan = make_plan(args.models or names(), args.seeds or [args.seed], _recipe(args), args.out,
                     args.data, args.jobs, per_seed_folders=bool(args.seeds), restart=args.restart)
    out = reproduce.prepare_run_dir(plan.out)
    with reproduce.locked(out, plan.seeds, plan.per_seed_folders):  # held until the reports are written
        if calibration := sorted(set(plan.seeds) & _calibration_seeds()):  # said before it trains
            print(f"note: seed{'s' * (len(calibration) > 1)} {', '.join(map(str, calibration))} "
                  "calibrated the accuracy gate (golden/measured/gates.json): its bound is for new "
                  "seeds; to compare two stacks use seeds from 11 (docs/upgrade.md)", flush=True)
        if not plan.jobs_given and plan.jobs == 1 and len(plan.cores) > 1:
            print("training in this process on every core: faster than worker processes for a job "
                  "this small (--jobs N forces N)", flush=True)
        runs = reproduce.train(plan, reproduce.Reports(report.build_report, report.draw_task_figures))
        _print_efficiency(runs, started_at, time.perf_counter() - started, list(plan.cores), out)
    code = 0
    for seed, (run_dir, results) in runs.items():
        if plan.per_seed_folders:
            print(f"seed {seed}: {run_dir}")
        if plan.jobs > 1:  # built on the pool's workers
            print(f"report: {report.html_path(run_dir)}")
        code = max(code, _verify_and_print(results))
    return code


def cmd_verify(args) -> int:
    from mnist_mlp.training.reproduce import RunDirError
    from mnist_mlp.training.results import load_run, recipe_difference

    runs = [load_run(folder) for folder in args.run_dirs]
    seeds = [next(iter(run.values())).seed for run in runs]
    if len(set(seeds)) != len(seeds):
        raise RunDirError(f"verify judges the mean of different seeds, got seeds {seeds}; "
                          "pass one folder per seed")
    named = ((str(folder), result) for folder, run in zip(args.run_dirs, runs) for result in run.values())
    if problem := recipe_difference(named):
        raise RunDirError(f"verify judges one recipe's seeds: {problem}")
    return _verify_and_print(*runs)


def _build_report(run_dir: Path) -> None:
    from mnist_mlp import report

    path = report.build_report(run_dir)
    print(f"report: {path}")


def cmd_report(args) -> int:
    """Locked like a run (a run still writing the folder is refused, and what killed writes left
    is swept); a folder that holds no run (or does not exist) is named by build_report and left
    as it was: no lock file, no sweep."""
    import contextlib

    from mnist_mlp.judging.matrix import run_folders
    from mnist_mlp.training import reproduce

    holds_runs = args.run_dir.is_dir() and any(
        next(folder.glob("*/result.json"), None) for folder in run_folders(args.run_dir))
    with reproduce.locked(args.run_dir) if holds_runs else contextlib.nullcontext():
        _build_report(args.run_dir)
    return 0


def cmd_bench_check(args) -> int:
    from mnist_mlp.judging.gates import speed

    bench = speed.load_bench_json(args.bench_json)
    backend = speed.backend_of(bench)
    budgets = speed.section(backend)
    print(f"{args.bench_json}: backend {backend}, budgets calibrated on "
          f"{budgets['calibration']['backend']}")
    for flag in speed.thread_flags(bench):
        print(f"more busy threads than cpus: {flag}")
    changes = speed.condition_changes(bench, budgets)
    if changes:
        print(f"differs from the calibration: {'; '.join(changes)}")
    if budgets.get("provisional"):
        print(f"provisional budgets: {budgets['provisional']}")
    rows = speed.rows(bench, budgets)
    return _print_gate(rows, speed.COLUMNS,
                       "benchmark gate (MFU below its minimum, too many threads, or missing)")


def cmd_bench_compare(args) -> int:
    from mnist_mlp.judging import abcompare

    threshold, alpha = args.threshold, args.alpha
    base, candidate = abcompare.load_pair(args.base, args.candidate)
    rows = abcompare.compare(base, candidate, threshold, alpha)
    print(f"candidate {args.candidate} / base {args.base}")
    print(abcompare.format_table(rows, threshold))
    slower = [f"{r.model} {r.kind}" for r in rows if r.verdict == abcompare.SLOWER]
    if slower:
        print(f"significant slowdown of at least {threshold:.0%}: {', '.join(slower)}")
        return EXIT_GATE_FAILED
    print(f"no significant slowdown of {threshold:.0%} or more")
    return 0


def cmd_calibrate(args) -> int:
    from mnist_mlp.judging.gates import accuracy

    alpha = args.alpha
    section, seeds = accuracy.calibrate_file(args.run_dirs, args.write, alpha)
    print(f"wrote the {section} gates of {args.write} from seeds {seeds}")
    return 0


def cmd_matrix(args) -> int:
    from mnist_mlp.judging import matrix
    from mnist_mlp.report.matrix import build_matrix_report

    envs = [matrix.load_env_run(folder) for folder in args.run_dirs]
    table = matrix.build_matrix(envs, args.reference, matrix.golden_gate)
    print(f"matrix: {build_matrix_report(table, args.out)}")
    return 0


def cmd_compare(args) -> int:
    from mnist_mlp.judging import compare
    from mnist_mlp.judging.gates import accuracy
    from mnist_mlp.judging.matrix import seed_runs

    candidate_runs = seed_runs(args.candidate)
    base_runs = {} if args.base == "golden" else seed_runs(Path(args.base))
    compare.check_comparable({"the base": base_runs, "the candidate": candidate_runs})
    candidate = compare.run_values(args.candidate, candidate_runs)
    if args.base == "golden":
        first_run = next(iter(candidate_runs.values()))
        section = accuracy.section_of(next(iter(first_run.values())))
        base = compare.golden_values(candidate, section)
        stack = section.get("calibrated_on", {})
        print("base: the calibration seeds in golden/measured/gates.json, "
              f"trained on Keras {stack.get('keras')} "
              f"with {stack.get('backend')} {stack.get(stack.get('backend'), '')}".rstrip())
    else:
        base = compare.run_values(Path(args.base), base_runs)
    alpha, margin = args.alpha, args.margin
    rows = compare.paired_rows(base, candidate, alpha, margin)
    print(f"paired comparison: {accuracy.describe_statistic(accuracy.STATISTIC)}, candidate - base, "
          f"margin {margin * 100:.2f} pt, alpha {alpha}")
    return _print_gate(rows, compare.COLUMNS, "paired comparison")


def cmd_bench_calibrate(args) -> int:
    from mnist_mlp.judging.gates import speed

    margin = args.margin
    backend = speed.calibrate_file(args.bench_json, args.write, margin, args.provisional)
    print(f"wrote the {backend} MFU budgets of {args.write} from {len(args.bench_json)} run(s)")
    return 0


# ---------------------------------------------------------------------------------------------
# Parser
