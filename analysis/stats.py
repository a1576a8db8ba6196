"""Tests, intervals, multiple testing and power, all from scipy.stats and statsmodels.

Nothing here computes a distribution by hand: a reviewer can check every number against one
library call (tests/test_stats_library.py does, to 1e-9). The rules that use these live in
``analysis.rules``, ``analysis.claims`` and the kinds' claims in ``analysis.kinds``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower
from statsmodels.stats.weightstats import DescrStatsW

ALTERNATIVES = ("greater", "less", "two-sided")
BOOTSTRAP_MIN = 10   # below this a percentile bootstrap of the mean is about [min, max]
MAX_SEEDS = 10_000   # seeds_for_power gives up beyond this


def _check(alternative: str) -> None:
    if alternative not in ALTERNATIVES:
        raise ValueError(f"unknown alternative {alternative!r}; known: {', '.join(ALTERNATIVES)}")


def _array(values: Sequence[float]) -> np.ndarray:
    return np.asarray(values, dtype=float)


def _no_spread(values: np.ndarray) -> bool:
    """Identical values, up to float rounding (e.g. 0.1 - 0.1 over seeds): scipy has no t."""
    return float(np.ptp(values)) <= 1e-12 * max(1.0, float(np.abs(values).max()))


@dataclass(frozen=True)
class TestResult:
    statistic: float
    pvalue: float


def paired_t(diffs: Sequence[float], alternative: str = "greater",
             null: float = 0.0) -> TestResult:
    """One-sample t-test of paired differences against ``null`` (scipy ``ttest_1samp``).

    H1 for "greater": mean difference > null. Identical differences (no spread), where
    scipy has no t, give t = +-inf (p 0 or 1), or t = 0, p = 1 when they equal ``null``.
    """
    _check(alternative)
    d = _array(diffs)
    if d.size < 2:
        return TestResult(float("nan"), float("nan"))
    if _no_spread(d):
        shift = float(d.mean()) - null
        if abs(shift) <= 1e-12 * max(1.0, abs(null)):
            return TestResult(0.0, 1.0)
        upper = 0.0 if shift > 0 else 1.0
        p = {"greater": upper, "less": 1.0 - upper, "two-sided": 0.0}[alternative]
        return TestResult(math.copysign(math.inf, shift), p)
    res = sps.ttest_1samp(d, null, alternative=alternative)
    return TestResult(float(res.statistic), float(res.pvalue))


def wilcoxon_signed_rank(diffs: Sequence[float], alternative: str = "greater") -> TestResult:
    """scipy's Wilcoxon signed-rank test (zero differences dropped); all zero: p = 1."""
    _check(alternative)
    d = _array(diffs)
    if not np.any(d != 0.0):
        return TestResult(0.0, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "exact p not available with ties"
        res = sps.wilcoxon(d, alternative=alternative)
    return TestResult(float(res.statistic), float(res.pvalue))


@dataclass(frozen=True)
class Sample:
    """n, mean and standard deviation (ddof 1) of a sample: what every t quantity needs."""

    n: int
    mean: float
    sd: float

    @classmethod
    def of(cls, values: Sequence[float]) -> "Sample":
        """From values; identical ones (up to float rounding) have SD exactly 0."""
        v = _array(values)
        v = v[np.isfinite(v)]
        sd = float("nan") if v.size < 2 else 0.0 if _no_spread(v) else float(v.std(ddof=1))
        return cls(int(v.size), float(v.mean()) if v.size else float("nan"), sd)

    @property
    def se(self) -> float:
        return self.sd / math.sqrt(self.n) if self.n > 1 else float("nan")


def t_test(sample: Sample, null: float = 0.0, alternative: str = "greater") -> TestResult:
    """The one-sample t-test from a sample's n, mean and SD (scipy's t distribution): what
    ``paired_t`` gives on the values themselves, for rows that keep only their summary."""
    _check(alternative)
    if sample.n < 2 or not np.isfinite(sample.sd):
        return TestResult(float("nan"), float("nan"))
    shift = sample.mean - null
    if sample.sd == 0.0:
        return paired_t([sample.mean] * sample.n, alternative, null)
    t = shift / sample.se
    df = sample.n - 1
    p = {"greater": sps.t.sf(t, df), "less": sps.t.cdf(t, df),
         "two-sided": 2 * sps.t.sf(abs(t), df)}[alternative]
    return TestResult(float(t), float(min(1.0, p)))


def t_quantile(confidence: float, n: int) -> float:
    """The one-sided ``confidence`` quantile of Student's t with n - 1 df (scipy)."""
    return float(sps.t.ppf(confidence, n - 1)) if n > 1 else float("nan")


def t_interval(values: Sequence[float] | Sample, confidence: float = 0.95
               ) -> tuple[float, float]:
    """Two-sided t confidence interval of the mean (scipy ``t.interval``)."""
    s = values if isinstance(values, Sample) else Sample.of(values)
    if s.n < 2:
        return float("nan"), float("nan")
    if s.sd == 0.0:
        return s.mean, s.mean
    low, high = sps.t.interval(confidence, s.n - 1, loc=s.mean, scale=s.se)
    return float(low), float(high)


def t_bound(values: Sequence[float] | Sample, side: str, confidence: float = 0.95) -> float:
    """One-sided t confidence bound of the mean: ``side`` "lower" or "upper"."""
    if side not in ("lower", "upper"):
        raise ValueError(f"side must be 'lower' or 'upper', got {side!r}")
    s = values if isinstance(values, Sample) else Sample.of(values)
    if s.n < 2:
        return float("nan")
    step = t_quantile(confidence, s.n) * s.se if s.sd > 0 else 0.0
    return s.mean - step if side == "lower" else s.mean + step


def tost(values: Sequence[float], low: float, high: float) -> TestResult:
    """Two one-sided t-tests of equivalence: H1 low < mean < high (statsmodels
    ``DescrStatsW.ttost_mean``, the one-sample form of ``ttost_paired``); the p-value is the
    larger of the two one-sided ones."""
    v = _array(values)
    if v.size < 2:
        return TestResult(float("nan"), float("nan"))
    if _no_spread(v):
        inside = low < float(v.mean()) < high
        return TestResult(float("nan"), 0.0 if inside else 1.0)
    p, lower, upper = DescrStatsW(v).ttost_mean(low, high)
    stat = lower[0] if lower[1] >= upper[1] else upper[0]
    return TestResult(float(stat), float(p))


def holm(pvalues: Sequence[float], alpha: float = 0.05) -> np.ndarray:
    """Holm-adjusted p-values (statsmodels ``multipletests(method="holm")``); NaN stays NaN
    and does not count towards the family size."""
    p = _array(pvalues)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], alpha=alpha, method="holm")[1]
    return out


def seeds_for_power(effect: float, sd: float, *, alpha: float = 0.05,
                    power: float = 0.8) -> int | None:
    """Seeds (pairs) a one-sided t-test needs for ``power`` at level ``alpha`` when the true
    effect (distance from the null, in the data's unit) is ``effect`` and the SD is ``sd``
    (statsmodels ``TTestPower``). None: no number of seeds decides (effect <= 0, or more
    than ``MAX_SEEDS``)."""
    if not (np.isfinite(effect) and effect > 0):
        return None
    if not np.isfinite(sd):
        return None
    if sd == 0.0:
        return 2
    size = effect / sd

    def power_at(n: int) -> float:
        return float(TTestPower().power(effect_size=size, nobs=n, alpha=alpha,
                                        alternative="larger"))

    # the smallest n reaching the power: what ceil(TTestPower().solve_power(...)) gives, by
    # bisection on the library's power function (its root finder fails for large n)
    if power_at(MAX_SEEDS) < power:
        return None
    low, high = 2, MAX_SEEDS
    while low < high:
        mid = (low + high) // 2
        if power_at(mid) >= power:
            high = mid
        else:
            low = mid + 1
    return low


def bootstrap_ci(values: Sequence[float], *, confidence: float = 0.95,
                 resamples: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean (scipy ``bootstrap``, seeded): only from
    ``BOOTSTRAP_MIN`` values up, since with 3 seeds it is about [min, max] and covers the
    mean about 75% of the time, not 95%."""
    v = _array(values)
    if v.size < BOOTSTRAP_MIN:
        raise ValueError(f"a bootstrap interval needs at least {BOOTSTRAP_MIN} values, "
                         f"got {v.size}")
    if _no_spread(v):
        return float(v[0]), float(v[0])
    res = sps.bootstrap((v,), np.mean, confidence_level=confidence, n_resamples=resamples,
                        method="percentile", random_state=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)
