"""The README is a user's page and docs/ holds the rest: the generated accuracy-gate page matches
golden/measured/gates.json, the README stays short with both commands and their cost near the top, its
layout names every module. Pure: no Keras, no MNIST."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from mnist_mlp.report import docs_tables

TREE = Path(__file__).resolve().parent.parent
README = (TREE / "README.md").read_text("utf-8")
GATES = json.loads((TREE / "golden" / "measured" / "gates.json").read_text("utf-8"))
DOCS = ("architecture", "upgrade", "accuracy-gate", "performance", "matrix", "robustness", "ci")


def test_accuracy_gates_page_is_what_gates_json_renders():
    page = (TREE / "docs" / "results" / "accuracy-gates.md").read_text("utf-8")
    assert page == docs_tables.render(GATES), "run: python -m mnist_mlp.report.docs_tables"
    page_path = TREE / "docs" / "results" / "accuracy-gates.md"
    assert docs_tables.main(["--check", "--out", str(page_path)]) == 0


def test_a_changed_threshold_changes_the_rendered_page(tmp_path):
    planted = copy.deepcopy(GATES)
    section = next(iter(planted["backends"].values()))
    entry = next(iter(section["models"].values()))
    entry["min_test_accuracy"] = round(entry["min_test_accuracy"] - 0.0123, 4)
    changed = docs_tables.render(planted)
    assert changed != docs_tables.render(GATES)
    assert f"| {docs_tables._pct(entry['min_test_accuracy'])} |" in changed
    # the same through the command, on a copy of the file: --check sees the stale page
    path = tmp_path / "gates.json"
    path.write_text(json.dumps(planted), "utf-8")
    page = TREE / "docs" / "results" / "accuracy-gates.md"
    assert docs_tables.main(["--gates", str(path), "--out", str(page), "--check"]) == 1


def test_the_mean_gate_line_and_every_section_are_rendered():
    page = docs_tables.render(GATES)
    for name, section in GATES["backends"].items():
        assert f"## `{name}`" in page
        assert (f"min_mean_test_accuracy (the mean of the notebook's seven): "
                f"{section['min_mean_test_accuracy'] * 100:.2f} %") in page
        for model in section["models"]:
            assert f"| {model} | " in page


def test_optional_and_missing_fields_render_without_error():
    planted = copy.deepcopy(GATES)
    section = next(iter(planted["backends"].values()))
    section["statistic"] = "mean of the last 5 epochs' test accuracy"
    section["future_key"] = {"anything": 1}
    model = next(iter(section["models"].values()))
    del model["detects_drop"], model["sd"]
    page = docs_tables.render(planted)
    assert "Statistic: mean of the last 5 epochs' test accuracy" in page
    assert docs_tables.render({"backends": {"empty": {}}}).count("## `empty`") == 1


def test_seed_ranges_are_compact():
    assert docs_tables._seeds(["1", "2", "3", "5", "7", "8"]) == "1-3, 5, 7-8"
    assert docs_tables._seeds([]) == "-"


def test_readme_is_short():
    assert len(README.splitlines()) <= 120


def test_readme_first_40_lines_give_both_commands_with_their_cost_and_the_developer_loop():
    head = "\n".join(README.splitlines()[:40])
    assert "tox -e reproduce" in head and "pip install tox && tox p " in head + " "
    assert re.search(r"`tox p`: \*\*\d+-\d+ minutes", head), "the tox run's time"
    assert re.search(r"\d+ minutes", head.split("tox -e reproduce`:", 1)[1]), "reproduce's time"
    assert "GiB" in head
    assert "pip install -e" in head


def test_readme_has_no_dates():
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", README)


@pytest.mark.parametrize("page", sorted((TREE / "docs").glob("*.md")), ids=lambda p: p.name)
def test_design_docs_state_rules_not_history(page):
    """Dated lines belong in CHANGELOG.md or a measured page of docs/results/, not in the design."""
    dated = [line for line in page.read_text("utf-8").splitlines()
             if re.search(r"\b20\d\d-\d\d-\d\d\b", line)]
    assert dated == []


@pytest.mark.parametrize("path", sorted(
    p.relative_to(TREE).as_posix()
    for folder in ("mnist_mlp", "benchmarks") for p in (TREE / folder).rglob("*.py")))
def test_every_module_is_in_the_architecture_module_map(path):
    """The module map lives once, in docs/architecture.md; the README links it and has none."""
    architecture = (TREE / "docs" / "architecture.md").read_text("utf-8")
    modules = architecture.split("## Modules", 1)[1].split("\n## The seams", 1)[0]
    assert Path(path).name in modules, f"{path} missing from docs/architecture.md's module map"
    assert "## Layout" not in README and f"`{path}`" not in README


@pytest.mark.parametrize("name", DOCS)
def test_each_doc_exists_and_the_readme_links_it(name):
    assert (TREE / "docs" / f"{name}.md").is_file()
    assert f"(docs/{name}.md)" in README


def test_the_accuracy_gate_doc_keeps_the_section_for_the_new_statistic():
    text = (TREE / "docs" / "accuracy-gate.md").read_text("utf-8")
    assert "## Statistic and random draws" in text


def test_relative_links_in_readme_and_docs_resolve():
    pages = [TREE / "README.md", *sorted((TREE / "docs").rglob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", page.read_text("utf-8")):
            assert (page.parent / target).exists(), f"{page.relative_to(TREE)} -> {target}"


def test_every_row_of_the_robustness_contract_names_a_test_that_exists():
    """docs/robustness.md's contract table: each row's exit code is one of the CLI's, and the
    tests it names (the ones that plant that input) exist."""
    page = (TREE / "docs" / "robustness.md").read_text()
    section = page.split("## The contract", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) >= 18
    defined = set(re.findall(r"^def (test_\w+)", "\n".join(
        path.read_text() for path in (TREE / "tests").glob("test_*.py")), re.MULTILINE))
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[1] in {"0", "1", "2", "3", "130"} or cells[1].startswith("("), row
        named = re.findall(r"`(test_\w+)`", cells[-1])
        assert named and set(named) <= defined, (row, set(named) - defined)
