"""docs/results/power-demonstration.md is what benchmarks/power_demonstration.py renders from the
kept runs (benchmarks/results/power-demonstration/) and today's golden/gates.json."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

TREE = Path(__file__).resolve().parent.parent
KEPT = TREE / "benchmarks" / "results" / "power-demonstration"
PAGE = TREE / "docs" / "results" / "power-demonstration.md"


def demonstration():
    spec = importlib.util.spec_from_file_location("power_demonstration",
                                                  TREE / "benchmarks" / "power_demonstration.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_page_is_what_the_kept_runs_render():
    page = demonstration().render(KEPT / "clean", KEPT / "label_noise_07pct", "arch1_relu", 4)
    assert page == PAGE.read_text("utf-8"), "rerun benchmarks/power_demonstration.py --write"
    assert "caught by the gate in 10/10" in page and "quiet in 10/10" in page


def test_a_missed_try_shows_on_the_page(tmp_path):
    """Planted: the defect's seeds 101-104 replaced by the clean runs: try 1 is missed."""
    planted = tmp_path / "label_noise_07pct"
    shutil.copytree(KEPT / "label_noise_07pct", planted)
    for seed in range(101, 105):
        shutil.copy(KEPT / "clean" / f"seed-{seed}" / "arch1_relu" / "result.json",
                    planted / f"seed-{seed}" / "arch1_relu" / "result.json")
    page = demonstration().render(KEPT / "clean", planted, "arch1_relu", 4)
    assert "caught by the gate in 9/10" in page
    assert "| 1 | 101-104 | PASS (quiet) | PASS (missed) | identical | +0.000 |" in page
