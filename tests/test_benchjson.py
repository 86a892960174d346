"""One reader of pytest-benchmark JSON (mnist_mlp.measuring.benchjson): the speed gate, the A/B and the
matrix read the same per-step numbers from one file, and reject the same malformed ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_run import run_cli

from mnist_mlp.judging import abcompare, matrix
from mnist_mlp.judging.gates import speed
from mnist_mlp.measuring import benchjson


def bench_file(tmp_path, **info_changes):
    """One ``step`` benchmark of 8 steps per call: median 16 ms a call, rounds 8, 16, 24 ms."""
    info = {"kind": "step", "model": "arch1_relu", "steps_per_call": 8, "mfu": 0.5, **info_changes}
    entry = {"name": "test_step[arch1_relu]", "extra_info": info,
             "stats": {"median": 0.016, "data": [0.008, 0.016, 0.024]}}
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"benchmarks": [entry, {"name": "untagged", "extra_info": {}}]}))
    return path


def test_every_reader_sees_the_same_per_step_times(tmp_path):
    path = bench_file(tmp_path)
    bench = speed.load_bench_json(path)
    assert speed.medians_ms(bench) == {("step", "arch1_relu"): 2.0}  # 16 ms / 8 steps
    sample = abcompare.samples(bench, str(path))["step", "arch1_relu"]
    assert sample.values.tolist() == pytest.approx([0.001, 0.002, 0.003])  # seconds per step
    steps = matrix.load_steps(path)["arch1_relu"]
    assert (steps.median_ms, steps.rounds_ms, steps.mfu) == (2.0, pytest.approx((1.0, 2.0, 3.0)), 0.5)


@pytest.mark.parametrize(("changes", "named"), [
    ({"steps_per_call": 0}, "bad steps_per_call"),
    ({"steps_per_call": True}, "bad steps_per_call"),
    ({"kind": ["step"]}, "non-text kind or model"),
    ({"model": 7}, "non-text kind or model"),
])
def test_a_malformed_benchmark_is_one_error_for_every_reader(tmp_path, changes, named):
    path = bench_file(tmp_path, **changes)
    for read in (speed.load_bench_json, matrix.load_steps, lambda p: abcompare.load_pair(p, p)):
        with pytest.raises(benchjson.BenchJSONError, match=named):
            read(path)


def test_non_positive_rounds_and_a_missing_file_are_named(tmp_path):
    path = bench_file(tmp_path)
    data = json.loads(path.read_text())
    data["benchmarks"][0]["stats"]["data"] = [0.01, -1]
    path.write_text(json.dumps(data))
    with pytest.raises(benchjson.BenchJSONError, match="non-positive or non-numeric"):
        benchjson.load(path)
    with pytest.raises(benchjson.BenchJSONError, match="no such file"):
        benchjson.load(tmp_path / "absent.json")


CALIBRATION = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "calibration"


def _tagged(bench: dict, kind: str | None = None):
    return [b for b in bench["benchmarks"] if kind in (None, b["extra_info"].get("kind"))]


MALFORMED_FILES = {
    "epoch steps a word": lambda b: [e["extra_info"].update(steps="many") for e in _tagged(b, "epoch")],
    "epoch steps zero": lambda b: [e["extra_info"].update(steps=0) for e in _tagged(b, "epoch")],
    "floor_ms a word": lambda b: [e["extra_info"].update(floor_ms="x") for e in _tagged(b, "step")],
    "step_ms infinite": lambda b: [e["extra_info"].update(step_ms=float("inf")) for e in _tagged(b, "step")],
    "backend unhashable": lambda b: [e["extra_info"].update(backend=["jax"]) for e in _tagged(b)],
    "a step without its model": lambda b: [e["extra_info"].pop("model") for e in _tagged(b, "step")],
    "steps_per_call zero": lambda b: [e["extra_info"].update(steps_per_call=0) for e in _tagged(b, "step")],
}


@pytest.mark.parametrize("kind", sorted(MALFORMED_FILES))
@pytest.mark.parametrize("command", ["bench-check", "bench-compare"])
def test_a_malformed_benchmark_file_is_one_line_and_exit_2(kind, command, tmp_path, capsys):
    good = json.loads((CALIBRATION / "jax-1-performance-table.json").read_text())
    bad = json.loads(json.dumps(good))
    MALFORMED_FILES[kind](bad)
    (tmp_path / "good.json").write_text(json.dumps(good))
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    files = [tmp_path / "good.json", tmp_path / "bad.json"][command == "bench-check":]
    code, _, err = run_cli(capsys, command, *map(str, files))
    assert code == 2, err[-1500:]
    assert err.count("\n") == 1 and "bad.json" in err


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_a_benchmark_path_that_is_not_a_regular_file_is_refused_without_waiting(tmp_path, capsys, kind):
    """Seen: bench-check on a FIFO waited for a writer forever; on /dev/zero it read forever; on a
    folder it said "[Errno 21] Is a directory: 6"."""
    import os

    from cli_run import run_cli

    path = tmp_path / "bench.json"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        path.symlink_to("/dev/zero")
    code, _, err = run_cli(capsys, "bench-check", str(path))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "not a benchmark JSON file" in err, err
