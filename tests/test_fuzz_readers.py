"""Every reader validates before it computes: valid files mutated at random (a field replaced by a
value of another type, a huge or non-finite number, deep nesting, markup; a key deleted; the text
cut short; a byte flipped) give exit 0, 1 or 2 with at most one line on stderr, never the
unexpected-error exit 3.

The fast suite runs a few hundred cases per reader; ``HYPOTHESIS_PROFILE=fuzz`` (``tox -e fuzz``)
runs 10,000 per reader (profiles: tests/conftest.py).
"""

from __future__ import annotations

import gzip
import io
import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from cli_run import run_cli
from fake_runs import make_result, write_run
from fuzzing import FUZZ, assert_clean_exit, mutated_bytes, mutated_json
from hypothesis import given
from hypothesis import strategies as st

from mnist_mlp import cli, data, golden
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


def test_the_fuzzer_reaches_the_cli_s_exits(capsys):
    """The harness itself: the valid files pass through the same calls (exit 0 or 1), and a file
    that is not JSON at all is exit 2."""
    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder)
        write_run(run, [make_result("arch1_relu")])
        assert run_cli(capsys, "verify", str(run))[0] in (0, 1)
        (run / "arch1_relu" / "result.json").write_bytes(b"\xff")
        assert run_cli(capsys, "verify", str(run))[0] == cli.EXIT_USAGE


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
    from mnist_mlp import models

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
