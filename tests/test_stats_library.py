"""analysis.stats: every number is the library's (scipy / statsmodels) to 1e-9, and the
intervals cover what they claim to."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower
from statsmodels.stats.weightstats import ttost_paired

from analysis.stats import (Sample, bootstrap_ci, holm, paired_t, seeds_for_power, t_bound,
                            t_interval, t_test, tost, wilcoxon_signed_rank)

TOL = 1e-9
SAMPLES = [np.random.default_rng(seed).normal(shift, 1.3, n)
           for seed, (n, shift) in enumerate([(3, 0.2), (3, -1.0), (5, 0.0), (8, 0.9)])]


@pytest.mark.parametrize("d", SAMPLES)
def test_t_tests_are_scipys(d):
    for alt in ("greater", "less", "two-sided"):
        for null in (0.0, -0.5, 0.7):
            ref = sps.ttest_1samp(d, null, alternative=alt)
            got = paired_t(d, alt, null)
            assert got.pvalue == pytest.approx(ref.pvalue, abs=TOL)
            assert got.statistic == pytest.approx(ref.statistic, abs=TOL)
            # from the summary alone (what claim 2's per-level rows keep)
            assert t_test(Sample.of(d), null, alt).pvalue == pytest.approx(ref.pvalue, abs=TOL)
    # paired by seed: the same as scipy's ttest_rel on the two arms
    base = np.arange(d.size, dtype=float)
    assert paired_t(d, "greater").pvalue == pytest.approx(
        sps.ttest_rel(base + d, base, alternative="greater").pvalue, abs=TOL)
    if d.size >= 5:
        assert wilcoxon_signed_rank(d, "greater").pvalue == pytest.approx(
            sps.wilcoxon(d, alternative="greater").pvalue, abs=TOL)


@pytest.mark.parametrize("d", SAMPLES)
def test_intervals_and_bounds_are_scipys(d):
    for confidence in (0.95, 0.9):
        ci = sps.ttest_1samp(d, 0.0).confidence_interval(confidence)
        assert t_interval(d, confidence) == pytest.approx((ci.low, ci.high), abs=TOL)
        lower = sps.ttest_1samp(d, 0.0, alternative="greater").confidence_interval(confidence)
        upper = sps.ttest_1samp(d, 0.0, alternative="less").confidence_interval(confidence)
        assert t_bound(d, "lower", confidence) == pytest.approx(lower.low, abs=TOL)
        assert t_bound(d, "upper", confidence) == pytest.approx(upper.high, abs=TOL)


@pytest.mark.parametrize("d", SAMPLES)
def test_tost_is_statsmodels(d):
    published = 0.3
    for margin in (0.5, 2.0, 5.0):
        ref = ttost_paired(d + published, np.full(d.size, published), -margin, margin)
        assert tost(d + published, published - margin, published + margin).pvalue == \
            pytest.approx(ref[0], abs=TOL)


def test_tost_decides_both_ways():
    """Equivalent when the 90% interval is inside the margin, never when it is outside."""
    near = np.array([94.4, 94.6, 94.5, 94.55])
    far = np.array([90.1, 89.9, 90.0])
    assert tost(near, 93.55, 95.55).pvalue < 0.01
    assert tost(far, 93.55, 95.55).pvalue > 0.99


def test_holm_is_statsmodels_and_skips_nan():
    p = np.array([0.01, 0.04, 0.03, 0.2])
    assert holm(p) == pytest.approx(multipletests(p, method="holm")[1], abs=TOL)
    with_nan = holm([0.01, np.nan, 0.04])
    assert np.isnan(with_nan[1])
    assert with_nan[[0, 2]] == pytest.approx(multipletests([0.01, 0.04], method="holm")[1])


def test_seeds_for_power_is_ttestpower_and_reaches_the_power():
    effect, sd = 0.7, 1.1
    n = seeds_for_power(effect, sd, alpha=0.05, power=0.8)
    ref = TTestPower().solve_power(effect_size=effect / sd, alpha=0.05, power=0.8,
                                   alternative="larger")
    assert n == math.ceil(ref)
    power = TTestPower().power
    assert power(effect_size=effect / sd, nobs=n, alpha=0.05, alternative="larger") >= 0.8
    assert power(effect_size=effect / sd, nobs=n - 1, alpha=0.05, alternative="larger") < 0.8
    # a small effect at a Holm-split alpha, where solve_power's root finder gives up
    small = seeds_for_power(666.0, 3329.0, alpha=0.025)
    assert power(effect_size=666 / 3329, nobs=small, alpha=0.025, alternative="larger") >= 0.8 > \
        power(effect_size=666 / 3329, nobs=small - 1, alpha=0.025, alternative="larger")
    assert seeds_for_power(0.0, sd) is None and seeds_for_power(-1.0, sd) is None
    assert seeds_for_power(1e-6, sd) is None          # beyond any practical number
    assert seeds_for_power(1.0, 0.0) == 2             # no spread at all


def test_t_interval_covers_the_mean_95_percent_with_three_seeds():
    """2,000 normal samples of n = 3: the 95% t-interval covers the true mean 93-97% of the
    time. Catches: a z (normal) quantile instead of t (about 83%), and the seed range or a
    percentile bootstrap of 3 values called a 95% CI (about 75%)."""
    rng = np.random.default_rng(2024)
    true_mean = 1.5
    hits = 0
    for _ in range(2000):
        low, high = t_interval(rng.normal(true_mean, 2.0, 3), 0.95)
        hits += low <= true_mean <= high
    assert 0.93 <= hits / 2000 <= 0.97
    ranges = rng.normal(true_mean, 2.0, (2000, 3))
    range_cover = np.mean((ranges.min(1) <= true_mean) & (true_mean <= ranges.max(1)))
    assert range_cover < 0.8  # why the seed range must never be called a 95% CI


def test_degenerate_samples_do_not_crash():
    assert paired_t([0, 0, 0]).pvalue == 1.0
    assert paired_t([5, 5, 5], "greater").pvalue == 0.0
    assert paired_t([5, 5, 5], "less").pvalue == 1.0
    assert t_interval([2.0, 2.0, 2.0]) == (2.0, 2.0)
    assert math.isnan(t_interval([1.0])[0]) and math.isnan(paired_t([1.0]).pvalue)
    assert tost([94.5] * 3, 93.55, 95.55).pvalue == 0.0


def test_bootstrap_only_from_ten_values():
    with pytest.raises(ValueError, match="at least 10"):
        bootstrap_ci([1.0, 2.0, 3.0])
    lo, hi = bootstrap_ci(np.arange(12.0), resamples=2000)
    assert lo < 5.5 < hi
