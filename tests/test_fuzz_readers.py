"""Every reader validates before it computes: valid files mutated at random (a field replaced by a
value of another type, a huge or non-finite number, deep nesting, markup; a key deleted; the text
cut short; a byte flipped) give exit 0, 1 or 2 with at most one line on stderr, never the
unexpected-error exit 3.

The fast suite runs a few hundred cases per reader; ``HYPOTHESIS_PROFILE=fuzz`` (``tox -e fuzz``)
runs 10,000 per reader (profiles: tests/conftest.py).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from cli_run import run_cli
from fake_runs import make_result, write_run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnist_mlp import cli

DEEP = "__nested 5000 deep__"  # replaced in the file's text: Python cannot build it as an object
ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
    st.sampled_from(["<script>alert(1)</script>", "$\\frac{a}{b}$", "../../etc", "\x00", "1e999"]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.just(DEEP),
)


def _paths(node, prefix=()):
    """Every (path, value) of a JSON tree, containers included."""
    yield prefix, node
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        yield from _paths(child, (*prefix, key))


@st.composite
def mutated_json(draw, valid: dict) -> bytes:
    """``valid`` with one mutation: a value replaced, a key deleted, the text cut, or a byte flipped."""
    data = json.loads(json.dumps(valid))
    places = [path for path, _ in _paths(data) if path]
    kind = draw(st.sampled_from(["replace", "delete", "truncate", "flip"]))
    if kind in ("replace", "delete"):
        path = draw(st.sampled_from(places))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        if kind == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(ODD_VALUES)
        return json.dumps(data).replace(json.dumps(DEEP), "[" * 5000 + "]" * 5000).encode()
    text = json.dumps(data).encode()
    at = draw(st.integers(0, len(text) - 1))
    if kind == "truncate":
        return text[:at]
    return text[:at] + bytes([text[at] ^ (1 << draw(st.integers(0, 7)))]) + text[at + 1:]


def assert_clean_exit(code: int, err: str) -> None:
    assert code in (0, 1, 2), err
    assert len(err.strip().splitlines()) <= 1, err


VALID_RESULT = make_result("arch1_relu").to_json()
# capsys is read (and so emptied) by every call: safe across generated inputs
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                    HealthCheck.function_scoped_fixture])


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
