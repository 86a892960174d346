"""Regenerate docs/results/performance.md's step table on this machine, in one run.

    python benchmarks/performance_table.py --write                   # benchmark all three backends
    python benchmarks/performance_table.py --from .benchmarks/perf   # render saved runs only

Runs ``pytest benchmarks`` once per Keras backend (a process holds one backend) on the CPU set
``MNIST_MLP_BENCH_CPUS`` names (default one core), each into --out/<backend>.json, then prints
(and with --write puts between docs/results/performance.md's ``performance:begin``/``end``
markers, creating the file with them if it is missing): per model
and backend the step ms, floor ms and MFU, the numpy BLAS reference, the machine (CPU, cpus,
peaks, bandwidth), and the A/B detector's measured error rates from
benchmarks/ab_error_rates.py's error_rates.json (--error-rates).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

TREE = Path(__file__).resolve().parent.parent
BACKENDS = ("jax", "tensorflow", "torch")
BEGIN, END = "<!-- performance:begin -->", "<!-- performance:end -->"
RESULTS = Path("docs") / "results" / "performance.md"  # relative to TREE
TITLE = ("# Performance: the step table\n\n"
         "What the columns mean: [../performance.md](../performance.md).\n")


def run_backend(backend: str, out: Path) -> None:
    path = out / f"{backend}.json"
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(TREE)}
    subprocess.run([sys.executable, "-m", "pytest", str(TREE / "benchmarks"), "-q",
                    "-p", "no:cacheprovider", f"--benchmark-json={path}"], env=env, check=True)


def by_kind(bench: dict) -> dict[tuple[str, str], dict]:
    return {(b["extra_info"]["kind"], b["extra_info"]["model"]): b
            for b in bench["benchmarks"] if "kind" in b.get("extra_info", {})}


def fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def ratio_range(error_rates: dict, kind: str) -> str:
    """Smallest to largest candidate/base ratio over every model of every ``kind`` try."""
    ratios = [r for t in error_rates["results"] if t["kind"] == kind for r in t["ratios"].values()]
    return f"ratios {min(ratios):.2f}-{max(ratios):.2f}"


def render(runs: dict[str, dict], error_rates: dict | None) -> str:
    tables = {backend: by_kind(run) for backend, run in runs.items()}
    first = next(iter(tables.values()))
    models = [model for kind, model in first if kind == "step"]
    head = "| model | floor ms | BLAS ref ms |" + "".join(
        f" {b} ms | {b} MFU |" for b in runs)
    lines = [head, "|---|---:|---:|" + "---:|---:|" * len(runs)]
    for model in models:
        step0 = first["step", model]["extra_info"]
        blas = first.get(("blas_reference", model), {}).get("extra_info", {}).get("blas_ms")
        cells = [model, fmt(step0.get("floor_ms"), ".3f"), fmt(blas, ".3f")]
        for table in tables.values():
            info = table.get(("step", model), {}).get("extra_info", {})
            cells += [fmt(info.get("step_ms"), ".3f"), fmt(info.get("mfu"), ".2f")]
        lines.append("| " + " | ".join(cells) + " |")
    machine = []
    for backend, table in tables.items():
        info = next(b["extra_info"] for (k, _), b in table.items() if k == "step")
        busy = max(b["extra_info"].get("busy_threads", 0) for b in table.values())
        machine.append(
            f"- {backend}: cpus {info['cpus']} ({info.get('cpu')}), busy threads at most {busy}; "
            f"peak {info['peak_flops'] / 1e9:.0f} GFLOP/s from {info['peak_source']} "
            f"(GEMM 2048: {info['peaks_gflops']}), bandwidth {info['bandwidth_gbs']} GB/s; "
            f"{info.get('backend')} with Keras {info.get('keras')}, "
            f"TensorFlow {info.get('tensorflow')}, JAX {info.get('jax')}, torch {info.get('torch')}")
    intro = ("Step ms and floor ms per training step (batch 128); MFU = step FLOPs / (step time "
             "x peak). One `python benchmarks/performance_table.py` run:")
    text = [intro, "", *lines, "", *machine]
    if error_rates:
        e = error_rates
        rates = (f"A/B detector (`benchmarks/ab_error_rates.py`) on this machine ({e['backend']}; "
                 f"{', '.join(e['models'])}; {e['pairs']} process pairs x {e['bench_rounds']} "
                 f"rounds taking turns): an injected {e['inject']:.0%} slowdown caught in "
                 f"{e['detected']}/{e['tries']} tries ({ratio_range(e, 'injected')}); A against A "
                 f"false alarms {e['false_alarms']}/{e['tries']} ({ratio_range(e, 'a_vs_a')})")
        if not e.get("complete", True):
            rates += f" (cut short: {e['tries']} of {e['planned_tries']} planned tries)"
        rates += "."
        text += ["", rates]
    return "\n".join(text)


def write_results(section: str) -> Path:
    """Put ``section`` between the markers of docs/results/performance.md; the text around them
    (the run's conditions) is kept. A missing file is created with a title and the markers."""
    path = TREE / RESULTS
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{TITLE}\n{BEGIN}\n{END}\n", "utf-8")
    text = path.read_text("utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"performance_table: {RESULTS} has no {BEGIN} ... {END} markers")
    before, rest = text.split(BEGIN, 1)
    _, after = rest.split(END, 1)
    path.write_text(f"{before}{BEGIN}\n{section}\n{END}{after}", "utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=TREE / ".benchmarks" / "perf")
    parser.add_argument("--from", dest="saved", type=Path, help="render saved <backend>.json")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS))
    parser.add_argument("--error-rates", type=Path,
                        default=TREE / ".benchmarks" / "ab-error-rates" / "error_rates.json")
    parser.add_argument("--write", "--write-readme", dest="write", action="store_true",
                        help=f"put the table into {RESULTS} (between its markers)")
    args = parser.parse_args(argv)
    folder = args.saved or args.out
    if not args.saved:
        folder.mkdir(parents=True, exist_ok=True)
        for backend in args.backends:
            run_backend(backend, folder)
    runs = {b: json.loads((folder / f"{b}.json").read_text()) for b in args.backends
            if (folder / f"{b}.json").exists()}
    if not runs:
        raise SystemExit(f"performance_table: no <backend>.json in {folder}")
    rates = json.loads(args.error_rates.read_text()) if args.error_rates.exists() else None
    section = render(runs, rates)
    print(section)
    if args.write:
        write_results(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
