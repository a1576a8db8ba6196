"""Paired tests and a bootstrap CI in numpy + math only (analysis stays scipy-free).

Tests cross-check these against scipy where it happens to be installed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

ALTERNATIVES = ("greater", "less", "two-sided")


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom."""
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return tail if t > 0 else 1.0 - tail


def normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def _tail(sf_stat: float, cdf_side: float, alternative: str) -> float:
    """p-value from P(stat >= obs) and P(stat <= obs)."""
    if alternative == "greater":
        return sf_stat
    if alternative == "less":
        return cdf_side
    return min(1.0, 2.0 * min(sf_stat, cdf_side))


def _check(alternative: str) -> None:
    if alternative not in ALTERNATIVES:
        raise ValueError(f"unknown alternative {alternative!r}; known: {', '.join(ALTERNATIVES)}")


@dataclass(frozen=True)
class TestResult:
    statistic: float
    pvalue: float


def paired_t(diffs: Sequence[float], alternative: str = "greater") -> TestResult:
    """Paired t-test on differences (H1 for "greater": mean difference > 0).

    Identical differences (zero spread) give t = +-inf (p 0 or 1), or p = 1 when all zero.
    """
    _check(alternative)
    d = np.asarray(diffs, dtype=float)
    n = d.size
    if n < 2:
        return TestResult(float("nan"), float("nan"))
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    if sd == 0.0:
        if mean == 0.0:
            return TestResult(0.0, 1.0)
        t = math.copysign(math.inf, mean)
    else:
        t = mean / (sd / math.sqrt(n))
    upper = t_sf(t, n - 1)
    return TestResult(t, _tail(upper, 1.0 - upper, alternative))


def _signed_rank_counts(doubled_ranks: np.ndarray) -> np.ndarray:
    """Sign patterns giving each 2*W+ (ranks doubled so tied half-ranks are integers)."""
    counts = np.zeros(int(doubled_ranks.sum()) + 1, dtype=float)
    counts[0] = 1.0
    for r in doubled_ranks.astype(int):
        counts[r:] = counts[r:] + counts[: counts.size - r].copy()
    return counts


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (1-based), ties sharing the mean rank."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(values.size)
    sorted_vals = values[order]
    i = 0
    while i < values.size:
        j = i
        while j + 1 < values.size and sorted_vals[j + 1] == sorted_vals[i]:
            j += 1
        ranks[order[i: j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def wilcoxon_signed_rank(diffs: Sequence[float], alternative: str = "greater") -> TestResult:
    """Wilcoxon signed-rank test (zero differences dropped), statistic W+.

    Exact null distribution for n <= 50 (conditional on tied ranks), normal approximation
    with tie correction above: the p-values scipy's default gives.
    """
    _check(alternative)
    d = np.asarray(diffs, dtype=float)
    d = d[d != 0.0]
    n = d.size
    if n == 0:
        return TestResult(0.0, 1.0)
    ranks = _ranks(np.abs(d))
    w_plus = float(ranks[d > 0].sum())
    if n <= 50:
        probs = _signed_rank_counts(2 * ranks)
        probs /= probs.sum()
        k = int(round(2 * w_plus))
        return TestResult(w_plus, _tail(float(probs[k:].sum()), float(probs[: k + 1].sum()),
                                        alternative))
    mean = n * (n + 1) / 4.0
    _, tie_counts = np.unique(np.abs(d), return_counts=True)
    var = n * (n + 1) * (2 * n + 1) / 24.0 - float((tie_counts ** 3 - tie_counts).sum()) / 48.0
    z = (w_plus - mean) / math.sqrt(var) if var > 0 else 0.0
    upper = normal_sf(z)
    return TestResult(w_plus, _tail(upper, 1.0 - upper, alternative))


def bootstrap_ci(diffs: Sequence[float], *, confidence: float = 0.95, resamples: int = 10_000,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean (seeded, so a report is reproducible)."""
    d = np.asarray(diffs, dtype=float)
    if d.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, size=(resamples, d.size))].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(low), float(high)
