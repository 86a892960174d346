"""The speed gate's plumbing on crafted pytest-benchmark JSON: malformed files, the golden section
each backend gets, and the bench-calibrate command (the MFU verdicts themselves:
tests/test_speed_gate_mfu.py). No timing happens here."""

from __future__ import annotations

import json

import pytest
from test_speed_gate_mfu import run

from mnist_mlp import cli, golden
from mnist_mlp.gates import speed


def run_bench_check(capsys, path) -> tuple[int, str, str]:
    code = cli.main(["bench-check", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "content",
    ["{not json", json.dumps({"benchmarks": "none"}), json.dumps([1, 2]),
     json.dumps({"benchmarks": [{"name": "x", "extra_info": {"kind": "step", "model": "softmax"},
                                 "stats": {"median": "fast"}}]})],
    ids=["not-json", "benchmarks-not-a-list", "not-an-object", "median-not-a-number"],
)
def test_cli_exit_2_with_one_line_for_malformed_json(tmp_path, capsys, content):
    path = tmp_path / "bench.json"
    path.write_text(content)
    code, out, err = run_bench_check(capsys, path)
    assert code == cli.EXIT_USAGE
    assert out == "" and len(err.strip().splitlines()) == 1 and str(path) in err


def test_cli_exit_2_for_a_missing_file(tmp_path, capsys):
    code, _, err = run_bench_check(capsys, tmp_path / "absent.json")
    assert code == cli.EXIT_USAGE
    assert "no such file" in err and len(err.strip().splitlines()) == 1


def test_budgets_are_per_backend_with_a_default():
    budgets_file = {"default_backend": "tensorflow",
                    "backends": {"tensorflow": {"models": {"x": 1}}, "jax": {"models": {}}}}
    assert golden.backend_section(budgets_file, "jax") == {"models": {}}
    assert golden.backend_section(budgets_file, "torch") == {"models": {"x": 1}}
    assert speed.section("some-future-backend") is golden.load("benchmarks")["backends"]["tensorflow"]
    tagged = run()
    assert speed.backend_of(tagged) == "tensorflow"
    tagged["benchmarks"][0]["extra_info"]["backend"] = "jax"
    assert speed.backend_of(tagged) == "jax"


# ---------------------------------------------------------------------------------------------
# The command: mnist-mlp bench-calibrate BENCH_JSON... --write FILE


def tagged(bench: dict, backend: str) -> dict:
    for entry_ in bench["benchmarks"]:
        entry_["extra_info"].update(backend=backend, python="3.11.9", cpu="Crafted CPU")
    return bench


def test_cli_bench_calibrate_writes_the_backends_mfu_minimums(tmp_path, capsys):
    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    paths[0].write_text(json.dumps(tagged(run(), "jax")))
    paths[1].write_text(json.dumps(tagged(run(arch1_step_s=8 * 1.25e-3), "jax")))
    target = tmp_path / "benchmarks.json"
    kept = {"models": {"arch1_relu": {"min_mfu": 0.5}}}
    target.write_text(json.dumps({"_about": "kept", "default_backend": "tensorflow",
                                  "backends": {"tensorflow": kept}}))
    argv = ["bench-calibrate", *map(str, paths), "--margin", "2", "--write", str(target)]
    assert cli.main(argv) == 0
    assert capsys.readouterr().out == f"wrote the jax MFU budgets of {target} from 2 run(s)\n"
    written = json.loads(target.read_text())
    assert written["_about"] == "kept" and written["backends"]["tensorflow"] == kept
    jax = written["backends"]["jax"]
    assert jax["models"]["arch1_relu"]["min_mfu"] == 0.1  # worst MFU 0.2 / margin 2
    assert jax["epoch"]["min_mfu"] == 0.062  # 0.125 / 2, rounded down to 0.001
    assert jax["calibration"] == {"runs": 2, "command": "mnist-mlp bench-calibrate",
                                  "python": "3.11.9", "backend": "jax", "cpu": "Crafted CPU"}


def test_cli_bench_calibrate_refuses_mixed_backends(tmp_path, capsys):
    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    paths[0].write_text(json.dumps(tagged(run(), "jax")))
    paths[1].write_text(json.dumps(tagged(run(), "torch")))
    target = tmp_path / "benchmarks.json"
    code = cli.main(["bench-calibrate", *map(str, paths), "--write", str(target)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE and "one backend" in err and len(err.strip().splitlines()) == 1
    assert not target.exists()
