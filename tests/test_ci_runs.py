"""benchmarks/ci_runs.py: tox's closing summary read per env, the peak disk, and the page's rows."""

from __future__ import annotations

import ci_runs

LOG = """py313-tf221: OK ✔ in 2 minutes 4.42 seconds
  py310-tf215: OK (153.00=setup[8.97]+cmd[9.23,115.06,19.74] seconds)
  py312-tf218: FAIL code 1 (132.80=setup[8.63]+cmd[12.11,112.06] seconds)
  py313-tf221: SKIP (0.02 seconds)
  jax: OK (462.86=setup[9.77]+cmd[453.09] seconds)
\x1b[31m  torch: FAIL code -2 (12.30 seconds)\x1b[0m
  lint: IGNORED FAIL code 1 (0.56=setup[0.52]+cmd[0.04] seconds)
  evaluation failed :( (1415.33 seconds)
"""


def test_tox_summary_gives_each_env_its_status_setup_and_commands():
    assert ci_runs.tox_summary(LOG) == {
        "py310-tf215": {"status": "OK", "setup_s": 8.97, "commands_s": [9.23, 115.06, 19.74]},
        "py312-tf218": {"status": "FAIL code 1", "setup_s": 8.63, "commands_s": [12.11, 112.06]},
        "py313-tf221": {"status": "SKIP", "setup_s": 0.0, "commands_s": []},
        "jax": {"status": "OK", "setup_s": 9.77, "commands_s": [453.09]},
        "torch": {"status": "FAIL code -2", "setup_s": 12.3, "commands_s": []},  # failed installing
        "lint": {"status": "IGNORED FAIL code 1", "setup_s": 0.52, "commands_s": [0.04]},
    }


def test_peak_disk_is_the_highest_sample_above_the_first():
    assert ci_runs.peak_rise_gib([10 * 2**30, 13 * 2**30, 11 * 2**30]) == 3.0
    assert ci_runs.peak_rise_gib([]) == 0.0


def test_the_page_sets_each_run_against_the_pip_run():
    pip = ci_runs.make_record("pip-cold", "f5518aa" + "0" * 33, LOG, [0, 2**31], 1500.0, 1)
    uv = ci_runs.make_record("uv-cold", "1234567" + "0" * 33, LOG, [0, 2**30], 900.0, 0)
    page = ci_runs.render([pip, uv])
    assert "| pip-cold | f5518aa |" in page and "| 1500 s | 1.00x | 40 s | 721 s | 2.00 GiB |" in page
    assert "| 900 s | 0.60x |" in page and "| 1.00 GiB |" in page
    assert "| py312-tf218 | 9 + 124 (FAIL code 1) | 9 + 124 (FAIL code 1) |" in page
