"""The gate and matrix statistics against textbook values (t table, hand arithmetic), never
against scipy calls made the same way as the code under test."""

from __future__ import annotations

import math

import pytest

from mnist_mlp.judging import stats

# Student's t quantiles from a printed table: t(0.95, df=2) and t(0.999, df=4).
T_95_DF2 = 2.919986
T_999_DF4 = 7.173182
Z_90 = 1.281552  # standard normal 0.90 quantile


def test_prediction_bound_is_mean_minus_t_sd_sqrt_one_plus_one_over_n():
    # mean 0.98, sd 0.01, n 3: 0.98 - 2.919986 * 0.01 * sqrt(4/3)
    assert stats.prediction_lower_bound([0.97, 0.98, 0.99], alpha=0.05) == pytest.approx(
        0.98 - T_95_DF2 * 0.01 * math.sqrt(4 / 3), abs=1e-7)
    assert stats.prediction_lower_bound([0.97, 0.98, 0.99], alpha=0.05) == pytest.approx(0.946283, abs=1e-6)


def test_prediction_bound_for_a_mean_of_several_new_seeds_is_tighter():
    five = [0.980, 0.982, 0.978, 0.981, 0.979]  # mean 0.98, squares 1e-5 over 4 df
    sd = math.sqrt(1e-5 / 4)
    assert stats.prediction_lower_bound(five, alpha=0.001) == pytest.approx(
        0.98 - T_999_DF4 * sd * math.sqrt(1 + 1 / 5), abs=1e-7)
    assert stats.prediction_lower_bound(five, alpha=0.001, new_runs=4) == pytest.approx(
        0.98 - T_999_DF4 * sd * math.sqrt(1 / 4 + 1 / 5), abs=1e-7)


@pytest.mark.parametrize("values, alpha, runs", [([0.98], 0.01, 1), ([0.9, 0.91], 0.0, 1),
                                                 ([0.9, 0.91], 1.0, 1), ([0.9, 0.91], 0.01, 0)])
def test_prediction_bound_rejects_what_cannot_be_a_bound(values, alpha, runs):
    with pytest.raises(ValueError):
        stats.prediction_lower_bound(values, alpha=alpha, new_runs=runs)


def test_detectable_drop_at_half_power_is_the_gap_to_the_bound_and_grows_with_power():
    values = [0.97, 0.98, 0.99]
    assert stats.detectable_drop(values, 0.95, power=0.5) == pytest.approx(0.03, abs=1e-12)
    assert stats.detectable_drop(values, 0.95, power=0.9) == pytest.approx(0.03 + Z_90 * 0.01, abs=1e-6)
    assert stats.detectable_drop(values, 0.95, power=0.9, new_runs=4) == pytest.approx(
        0.03 + Z_90 * 0.01 / 2, abs=1e-6)


def test_familywise_rate_of_eight_gates():
    assert stats.familywise_rate(0.001, 8) == pytest.approx(1 - 0.999 ** 8)
    assert stats.familywise_rate(0.001, 8) == pytest.approx(0.007972, abs=1e-6)


def test_welch_difference_matches_the_hand_computed_t_test():
    # t = (5 - 2) / sqrt(1/3 + 1/3) = 3.674235, df = 4 (equal variances, equal n): p = 0.021312
    diff = stats.welch_difference([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    assert diff.delta == 3.0
    assert diff.p_value == pytest.approx(0.021312, abs=1e-5)
    assert diff.significant and diff.test == "Welch t"
    assert not stats.welch_difference([1.0, 2.0, 3.0], [4.0, 5.0, 6.0], alpha=0.02).significant


def test_welch_difference_needs_two_seeds_a_side():
    diff = stats.welch_difference([0.98], [0.95, 0.96])
    assert diff.p_value is None and not diff.significant
    assert diff.delta == pytest.approx(-0.025)


def test_welch_difference_without_spread():
    assert stats.welch_difference([0.98, 0.98], [0.98, 0.98]).p_value == 1.0
    same_spreadless = stats.welch_difference([0.98, 0.98], [0.97, 0.97])
    assert same_spreadless.p_value == 0.0 and same_spreadless.significant


def test_welch_difference_uses_unequal_variances():
    # reference var 1 (n 3), candidate var 8 (n 2): se^2 = 1/3 + 8/2, t = 2 / se,
    # Welch-Satterthwaite df = se^4 / ((1/3)^2 / 2 + 4^2 / 1); a pooled test would use df 3.
    from scipy.stats import t as student_t

    se2 = 1 / 3 + 4
    t_value = 2 / math.sqrt(se2)
    df = se2**2 / ((1 / 3) ** 2 / 2 + 16)
    assert df == pytest.approx(1.16955, abs=1e-5)
    diff = stats.welch_difference([1.0, 2.0, 3.0], [2.0, 6.0])
    assert diff.p_value == pytest.approx(2 * student_t.sf(t_value, df), abs=1e-9)
