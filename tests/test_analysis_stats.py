"""Statistics, the noise-robustness hypothesis test and the continual metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import continual as C
from analysis.grouping import setting_columns, summarize
from analysis.hypothesis import (NOT_SHOWN, SUPPORTED, UNTESTABLE, hypothesis_summary,
                                 noise_hypothesis)
from analysis.stats import bootstrap_ci, paired_t, wilcoxon_signed_rank


def test_paired_t_known_values():
    res = paired_t([1, 2, 3, 4], "greater")
    assert res.statistic == pytest.approx(2.5 / (np.std([1, 2, 3, 4], ddof=1) / 2))
    assert res.pvalue == pytest.approx(0.015233145831085489, abs=1e-12)
    assert paired_t([0, 0, 0]).pvalue == 1.0          # no difference at all
    assert paired_t([5, 5, 5], "greater").pvalue == 0.0  # constant positive shift
    assert paired_t([5, 5, 5], "less").pvalue == 1.0


def test_wilcoxon_exact_small_sample():
    assert wilcoxon_signed_rank([1, 2, 3, 4, 5, 6], "greater").pvalue == pytest.approx(1 / 64)
    assert wilcoxon_signed_rank([1, 2, 3, 4, 5, 6], "less").pvalue == pytest.approx(1.0)
    assert wilcoxon_signed_rank([-1, 2, 3, 4, 5, 6], "two-sided").pvalue == pytest.approx(4 / 64)


def test_stats_agree_with_scipy_when_installed():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(3)
    for n in (3, 7, 12):
        for shift in (-0.4, 0.0, 0.8):
            d = rng.normal(shift, 1.0, n)
            for alt in ("greater", "less", "two-sided"):
                assert paired_t(d, alt).pvalue == pytest.approx(
                    stats.ttest_1samp(d, 0.0, alternative=alt).pvalue, abs=1e-10)
                assert wilcoxon_signed_rank(d, alt).pvalue == pytest.approx(
                    stats.wilcoxon(d, alternative=alt).pvalue, abs=1e-10)


def test_bootstrap_ci_is_seeded_brackets_the_mean_and_needs_ten_values():
    d = np.array([3.0, 5.0, 4.0, 6.0, 2.0, 5.0, 4.5, 3.5, 5.5, 4.0])
    lo, hi = bootstrap_ci(d)
    assert (lo, hi) == bootstrap_ci(d)
    assert lo < d.mean() < hi
    assert bootstrap_ci([2.0] * 10) == (2.0, 2.0)
    with pytest.raises(ValueError, match="at least 10"):
        bootstrap_ci(d[:6])  # with few seeds it is about the seed range, not a 95% CI


def _scores(effects: dict[str, float], seeds: int = 7) -> pd.DataFrame:
    """Noise scores per seed: dense around 9000 (seed-dependent), others = dense + effect."""
    rows = []
    rng = np.random.default_rng(0)
    for seed in range(seeds):
        dense = 9000 + 300 * seed
        rows.append({"seed": seed, "network": "dense", "weights_remaining": 1.0,
                     "noise": "set_2sigma", "score": dense})
        rows.append({"seed": seed, "network": "control:dense", "weights_remaining": 1.0,
                     "noise": "set_2sigma", "score": dense})
        for net, effect in effects.items():
            wr = 1.0 if "activation" in net else float(net.split("@")[1]) if "@" in net else 0.3
            rows.append({"seed": seed, "network": net, "weights_remaining": wr,
                         "noise": "set_2sigma", "score": dense + effect + rng.normal(0, 40)})
    return pd.DataFrame(rows)


def test_paired_test_verdicts_better_worse_equal():
    scores = _scores({"winning@0.3": +400, "winning@0.2": -400, "winning@0.033": 0,
                      "control:activation_sparse": +500, "control:weight_sparse": -300})
    tests = noise_hypothesis(scores).set_index(["candidate", "weights_remaining"])
    better = tests.loc[("winning", 0.3)]
    assert better["verdict"] == SUPPORTED and better["n"] == 7
    assert better["ci_low"] > 0 and better["text"].startswith("Supported")
    assert not np.isnan(better["p_wilcoxon"])  # n >= 6
    worse = tests.loc[("winning", 0.2)]
    assert worse["verdict"] == NOT_SHOWN and "significantly lower" in worse["text"]
    assert worse["text"].startswith("Not shown")  # never "rejected" on a non-significant p
    assert "80.0% pruned" in worse["text"] and "n=7 seeds" in worse["text"]
    equal = tests.loc[("winning", 0.033)]
    assert equal["verdict"] == NOT_SHOWN and "no significant difference" in equal["text"]
    assert equal["ci_low"] < 0 < equal["ci_high"]
    assert tests.loc[("control:activation_sparse", 1.0)]["verdict"] == SUPPORTED
    assert tests.loc[("control:activation_sparse", 1.0)]["reference"] == "control:dense"
    assert tests.loc[("control:weight_sparse", 0.3)]["verdict"] == NOT_SHOWN


def test_paired_test_untestable_with_two_seeds_and_pairs_by_seed():
    scores = _scores({"winning@0.3": +400}, seeds=2)
    tests = noise_hypothesis(scores)
    row = tests.iloc[0]
    assert row["verdict"] == UNTESTABLE and row["n"] == 2
    assert "needs at least 3" in row["text"]
    assert hypothesis_summary(tests) == [
        "1 comparison(s) untestable: fewer than 3 paired seeds (at most n=2)."]
    # a sparse network of a seed without its dense partner is not paired
    more = _scores({"winning@0.3": +400}, seeds=4)
    more = more[~((more["network"] == "dense") & (more["seed"] == 3))]
    assert noise_hypothesis(more).iloc[0]["n"] == 3


def test_forgetting_and_bwt_on_a_known_matrix():
    r = np.array([[0.9, np.nan, np.nan],
                  [0.8, 0.95, np.nan],
                  [0.7, 0.85, 0.99]])
    assert C.mean_accuracy(r) == pytest.approx((0.7 + 0.85 + 0.99) / 3)
    assert C.forgetting(r) == pytest.approx(((0.9 - 0.7) + (0.95 - 0.85)) / 2)
    assert C.bwt(r) == pytest.approx(((0.7 - 0.9) + (0.85 - 0.95)) / 2)
    assert C.running_mean(r) == pytest.approx([0.9, 0.875, (0.7 + 0.85 + 0.99) / 3])
    partial = r.copy()
    partial[2] = np.nan  # the third task not trained yet
    assert C.forgetting(partial) == pytest.approx(0.1)
    assert np.isnan(C.bwt(r[:1, :1]))


def test_summarize_counts_seeds_not_trials():
    frame = pd.DataFrame({"seed": [0, 0, 1, 2], "arm": "a", "acc": [0.5, 0.7, 0.8, 0.9]})
    out = summarize(frame, ["arm"], "acc").iloc[0]
    assert out["n"] == 3 and out["mean"] == pytest.approx((0.6 + 0.8 + 0.9) / 3)


def test_setting_columns_split_only_what_varies_independently():
    rows = []
    for model, lr in (("adn", 5e-4), ("mlp", 1e-3)):
        for seed in range(2):
            for wd in (0.0, 1e-4):
                rows.append({"model": model, "lr": lr, "seed": seed, "data_seed": 10 + seed,
                             "wd": wd, "data_dir": f"/d{seed}"})
    frame = pd.DataFrame(rows)
    cols = ["model", "lr", "seed", "data_seed", "wd", "data_dir"]
    assert setting_columns(frame, cols, ["model"]) == ["wd"]
    assert setting_columns(frame, cols, []) == ["model", "lr", "wd"]
