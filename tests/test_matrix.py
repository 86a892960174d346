"""``mnist-mlp matrix``: envs' run folders merged into one models x envs report, with deltas
against a reference env. Every expected number is written out by hand from the crafted runs."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from fake_runs import make_result, write_run
from scipy.stats import t as student_t

from mnist_mlp.cli import main as cli
from mnist_mlp.judging import matrix
from mnist_mlp.notebook import golden
from mnist_mlp.training.results import ResultError

MODELS = ("arch1_relu", "softmax")
# env -> seed -> model -> accuracy
ACCURACY = {
    "py313-tf221": {0: {"arch1_relu": 0.981, "softmax": 0.927}, 1: {"arch1_relu": 0.983, "softmax": 0.929}},
    "py310-tf215": {0: {"arch1_relu": 0.975, "softmax": 0.926}, 1: {"arch1_relu": 0.973, "softmax": 0.928}},
}


def write_env(root, env: str, seeds=ACCURACY, backend: str = "tensorflow", **result_changes):
    for seed, accuracies in seeds[env].items():
        write_run(root / env / f"seed-{seed}",
                  [dataclasses.replace(make_result(m, test_accuracy=a, seed=seed, backend=backend),
                                       **result_changes) for m, a in accuracies.items()])
    return root / env


def bench_json(path, rounds_ms: dict[str, list[float]], mfu: float = 0.5) -> None:
    """pytest-benchmark JSON with per-round data (seconds per call of 8 steps)."""
    benchmarks = [{"name": f"test_step[{m}]",
                   "extra_info": {"kind": "step", "model": m, "steps_per_call": 8, "mfu": mfu},
                   "stats": {"median": sorted(r)[len(r) // 2] * 8 / 1000, "data": [x * 8 / 1000 for x in r]}}
                  for m, r in rounds_ms.items()]
    path.write_text(json.dumps({"benchmarks": benchmarks}))


@pytest.fixture
def two_envs(tmp_path):
    return [matrix.load_env_run(write_env(tmp_path, env)) for env in ACCURACY]


def test_cells_hold_the_mean_spread_and_seeds_of_each_env(two_envs):
    table = matrix.build_matrix(two_envs, "py313-tf221", lambda r: 0.976)
    assert table.envs == ["py313-tf221", "py310-tf215"] and table.models == list(MODELS)
    ref, old = table.cells["arch1_relu", "py313-tf221"], table.cells["arch1_relu", "py310-tf215"]
    assert ref.accuracies == (0.981, 0.983) and ref.mean == pytest.approx(0.982)
    assert ref.spread == pytest.approx(math.sqrt(2e-6))  # two values 0.002 apart
    assert (ref.passed, old.passed) == (True, False)  # 0.973 < 0.976
    assert ref.accuracy_delta is None  # the reference is not compared with itself


def test_accuracy_delta_is_welchs_t_over_seeds(two_envs):
    table = matrix.build_matrix(two_envs, "py313-tf221", lambda r: None)
    delta = table.cells["arch1_relu", "py310-tf215"].accuracy_delta
    # means 0.982 vs 0.974, both sd sqrt(2e-6): t = 0.008 / sqrt(2e-6/2 * 2) = 5.657, df 2
    assert delta.delta == pytest.approx(-0.008)
    assert delta.p_value == pytest.approx(2 * student_t.sf(0.008 / math.sqrt(2e-6), 2), abs=1e-9)
    assert delta.p_value == pytest.approx(0.02986, abs=1e-4) and delta.significant
    softmax = table.cells["softmax", "py310-tf215"].accuracy_delta  # 0.928 vs 0.927: noise
    assert softmax.delta == pytest.approx(-0.001) and not softmax.significant


def test_reference_defaults_to_the_first_env_and_must_exist(two_envs):
    assert matrix.build_matrix(two_envs, None, lambda r: None).reference == "py313-tf221"
    with pytest.raises(matrix.MatrixError, match="--reference py399 is not one of the envs"):
        matrix.build_matrix(two_envs, "py399", lambda r: None)


def test_an_unknown_reference_is_named_on_one_line(two_envs):
    """Seen: a --reference holding a line break printed the error on two lines."""
    with pytest.raises(matrix.MatrixError) as error:
        matrix.build_matrix(two_envs, "a\nb", lambda r: None)
    assert str(error.value) == "--reference 'a\\nb' is not one of the envs: py313-tf221, py310-tf215"


def test_golden_gate_is_the_results_backends_threshold():
    jax = golden.load("gates")["backends"]["jax"]["models"]["arch1_relu"]["min_test_accuracy"]
    assert matrix.golden_gate(make_result("arch1_relu", backend="jax")) == jax


@pytest.mark.parametrize(("slower", "verdict"), [(1.2, "SLOWER"), (1.05, "same")])
def test_speed_delta_is_the_ab_verdict_for_unpaired_runs(tmp_path, slower, verdict):
    """The matrix judges speed by bench-compare's rule: a 20 % slower env is SLOWER; 5 % slower
    on every round is significant but under the 10 % threshold, so 'same'."""
    ref = write_env(tmp_path, "py313-tf221")
    new = write_env(tmp_path, "py310-tf215")
    base = [2.0, 2.01, 1.99, 2.005, 1.995]
    bench_json(ref / "benchmarks.json", {"arch1_relu": base}, mfu=0.4)
    bench_json(new / "benchmarks.json", {"arch1_relu": [t * slower for t in base]}, mfu=0.33)
    table = matrix.build_matrix([matrix.load_env_run(ref), matrix.load_env_run(new)], None, lambda r: None)
    cell = table.cells["arch1_relu", "py310-tf215"]
    assert cell.step.median_ms == pytest.approx(2.0 * slower) and cell.step.mfu == 0.33
    # Hodges-Lehmann: the median of the 25 pairwise ratios c_i / b_j; each c_i / b_i is ``slower``
    # and the others pair off around it, so the median is ``slower`` itself.
    assert cell.speed_delta.ratio == pytest.approx(slower)
    # one-sided Mann-Whitney U, 5 vs 5, complete separation: exact p = 1 / C(10, 5) = 1 / 252
    assert cell.speed_delta.p_slower == pytest.approx(1 / 252)
    assert cell.speed_delta.verdict == verdict
    assert table.cells["softmax", "py310-tf215"].speed_delta is None  # softmax not benchmarked


def test_runs_of_different_recipes_are_refused_naming_both(tmp_path):
    from mnist_mlp.notebook.recipe import Recipe

    ref = write_env(tmp_path, "py313-tf221")
    other = write_env(tmp_path, "py310-tf215", seeds={"py310-tf215": {0: ACCURACY["py310-tf215"][0]}},
                      recipe=Recipe(epochs=20, seed=0, learning_rate=0.01))
    with pytest.raises(matrix.MatrixError, match="learning_rate 0.01 vs 0.001"):
        matrix.build_matrix([matrix.load_env_run(ref), matrix.load_env_run(other)], None, lambda r: None)


def test_cli_writes_html_markdown_and_figures(tmp_path, capsys):
    folders = [str(write_env(tmp_path / "runs", env)) for env in ACCURACY]
    out = tmp_path / "report"
    assert cli.main(["matrix", *folders, "--reference", "py313-tf221", "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"matrix: {out / 'matrix.html'}\n"
    markdown = (out / "matrix.md").read_text()
    assert "| arch1_relu | 98.20 ± 0.14 (n=2) PASS |" in markdown
    # below the TF gate; Markdown shows the escaped brackets as brackets
    assert "97.40 ± 0.14 (n=2) FAIL \\[Δacc -0.80* (p 0.030)\\]" in markdown
    assert (out / "figures" / "matrix_accuracy.png").stat().st_size > 10_000
    assert "<table>" in (out / "matrix.html").read_text()


@pytest.mark.parametrize("case", ["empty folder", "missing folder", "different recipes"])
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys, case):
    ref = str(write_env(tmp_path, "py313-tf221"))
    if case == "empty folder":
        (tmp_path / "empty").mkdir()
        other = str(tmp_path / "empty")
    elif case == "missing folder":
        other = str(tmp_path / "nowhere")
    else:
        other = str(write_env(tmp_path, "py310-tf215", recipe=make_result("softmax", epochs=5).recipe))
    code = cli.main(["matrix", ref, other, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE
    assert err.startswith("mnist-mlp: error: ") and err.count("\n") == 1
    assert not (tmp_path / "out" / "matrix.html").exists()


# Envs whose seeds the project drew (mnist_mlp.notebook.draws): a seed is the same run in both, so the
# delta is paired seed by seed, and equal values on every seed read "identical".
OWN_DRAWS = {"draws": "numpy-v1"}


def test_envs_that_own_their_draws_compare_seed_by_seed(tmp_path, monkeypatch):
    from mnist_mlp.judging.gates import accuracy

    monkeypatch.setattr(accuracy, "section_of", lambda result: {})  # gate the final accuracy
    seeds = {"ref": {1: {"arch1_relu": 0.981}, 2: {"arch1_relu": 0.983}, 3: {"arch1_relu": 0.979}},
             "same": {1: {"arch1_relu": 0.981}, 2: {"arch1_relu": 0.983}, 3: {"arch1_relu": 0.979}},
             "lower": {1: {"arch1_relu": 0.980}, 2: {"arch1_relu": 0.9815}, 3: {"arch1_relu": 0.978}}}
    envs = [matrix.load_env_run(write_env(tmp_path, env, seeds, **OWN_DRAWS)) for env in seeds]
    table = matrix.build_matrix(envs, "ref", lambda r: None)
    same = table.cells["arch1_relu", "same"].accuracy_delta
    assert same.test == "identical" and not same.significant and same.p_value == 1.0
    lower = table.cells["arch1_relu", "lower"].accuracy_delta
    # paired differences -0.001, -0.0015, -0.001: t = mean / (sd / sqrt(3)), df 2
    differences = [-0.001, -0.0015, -0.001]
    mean = sum(differences) / 3
    sd = math.sqrt(sum((d - mean) ** 2 for d in differences) / 2)
    assert lower.test == "paired t"
    assert lower.p_value == pytest.approx(2 * student_t.sf(abs(mean) / (sd / math.sqrt(3)), 2), abs=1e-9)
    assert lower.significant  # p ~0.02: Welch over the same values would need far more seeds
    text = matrix_cell_text(table.cells["arch1_relu", "same"])
    assert "Δacc identical" in text


def matrix_cell_text(cell):
    from mnist_mlp.report.matrix import cell_text

    return cell_text(cell)


HOSTILE = "<script>alert(1)</script> | R&D"
HOSTILE_MD = r"&lt;script&gt;alert(1)&lt;/script&gt; \| R&amp;D"


def test_markdown_escapes_html_and_pipes_in_every_cell(tmp_path, capsys):
    import re

    env = "<img src=x onerror=alert(1)>"
    environment = make_result("softmax").environment | {"cpu": HOSTILE}
    folder = write_env(tmp_path / "runs", env, {env: ACCURACY["py313-tf221"]}, environment=environment)
    out = tmp_path / "report"
    assert cli.main(["matrix", str(folder), "--out", str(out)]) == 0
    markdown = (out / "matrix.md").read_text()
    assert not re.search(r"<[A-Za-z/!?]", markdown)  # no raw HTML tag
    for block in markdown.split("\n\n"):  # every row as many cells as its table's header
        rows = [line for line in block.splitlines() if line.startswith("|")]
        assert len({len(re.findall(r"(?<!\\)\|", row)) for row in rows}) <= 1, block
    assert f"| {HOSTILE_MD} |" in markdown and "| &lt;img src=x onerror=alert(1)&gt; |" in markdown
    assert "<script>" not in (out / "matrix.html").read_text()


def test_envs_gated_by_different_statistics_are_compared_by_the_final_accuracy(tmp_path, monkeypatch):
    """An env judged by the last-10 mean beside one judged by the final epoch: the delta compares
    like with like (the final accuracy of both), never one statistic against the other."""
    from mnist_mlp.judging.gates import accuracy

    sections = {"numpy-v1": {"statistic": {"last_epochs": 10}}, "keras": {}}
    monkeypatch.setattr(accuracy, "section_of", lambda result: sections[result.draws])
    seeds = {"new": {0: {"arch1_relu": 0.981}, 1: {"arch1_relu": 0.983}},
             "old": {0: {"arch1_relu": 0.981}, 1: {"arch1_relu": 0.983}}}
    new = matrix.load_env_run(write_env(tmp_path, "new", seeds, **OWN_DRAWS))
    old = matrix.load_env_run(write_env(tmp_path, "old", seeds))
    delta = matrix.build_matrix([new, old], "new", lambda r: None).cells["arch1_relu", "old"].accuracy_delta
    assert delta.delta == pytest.approx(0.0, abs=1e-12)  # the same final accuracies
    # each cell still shows (and gates) its own stack's statistic
    table = matrix.build_matrix([new, old], "new", lambda r: None)
    assert table.cells["arch1_relu", "new"].mean < 0.982 - 1e-4  # last-10 mean of a rising curve
    assert table.cells["arch1_relu", "old"].mean == pytest.approx(0.982)


def save_configs(env_folder, change=None):
    """Each model's golden description (Keras 3, the notebook's fit) saved beside its results, as
    training saves it; ``change(model, description)`` plants a difference."""
    from mnist_mlp.judging import trained_config

    for seed_folder in env_folder.iterdir():
        for model in MODELS:
            description = json.loads(json.dumps(trained_config.expected(model, "3")))
            if change:
                change(model, description)
            (seed_folder / model / trained_config.SAVED).write_text(json.dumps(description))


def test_a_changed_default_is_named_against_the_reference_and_golden(tmp_path):
    """Planted: Adam's epsilon 1e-3 in one env (a Keras release changing a default); nothing else
    differs, and the accuracies are the same."""
    ref = write_env(tmp_path, "py313-tf221")
    other = write_env(tmp_path, "py310-tf215", seeds={"py310-tf215": ACCURACY["py313-tf221"]})
    save_configs(ref)
    save_configs(other, lambda model, d: d["optimizer"].update(epsilon=0.001))
    table = matrix.build_matrix([matrix.load_env_run(ref), matrix.load_env_run(other)], None, lambda r: None)
    assert table.drift["py313-tf221"] == []
    assert table.drift["py310-tf215"] == [
        "arch1_relu (golden): optimizer.epsilon: expected 1e-07, got 0.001",
        "arch1_relu: optimizer.epsilon: expected 1e-07, got 0.001",
        "softmax (golden): optimizer.epsilon: expected 1e-07, got 0.001",
        "softmax: optimizer.epsilon: expected 1e-07, got 0.001",
    ]
    out = tmp_path / "report"
    assert cli.main(["matrix", str(ref), str(other), "--out", str(out)]) == 0
    markdown = (out / "matrix.md").read_text()
    assert "| py310-tf215 | arch1_relu: optimizer.epsilon: expected 1e-07, got 0.001 |" in markdown
    assert "| py313-tf221 | none |" in markdown


def test_runs_saved_before_descriptions_show_no_drift(two_envs):
    table = matrix.build_matrix(two_envs, None, lambda r: None)
    assert table.drift == {"py313-tf221": [], "py310-tf215": []}


def test_a_stray_or_damaged_description_is_named_never_a_crash(tmp_path):
    """A description without its result (an interrupted retrain) is ignored; a damaged one is a
    line of the drift, not an error."""
    from mnist_mlp.judging import trained_config

    env = write_env(tmp_path, "py313-tf221")
    (env / "seed-0" / "arch1_bn").mkdir()
    (env / "seed-0" / "arch1_bn" / trained_config.SAVED).write_text('{"fit": {"epochs": 20}}')
    (env / "seed-0" / "softmax" / trained_config.SAVED).write_text("{not json")
    table = matrix.build_matrix([matrix.load_env_run(env)], None, lambda r: None)
    (line,) = table.drift["py313-tf221"]
    assert line.startswith("softmax: ") and "malformed trained_config.json" in line


def test_envs_trained_on_different_images_are_refused_naming_both(tmp_path, capsys):
    """A subset run (MNIST_MLP_LIMIT) beside a full one would show its accuracy as a delta."""
    ref = write_env(tmp_path, "py313-tf221")
    subset = write_env(tmp_path, "py310-tf215", data={"train_images": 512, "test_images": 128})
    with pytest.raises(matrix.MatrixError, match="train_images 512 vs 60000"):
        matrix.build_matrix([matrix.load_env_run(ref), matrix.load_env_run(subset)], None, lambda r: None)
    code = cli.main(["matrix", str(ref), str(subset), "--out", str(tmp_path / "report")])
    assert code == 2 and "train_images 512 vs 60000" in capsys.readouterr().err


def test_a_result_in_another_seeds_folder_is_refused(tmp_path):
    env = write_env(tmp_path, "py313-tf221")
    (env / "seed-0" / "arch1_relu" / "result.json").replace(tmp_path / "kept.json")
    (env / "seed-1" / "arch1_relu" / "result.json").replace(env / "seed-0" / "arch1_relu" / "result.json")
    (tmp_path / "kept.json").replace(env / "seed-1" / "arch1_relu" / "result.json")
    swapped = "seed-0/arch1_relu/result.json: holds seed 1's result, not seed 0's"
    with pytest.raises(ResultError, match=swapped):  # results.load_run's rule, for every reader
        matrix.seed_runs(env)

