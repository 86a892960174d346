"""Every reader validates before it computes: valid files mutated at random (a field replaced by a
value of another type, a huge or non-finite number, deep nesting, markup, or a type confusion of
its own value: zero, -0.0, negative, a number as text, text in a list or an object; a key
deleted; the text cut short; a byte flipped) give exit 0, 1 or 2 with at most one line on stderr
(a warning counts as the lines a real run prints), never the unexpected-error exit 3.

The fast suite runs a few hundred cases per reader; ``HYPOTHESIS_PROFILE=fuzz`` (``tox -e fuzz``)
runs 10,000 per reader (profiles: tests/conftest.py).
"""

from __future__ import annotations

import gzip
import io
import json
import math
import tempfile
import warnings
import zipfile
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from cli_run import run_cli
from fake_runs import make_result, write_run
from fuzzing import FUZZ, assert_clean_exit, mutated_bytes, mutated_json
from hypothesis import given
from hypothesis import strategies as st

from mnist_mlp.cli import main as cli
from mnist_mlp.errors import MnistMlpError
from mnist_mlp.judging import abcompare
from mnist_mlp.measuring import benchjson
from mnist_mlp.notebook import data, golden
from mnist_mlp.report import plots

VALID_RESULT = make_result("arch1_relu").to_json()


@FUZZ
@given(content=mutated_json(VALID_RESULT))
def test_verify_reads_any_result_json_without_a_traceback(capsys, content):
    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder)
        write_run(run, [make_result("softmax")])  # a valid neighbour: the run folder is not empty
        (run / "arch1_relu").mkdir()
        (run / "arch1_relu" / "result.json").write_bytes(content)
        assert_clean_exit(*run_cli(capsys, "verify", str(run))[::2])


def bench_json() -> dict:
    """A valid pytest-benchmark JSON of one step benchmark, as benchmarks/ writes it."""
    return {"machine_info": {"cpu": {"brand_raw": "AMD EPYC"}}, "benchmarks": [{
        "name": "test_step[arch1_relu]", "group": "step",
        "extra_info": {"kind": "step", "model": "arch1_relu", "steps_per_call": 8, "mfu": 0.7,
                       "backend": "jax", "keras": "3.15.1"},
        "stats": {"median": 0.04, "data": [0.04, 0.041, 0.039], "rounds": 3}}]}


@FUZZ
@given(content=mutated_json(bench_json()))
def test_bench_check_reads_any_benchmark_json_without_a_traceback(capsys, content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.json"
        path.write_bytes(content)
        assert_clean_exit(*run_cli(capsys, "bench-check", str(path))[::2])


# --- benchmark JSON as benchmarks/ab.py writes it: bench-compare, bench-check, the matrix ------
# Two builds' merged A/B runs (two pairs of 3 rounds each, ``ab_paired``), every extra_info field
# benchmarks/conftest.py and test_training_speed.py record: the step of two models (one whose
# step beat its floor under the A/B: ``floor_suspect``, no MFU), a notebook way and the epoch.

AB_ROUNDS = (1.00, 1.03, 0.98, 1.05, 0.99, 1.02)  # relative round times, pair by pair


def ab_bench_json(slowdown: float = 1.0, jitter: float = 0.0) -> dict:
    """A valid ``benchmarks/ab.py`` output; ``slowdown`` scales arch1_relu's rounds."""
    environment = {
        "python": "3.11.7", "keras": "3.15.1", "backend": "jax", "backend_chosen_by": "KERAS_BACKEND",
        "numpy": "2.4.6", "machine": "x86_64", "cpu": "AMD EPYC", "cpu_count": 2, "cpus": [0],
        "threads": {"xla": "affinity (1 cpu; XLA has no thread flag)", "blas": 1},
        "tensorflow": None, "jax": "0.10.2", "torch": None, "openblas_coretype": "auto",
        "mnist_mlp": "/work/base/mnist_mlp", "instruments": "/work/main/benchmarks/instruments",
        "busy_threads": 1, "cpu_per_wall": 0.99, "thread_ticks": [301, 6]}
    ab = {"ab_paired": True, "ab_pairs": 2, "ab_rounds": [3, 3]}
    floor = {"flops": 287692800, "peak_flops": 37234809272.0, "peak_source": "numpy",
             "peaks_gflops": {"numpy": 37.2, "jax": 36.0}, "bandwidth_gbs": 18.73,
             "floor_ms": 7.93, "gemm_floor_ms": 7.73, "adam_ms": 0.2, "injected_slowdown": 0.0}

    def entry(test: str, kind: str, model: str, call_s: float, info: dict) -> dict:
        data = [call_s * r * (1 + jitter * (-1) ** i) for i, r in enumerate(AB_ROUNDS)]
        return {"group": model, "name": f"{test}[{model}]",
                "fullname": f"benchmarks/test_training_speed.py::{test}[{model}]",
                "params": {"name": model}, "param": model,
                "extra_info": {"kind": kind, "model": model, **environment, **info, **ab},
                "options": {"min_rounds": 5, "timer": "perf_counter", "warmup": False},
                "stats": {"median": sorted(data)[3], "min": min(data), "max": max(data),
                          "rounds": len(data), "data": data}}

    step_s = 0.0955 * slowdown
    return {"machine_info": {"cpu": {"brand_raw": "AMD EPYC"}}, "commit_info": {"id": "5c0c37e"},
            "datetime": "2026-01-01T00:00:00", "version": "5.2.3", "benchmarks": [
        entry("test_step", "step", "arch1_relu", step_s, {
            "steps_per_call": 8, **floor, "step_ms": step_s * 125, "blas_ms": None, "mfu": 0.64,
            "gflops": 24.1, "step_over_floor": 1.5}),
        entry("test_step", "step", "softmax", 0.0021, {
            "steps_per_call": 8, **floor, "flops": 2.5e6, "step_ms": 0.26, "blas_ms": 0.2,
            "mfu": None, "floor_suspect": "softmax: step 0.260 ms beats its floor 0.300 ms",
            "gflops": 9.6, "step_over_floor": 0.87}),
        entry("test_notebook_way", "notebook_way", "arch1_relu", 0.0431, {
            "notebook_ms": 43.1, "step_ms": step_s * 125, "ours_vs_notebook": 0.28}),
        entry("test_epoch", "epoch", "arch1_relu", 2.9, {
            "steps": 469, **floor, "epoch_s": 2.9, "floor_s": 2.5, "mfu": 0.5})]}


AB_BASE, AB_CANDIDATE = ab_bench_json(), ab_bench_json(slowdown=1.15, jitter=0.004)


def run_quietly(capsys, *argv) -> tuple[int, str, str]:
    """``run_cli``, with every warning the command raised counted as the stderr lines a real run
    prints for it (pytest would otherwise swallow them)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, err = run_cli(capsys, *argv)
    return code, out, err + "".join(warnings.formatwarning(w.message, w.category, w.filename,
                                                           w.lineno, w.line) for w in caught)


@FUZZ
@given(side=st.sampled_from(["base", "candidate", "both"]), data_=st.data())
def test_bench_compare_reads_any_pair_of_benchmark_jsons_without_a_traceback(capsys, side, data_):
    """The base mutated, the candidate mutated, or both (each its own mutation)."""
    base, candidate = (data_.draw(mutated_json(valid), label=name) if side in (name, "both")
                       else json.dumps(valid).encode()
                       for name, valid in (("base", AB_BASE), ("candidate", AB_CANDIDATE)))
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "base.json").write_bytes(base)
        (Path(folder) / "candidate.json").write_bytes(candidate)
        code, _, err = run_quietly(capsys, "bench-compare", f"{folder}/base.json",
                                   f"{folder}/candidate.json")
        assert_clean_exit(code, err)


@FUZZ
@given(content=mutated_json(AB_BASE))
def test_bench_compare_reads_one_benchmark_json_against_itself_without_a_traceback(capsys, content):
    """The same mutated file on both sides: every round's ratio is 1 (a degenerate test)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.json"
        path.write_bytes(content)
        assert_clean_exit(*run_quietly(capsys, "bench-compare", str(path), str(path))[::2])


@FUZZ
@given(content=mutated_json(AB_BASE))
def test_bench_check_reads_any_ab_benchmark_json_without_a_traceback(capsys, content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.json"
        path.write_bytes(content)
        assert_clean_exit(*run_quietly(capsys, "bench-check", str(path))[::2])


@FUZZ
@given(mutated_first=st.booleans(), content=mutated_json(AB_BASE))
def test_bench_calibrate_reads_any_benchmark_json_without_a_traceback(capsys, mutated_first,
                                                                      content):
    """The runs bench-calibrate measures from (one mutated, beside a valid one); the budgets file
    it writes is new, and only written on exit 0."""
    with tempfile.TemporaryDirectory() as folder:
        mutated, valid = Path(folder) / "mutated.json", Path(folder) / "valid.json"
        mutated.write_bytes(content)
        valid.write_text(json.dumps(AB_BASE))
        runs = [mutated, valid] if mutated_first else [valid, mutated]
        target = Path(folder) / "benchmarks.json"
        code, _, err = run_quietly(capsys, "bench-calibrate", *map(str, runs), "--write", str(target))
        assert_clean_exit(code, err)
        assert target.is_file() == (code == 0), err


@FUZZ
@given(content=mutated_json(AB_BASE))
def test_benchjson_returns_usable_benchmarks_or_raises_its_error(content):
    """``benchjson.benchmarks`` on the parsed file (and ``load`` on the file): an MnistMlpError
    of one line, or benchmarks every reader can compute with: text kind and model, finite
    positive per-step times, a finite MFU or none."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.json"
        path.write_bytes(content)
        try:
            parsed = json.loads(content)
        except (ValueError, RecursionError):
            with pytest.raises(MnistMlpError) as refused:
                benchjson.load(path)
            assert "\n" not in str(refused.value)
            return
        try:
            found = benchjson.benchmarks(parsed, str(path))
        except MnistMlpError as exc:
            assert "\n" not in str(exc) and str(path) in str(exc), exc
            with pytest.raises(MnistMlpError):
                benchjson.load(path)
            return
        assert benchjson.benchmarks(benchjson.load(path), str(path)) == found
    for (kind, model), one in found.items():
        assert isinstance(kind, str) and isinstance(model, str) and model
        assert math.isfinite(one.median_ms) and one.median_ms > 0, one
        assert all(math.isfinite(ms) and ms > 0 for ms in one.rounds_ms), one
        assert one.mfu is None or (not isinstance(one.mfu, bool) and math.isfinite(one.mfu)), one
        assert math.isfinite(one.step_ms) and one.step_ms > 0, one  # the speed gate's
        assert one.measured_mfu is None or math.isfinite(one.measured_mfu), one
        assert one.paired in (True, False)


def write_matrix_env(folder: Path, env: str, bench: bytes) -> Path:
    """An env's run folder of the matrix: two models' results and its benchmarks.json."""
    write_run(folder / env, [make_result(model, test_accuracy=accuracy, backend="jax")
                             for model, accuracy in (("arch1_relu", 0.981), ("softmax", 0.927))])
    (folder / env / "benchmarks.json").write_bytes(bench)
    return folder / env


class DrawnOnce:
    """A matrix figure drawn by matplotlib once per distinct input (the envs, the models, each
    cell's accuracies and MFU: all a matrix figure plots); the same input again gets the same
    PNG, so the fuzzer pays the ~0.5 s drawing only for values it has not drawn yet."""

    def __init__(self, draw):
        self.draw, self.png = draw, {}

    def __call__(self, table, target):
        key = repr((table.envs, table.models, sorted(
            (where, cell.accuracies, cell.step and cell.step.mfu) for where, cell in table.cells.items())))
        if key not in self.png:
            self.draw(table, target)
            self.png[key] = Path(target).read_bytes()
        else:  # as plots.save writes it: the folder made first
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            Path(target).write_bytes(self.png[key])


MATRIX_FIGURES = {name: DrawnOnce(getattr(plots, name))
                  for name in ("plot_matrix_accuracy", "plot_matrix_mfu")}


class ComparedOnce:
    """The matrix's speed delta (``abcompare.compare_one``: 2,000 bootstrap resamples) computed
    once per distinct input, its result reused: most mutations leave the rounds as they were."""

    def __init__(self, compare):
        self.compare, self.done = compare, {}

    def __call__(self, key, base, candidate, *args):
        arrays = [(a.dtype.str, a.shape, a.tobytes()) for a in (np.asarray(base), np.asarray(candidate))]
        known = repr((key, arrays, args))
        if known not in self.done:
            self.done[known] = self.compare(key, base, candidate, *args)
        return self.done[known]


MATRIX_SPEED = ComparedOnce(abcompare.compare_one)


@FUZZ
@given(mutate_reference=st.booleans(), content=mutated_json(AB_CANDIDATE))
def test_matrix_reads_any_benchmarks_json_without_a_traceback(capsys, mutate_reference, content):
    """``mnist-mlp matrix`` over two envs, one of whose benchmarks.json is mutated (the reference
    env's or the other's): its speed cells, deltas, MFU figure and pages."""
    valid = json.dumps(AB_BASE).encode()
    with tempfile.TemporaryDirectory() as folder, mock.patch.multiple(plots, **MATRIX_FIGURES), \
            mock.patch.object(abcompare, "compare_one", MATRIX_SPEED):
        envs = [write_matrix_env(Path(folder), "py311-jax", content if mutate_reference else valid),
                write_matrix_env(Path(folder), "py313-jax", valid if mutate_reference else content)]
        code, _, err = run_quietly(capsys, "matrix", *map(str, envs), "--out", f"{folder}/matrix")
        assert_clean_exit(code, err)


def _changed(index: int, part: str, key: str, value) -> dict:
    """AB_BASE with ``benchmarks[index][part][key]`` set to ``value``."""
    changed = json.loads(json.dumps(AB_BASE))
    changed["benchmarks"][index][part][key] = value
    return changed


def _round(index: int, value) -> dict:
    changed = json.loads(json.dumps(AB_BASE))
    changed["benchmarks"][index]["stats"]["data"][0] = value
    return changed


def _untagged(info: dict) -> dict:
    """AB_BASE after a benchmark that is not this project's (no ``kind``): ignored by every
    reader, whatever its extra_info holds."""
    changed = json.loads(json.dumps(AB_BASE))
    changed["benchmarks"].insert(0, {"name": "test_theirs", "extra_info": info,
                                     "stats": {"median": 0.001, "data": [0.001]}})
    return changed


# Inputs that once crashed a command (exit 3, or stderr beyond one line), each shrunk, with the
# command and the exit it must give (the last number). bench-compare reads the file as the base,
# against the valid candidate.
FOUND = {
    "a round of 5e-324 s (log of 0 per step)": ("bench-compare", _round(0, 5e-324), 2),
    "a round of 1e308 s (infinite per step)": ("bench-compare", _round(0, 1e308), 2),
    "an epoch of 10**308 steps": ("bench-check", _changed(3, "extra_info", "steps", 10**308), 2),
    "peak_flops 5e-324 (infinite MFU)": (
        "bench-calibrate", _changed(0, "extra_info", "peak_flops", 5e-324), 2),
    "an MFU of 1e308": ("matrix", _changed(1, "extra_info", "mfu", 1e308), 2),
    "an MFU of 2**63": ("matrix", _changed(0, "extra_info", "mfu", 2**63), 2),
    "an untagged benchmark's backend a list": ("bench-check", _untagged({"backend": ["jax"]}), 1),
    "busy_threads true": ("bench-check", _changed(0, "extra_info", "busy_threads", True), 2),
    "a model name of two lines": ("bench-compare", _changed(0, "extra_info", "model", "a\nb"), 2),
    "steps_per_call a string": ("bench-compare", _changed(0, "extra_info", "steps_per_call", "8"), 2),
    "steps_per_call -0.0": ("bench-compare", _changed(0, "extra_info", "steps_per_call", -0.0), 2),
    "the median a string": ("bench-compare", _changed(0, "stats", "median", "0.04"), 2),
    "the backend an object": ("bench-check", _changed(0, "extra_info", "backend", {"jax": 1}), 2),
    "the file against itself": ("bench-compare", AB_BASE, 0),
    "a step without its rounds (empty stats.data)": ("matrix", _changed(0, "stats", "data", []), 2),
}


@pytest.mark.parametrize("case", sorted(FOUND))
def test_what_the_fuzzer_found_is_one_line_or_a_verdict(capsys, tmp_path, case):
    command, content, expected = FOUND[case]
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(content))
    argv = [command, str(path)]
    if command == "bench-compare":
        candidate = tmp_path / "candidate.json"
        candidate.write_text(json.dumps(AB_CANDIDATE))
        argv.append(str(path if content is AB_BASE else candidate))
    elif command == "bench-calibrate":
        argv += ["--write", str(tmp_path / "benchmarks.json")]
    elif command == "matrix":
        argv = [command, *(str(write_matrix_env(tmp_path, env, path.read_bytes()))
                           for env in ("py311-jax", "py313-jax")), "--out", str(tmp_path / "m")]
    code, _, err = run_quietly(capsys, *argv)
    assert (code, len(err.strip().splitlines())) == (expected, int(expected == 2)), err
    named = "benchmarks.json: " if command == "matrix" else "bench.json: "
    assert expected != 2 or named in err and "rerun the benchmarks" in err, err


def test_the_fuzzer_reaches_the_cli_s_exits(capsys):
    """The harness itself: the valid files pass through the same calls (exit 0 or 1), and a file
    that is not JSON at all is exit 2."""
    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder)
        write_run(run, [make_result("arch1_relu")])
        code, _, err = run_cli(capsys, "verify", str(run))
        assert code in (0, 1), err
        (run / "arch1_relu" / "result.json").write_bytes(b"\xff")
        assert run_cli(capsys, "verify", str(run))[0] == cli.EXIT_USAGE
        base, candidate = run / "base.json", run / "candidate.json"
        base.write_text(json.dumps(AB_BASE))
        candidate.write_text(json.dumps(AB_CANDIDATE))
        # arch1_relu's step 15 % slower in every pair: the A/B's gate fails
        assert run_quietly(capsys, "bench-compare", str(base), str(candidate))[::2] == (1, "")
        assert run_quietly(capsys, "bench-compare", str(base), str(base))[::2] == (0, "")
        target = run / "benchmarks.json"
        assert run_quietly(capsys, "bench-calibrate", str(base), str(candidate), "--write",
                           str(target))[::2] == (0, "")
        envs = [write_matrix_env(run, env, base.read_bytes()) for env in ("py311-jax", "py313-jax")]
        assert run_quietly(capsys, "matrix", *map(str, envs), "--out", str(run / "m"))[::2] == (0, "")


# --- MNIST files given with --data: npz and IDX ----------------------------------------------
# Small files of the right form (every array present, MNIST's dtypes, a few images): a mutation
# must end in one line and exit 2 (they are not MNIST), never a traceback or an allocation of
# whatever size a crafted header claims.

SMALL_ARRAYS = {"x_train": np.zeros((3, 28, 28), np.uint8), "y_train": np.arange(3, dtype=np.uint8),
                "x_test": np.ones((2, 28, 28), np.uint8), "y_test": np.arange(2, dtype=np.uint8)}


def small_npz(compressed: bool) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **SMALL_ARRAYS)
    return buffer.getvalue()


def idx_bytes(array: np.ndarray) -> bytes:
    return bytes([0, 0, 8, array.ndim]) + np.asarray(array.shape, ">u4").tobytes() + array.tobytes()


VALID_IDX = {stem: idx_bytes(SMALL_ARRAYS[name]) for name, stem in data.IDX_FILES.items()}


@FUZZ
@given(compressed=st.booleans(), data_=st.data())
def test_data_reads_any_npz_without_a_traceback(capsys, compressed, data_):
    content = data_.draw(mutated_bytes(small_npz(compressed)))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mnist.npz"
        path.write_bytes(content)
        code, _, err = run_cli(capsys, "--data", str(path), "data")
        assert_clean_exit(code, err)
        assert code == cli.EXIT_USAGE, err


@FUZZ
@given(stem=st.sampled_from(sorted(VALID_IDX)), gz=st.booleans(), data_=st.data())
def test_data_reads_any_idx_folder_without_a_traceback(capsys, stem, gz, data_):
    content = data_.draw(mutated_bytes(VALID_IDX[stem]))
    with tempfile.TemporaryDirectory() as folder:
        for name, valid in VALID_IDX.items():
            (Path(folder) / name).write_bytes(content if name == stem else valid)
        if gz:
            (Path(folder) / f"{stem}.gz").write_bytes(gzip.compress(content))
            (Path(folder) / stem).unlink()
        code, _, err = run_cli(capsys, "--data", folder, "data")
        assert_clean_exit(code, err)
        assert code == cli.EXIT_USAGE, err


def test_a_crafted_npz_header_is_refused_before_its_claimed_size_is_allocated(capsys, tmp_path):
    """The npy header of x_train claims 2**40 x 28 x 28 bytes (~700 TiB)."""
    path = tmp_path / "mnist.npz"
    crafted = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        crafted, {"descr": "|u1", "fortran_order": False, "shape": (2**40, 28, 28)})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x_train.npy", crafted.getvalue() + bytes(100))
        for name in ("y_train", "x_test", "y_test"):
            member = io.BytesIO()
            np.save(member, SMALL_ARRAYS[name])
            archive.writestr(f"{name}.npy", member.getvalue())
    code, _, err = run_cli(capsys, "--data", str(path), "data")
    assert code == cli.EXIT_USAGE
    assert err.strip().endswith("array 'x_train' is uint8[1099511627776, 28, 28], "
                                "expected uint8[60000, 28, 28]"), err


def test_an_idx_file_cut_inside_its_header_is_one_line(capsys, tmp_path):
    for name, valid in VALID_IDX.items():
        (tmp_path / name).write_bytes(valid[:9] if name == "train-images-idx3-ubyte" else valid)
    code, _, err = run_cli(capsys, "--data", str(tmp_path), "data")
    assert (code, len(err.strip().splitlines())) == (cli.EXIT_USAGE, 1), err
    assert "train-images-idx3-ubyte: truncated or oversized IDX file" in err


# --- golden files a command rewrites: calibrate --write, bench-calibrate --write -----------

@FUZZ
@given(content=mutated_json(golden.load("gates")))
def test_calibrate_reads_any_existing_gates_file_without_a_traceback(capsys, content):
    with tempfile.TemporaryDirectory() as folder:
        runs = []
        for seed in (1, 2, 3, 4, 5):
            run = Path(folder) / f"seed-{seed}"
            write_run(run, [make_result("softmax", seed=seed, test_accuracy=0.92 + seed / 1000,
                                        backend="jax")])
            runs.append(str(run))
        target = Path(folder) / "gates.json"
        target.write_bytes(content)
        code, _, err = run_cli(capsys, "calibrate", *runs, "--write", str(target))
        assert_clean_exit(code, err)
        if code != 0:
            assert target.read_bytes() == content  # a refused file is left as it was


@FUZZ
@given(content=mutated_json(golden.load("benchmarks")))
def test_bench_calibrate_reads_any_existing_budgets_file_without_a_traceback(capsys, content):
    with tempfile.TemporaryDirectory() as folder:
        bench = Path(folder) / "bench.json"
        bench.write_text(json.dumps(bench_json()))
        target = Path(folder) / "benchmarks.json"
        target.write_bytes(content)
        code, _, err = run_cli(capsys, "bench-calibrate", str(bench), "--write", str(target))
        assert_clean_exit(code, err)
        if code != 0:
            assert target.read_bytes() == content


# --- model.keras, read by the report for its weights figure ----------------------------------

@pytest.fixture(scope="module")
def saved_model(tmp_path_factory) -> bytes:
    from mnist_mlp.notebook import models

    path = tmp_path_factory.mktemp("model") / "model.keras"
    models.build_model("softmax", seed=0).save(path)
    return path.read_bytes()


@FUZZ
@given(data_=st.data())
def test_the_report_reads_any_model_keras_without_a_traceback(saved_model, data_):
    """A damaged model.keras costs the report its weights figure (one sentence), nothing more."""
    content = data_.draw(mutated_bytes(saved_model))
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "softmax").mkdir()
        (Path(folder) / "softmax" / "model.keras").write_bytes(content)
        model = plots.read_model(Path(folder), "softmax")
    assert not isinstance(model, str) or model.startswith("softmax/model.keras could not be read ("), model
