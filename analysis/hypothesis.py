"""Claim 2: "weight sparsity alone improves noise robustness", tested per sparsity level.

Each sparse network is paired with the dense network of the same seed (same setting, same
noise type); H1 is one-sided, sparse > dense. The activation-sparsity controls are tested
the same way against ``control:dense``, so the report also shows what does help.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from analysis import keys
from analysis.grouping import level_key, replicate_column, setting_groups
from analysis.markdown import percent
from analysis.rules import MIN_SEEDS
from analysis.stats import (BOOTSTRAP_MIN, Sample, bootstrap_ci, paired_t, t_interval,
                            wilcoxon_signed_rank)

WILCOXON_MIN = 6     # the signed-rank test has no power below this
SUPPORTED, NOT_SHOWN, UNTESTABLE = "supported", "not shown", "untestable"


def compare_paired(candidate: pd.Series, reference: pd.Series, *, alpha: float = 0.05,
                   resamples: int = 10_000, seed: int = 0) -> dict:
    """Paired comparison of two score series indexed by seed (only shared seeds count).

    ``ci_low``/``ci_high``: the two-sided (1 - alpha) t-interval of the mean difference;
    ``boot_low``/``boot_high``: a percentile bootstrap interval, only from ``BOOTSTRAP_MIN``
    seeds up (with fewer it is about the seed range, not a (1 - alpha) interval)."""
    both = pd.concat([candidate.rename("c"), reference.rename("r")], axis=1).dropna()
    diffs = (both["c"] - both["r"]).to_numpy(dtype=float)
    s = Sample.of(diffs)
    n = s.n
    out = {"n": n, "candidate_mean": both["c"].mean() if n else np.nan,
           "reference_mean": both["r"].mean() if n else np.nan,
           "mean_diff": s.mean, "sd_diff": s.sd, "ci_low": np.nan, "ci_high": np.nan,
           "boot_low": np.nan, "boot_high": np.nan,
           "t": np.nan, "p_greater": np.nan, "p_less": np.nan, "p_wilcoxon": np.nan}
    if n >= 2:
        out["ci_low"], out["ci_high"] = t_interval(s, 1 - alpha)
    if n >= BOOTSTRAP_MIN:
        out["boot_low"], out["boot_high"] = bootstrap_ci(diffs, confidence=1 - alpha,
                                                         resamples=resamples, seed=seed)
    if n >= MIN_SEEDS:
        greater = paired_t(diffs, "greater")
        out.update(t=greater.statistic, p_greater=greater.pvalue,
                   p_less=paired_t(diffs, "less").pvalue)
        if n >= WILCOXON_MIN:
            out["p_wilcoxon"] = wilcoxon_signed_rank(diffs, "greater").pvalue
    out["verdict"] = verdict(n, out["p_greater"], alpha)
    return out


def verdict(n: int, p_greater: float, alpha: float = 0.05) -> str:
    """Per level: "supported" when significantly higher; "not shown" otherwise (a
    non-significant test is no evidence of no gain: claim 2's margin rule decides that)."""
    if n < MIN_SEEDS or not np.isfinite(p_greater):
        return UNTESTABLE
    return SUPPORTED if p_greater < alpha else NOT_SHOWN


FAMILY_ORDER = ("weight sparsity (tickets)", "controls")


def format_p(p: float) -> str:
    """``=0.27`` or ``<0.001``: ready to follow "p"."""
    return "—" if not np.isfinite(p) else (f"={p:.2g}" if p >= 0.001 else "<0.001")


def sentence(row: dict, alpha: float = 0.05) -> str:
    """The verdict in plain words, with the numbers that carry it."""
    who, ref, noise = row["subject"], row["reference"], row["noise"]
    n = row["n"]
    if row["verdict"] == UNTESTABLE:
        return (f"Untestable: {who} vs {ref} ({noise}) has {n} paired seed(s); "
                f"a paired test needs at least {MIN_SEEDS}.")
    numbers = (f"mean diff {row['mean_diff']:+.0f} [{100 * (1 - alpha):g}% t-CI "
               f"{row['ci_low']:.0f}, "
               f"{row['ci_high']:.0f}], paired t p{format_p(row['p_greater'])}")
    if np.isfinite(row.get("p_wilcoxon", np.nan)):
        numbers += f", Wilcoxon p{format_p(row['p_wilcoxon'])}"
    numbers += f", n={n} seeds"
    claim = f"the noise score ({noise}) of {who} is"
    if row["verdict"] == SUPPORTED:
        return f"Supported: {claim} higher than that of {ref} ({numbers})."
    tail = (f"; it is significantly lower (p{format_p(row['p_less'])})"
            if row["p_less"] < alpha else "; no significant difference either way")
    return f"Not shown: {claim} not significantly higher than that of {ref} ({numbers}){tail}."


def _per_seed(frame: pd.DataFrame, rep: str) -> pd.Series:
    return frame.groupby(rep)["score"].mean()


def noise_hypothesis(scores: pd.DataFrame, settings: Sequence[str] = (), *,
                     alpha: float = 0.05, resamples: int = 10_000, seed: int = 0
                     ) -> pd.DataFrame:
    """One row per (setting, noise type, sparse network group) with the paired test.

    Tickets (winning, random, reinit) at each weights-remaining level are compared with
    ``dense``; each ``control:*`` network with its dense reference (``keys.control_reference``:
    ``control:dense``, or Numenta's dense CNN-2 for their sparse CNN-2).
    """
    rows = []
    if scores.empty:
        return pd.DataFrame(columns=["family", "noise", "candidate", "reference", "verdict"])
    rep = replicate_column(scores)
    frame = scores.copy()
    frame["_kind"] = frame["network"].map(keys.network_kind)
    frame["_wr"] = level_key(frame[keys.WEIGHTS_REMAINING]).to_numpy() \
        if keys.WEIGHTS_REMAINING in frame else np.nan
    for label, part in setting_groups(frame, settings):
        for noise, cell in part.groupby("noise", sort=True):
            dense = _per_seed(cell[cell["network"] == keys.DENSE], rep)
            tickets = cell[cell["_kind"].isin(keys.TICKET_ORDER)]
            for (kind, wr), group in tickets.groupby(["_kind", "_wr"], sort=False):
                subject = f"{kind} tickets at {percent(1 - wr)} pruned"
                rows.append({"setting": label, "family": "weight sparsity (tickets)",
                             "noise": noise, "candidate": kind, keys.WEIGHTS_REMAINING: wr,
                             "pruned": 1 - wr, "reference": keys.DENSE, "subject": subject,
                             **compare_paired(_per_seed(group, rep), dense, alpha=alpha,
                                              resamples=resamples, seed=seed)})
            references = {keys.CONTROL_DENSE, *keys.CONTROL_REFERENCE.values()}
            controls = cell[cell["network"].map(keys.is_control)
                            & ~cell["network"].isin(references)]
            for net, group in controls.groupby("network", sort=False):
                what = keys.CONTROL_LABELS.get(net, net)
                ref = keys.control_reference(net)
                rows.append({"setting": label, "family": "controls", "noise": noise,
                             "candidate": net, keys.WEIGHTS_REMAINING: group["_wr"].iloc[0],
                             "pruned": 1 - group["_wr"].iloc[0], "reference": ref,
                             "subject": f"the {what} control ({net})",
                             **compare_paired(_per_seed(group, rep),
                                              _per_seed(cell[cell["network"] == ref], rep),
                                              alpha=alpha, resamples=resamples, seed=seed)})
    out = pd.DataFrame.from_records(rows)
    if out.empty:
        return pd.DataFrame(columns=["family", "noise", "candidate", "reference", "verdict"])
    out["text"] = [sentence(r, alpha) for r in out.to_dict("records")]
    out["_f"] = out["family"].map(FAMILY_ORDER.index)
    out["_k"] = out["candidate"].map(lambda c: keys.TICKET_ORDER.index(c)
                                     if c in keys.TICKET_ORDER else 9)
    out = out.sort_values(["setting", "_f", "noise", "_k", "pruned"], kind="stable")
    return out.drop(columns=["_f", "_k"]).reset_index(drop=True)


def hypothesis_summary(tests: pd.DataFrame) -> list[str]:
    """One line per (setting, noise, candidate) tested: at how many sparsity levels it wins;
    one line for all comparisons that had too few seeds."""
    lines: list[str] = []
    if tests.empty:
        return lines
    testable = tests[tests["verdict"] != UNTESTABLE]
    for (setting, noise, cand, ref), part in testable.groupby(
            ["setting", "noise", "candidate", "reference"], sort=False):
        where = f"{setting}, " if setting else ""
        who = f"{cand} tickets" if cand in keys.TICKET_ORDER else cand
        supported = int((part["verdict"] == SUPPORTED).sum())
        lines.append(f"{where}{noise}, {who} vs {ref}: higher noise score in {supported} of "
                     f"{len(part)} test(s).")
    untestable = tests[tests["verdict"] == UNTESTABLE]
    if len(untestable):
        lines.append(f"{len(untestable)} comparison(s) untestable: fewer than {MIN_SEEDS} "
                     f"paired seeds (at most n={int(untestable['n'].max())}).")
    return lines
