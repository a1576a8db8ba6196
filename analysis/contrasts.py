"""The same arm under two protocols, paired by seed (e.g. the ADN with the epochs its search
chose against the paper's): does the protocol change the numbers, and by how much?

The claims compare arms within one protocol; a researcher also wants to know whether a
choice of protocol (a tuned value, a reference's setting) moved an arm's result beyond seed
noise. Only trials that finished every task count, and only seeds both protocols ran.
"""

from __future__ import annotations

import itertools
from typing import Sequence

import pandas as pd

from analysis.grouping import setting_groups
from analysis.hypothesis import compare_paired

METRICS = ("mean_accuracy", "forgetting")
COLUMNS = ["label", "num_tasks", "protocol_a", "protocol_b", "metric", "n", "diff",
           "ci_low", "ci_high", "p_two_sided"]


def protocol_contrasts(trials: pd.DataFrame, settings: Sequence[str], *,
                       resamples: int = 10_000) -> pd.DataFrame:
    """One row per (arm, task count, pair of protocols, metric): protocol b minus protocol a
    in points over shared seeds, with the claims' paired comparison (two-sided 95% t-CI; the
    t-test from 3 seeds, here two-sided: twice the smaller one-sided p)."""
    settings = [s for s in settings if s in trials]
    done = trials[trials["complete"].astype(bool)] if len(trials) else trials
    if not settings or done.empty:
        return pd.DataFrame(columns=COLUMNS)
    rows = []
    for (label, tasks), arm in done.groupby(["label", "num_tasks"], sort=True):
        groups = [(name, 100 * part.groupby("seed")[list(METRICS)].mean())
                  for name, part in setting_groups(arm, settings)]
        for (name_a, a), (name_b, b) in itertools.combinations(groups, 2):
            for metric in METRICS:
                c = compare_paired(b[metric], a[metric], resamples=resamples)
                if c["n"] < 2:
                    continue
                rows.append({"label": label, "num_tasks": tasks, "protocol_a": name_a,
                             "protocol_b": name_b, "metric": metric, "n": c["n"],
                             "diff": c["mean_diff"], "ci_low": c["ci_low"],
                             "ci_high": c["ci_high"],
                             "p_two_sided": min(1.0, 2 * min(c["p_greater"], c["p_less"]))})
    return pd.DataFrame(rows, columns=COLUMNS)


def contrasts_display(contrasts: pd.DataFrame) -> pd.DataFrame:
    """The Markdown view: one line per contrast, differences in points."""
    rows = []
    for r in contrasts.to_dict("records"):
        rows.append({"model": r["label"], "tasks": r["num_tasks"],
                     "protocol a": r["protocol_a"], "protocol b": r["protocol_b"],
                     "metric": r["metric"], "n seeds": r["n"],
                     "b - a (points, 95% CI)":
                         f"{r['diff']:+.2f} [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]",
                     "p (paired t, two-sided)": f"{r['p_two_sided']:.3g}"})
    return pd.DataFrame(rows)
