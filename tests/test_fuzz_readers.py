"""Every reader validates before it computes: valid files mutated at random (a field replaced by a
value of another type, a huge or non-finite number, deep nesting, markup; a key deleted; the text
cut short; a byte flipped) give exit 0, 1 or 2 with at most one line on stderr, never the
unexpected-error exit 3.

The fast suite runs a few hundred cases per reader; ``HYPOTHESIS_PROFILE=fuzz`` (``tox -e fuzz``)
runs 10,000 per reader (profiles: tests/conftest.py).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from cli_run import run_cli
from fake_runs import make_result, write_run
from fuzzing import FUZZ, assert_clean_exit, mutated_json
from hypothesis import given

from mnist_mlp import cli

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
