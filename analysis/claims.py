"""What the paper's four claims share: the claims row, its verdict words and its views.

Each claim is decided in the analysis module of its experiment kind (claim 1:
``analysis.kinds.imp``, claim 2: ``analysis.kinds.noise``, claims 3 and 4:
``analysis.kinds.continual``), each by a rule of ``analysis.rules``; ``analysis.report.
claims_frame`` asks every kind for its rows. One row per claim and setting: the published value and its source (``analysis.anchors``),
sparsenet's value (mean difference over seeds with its two-sided t-interval and, for a
one-sided test, its one-sided bound; n), the test, its p-value, a verdict and the rule that
produced it. A claim with no results says "not run"; one with fewer than ``MIN_SEEDS`` paired
seeds says "inconclusive (n < 3)"; every other "inconclusive" says how many seeds would decide.
All comparisons pair seeds. The statistics are scipy's and statsmodels' (``analysis.stats``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from analysis import anchors as A
from analysis.grouping import replicate_column
from analysis.hypothesis import format_p
from analysis.rules import MIN_SEEDS, VerdictRules, inconclusive
from analysis.stats import Sample, seeds_for_power, t_bound, t_interval

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_RUN = (
    "reproduced", "not reproduced", "inconclusive", "not run")
FEW = f"{INCONCLUSIVE} (n < {MIN_SEEDS})"
CLAIMS = {1: "lottery tickets", 2: "noise", 3: "active dendrites (permuted)",
          4: "dendritic CNN (split)"}
COLUMNS = ["claim", "dataset", "protocol", "comparison", "metric", "published",
           "published_value", "source", "value", "mean", "ci_low", "ci_high", "bound",
           "interval", "n", "unit", "test", "p_value", "verdict", "rule", "headline",
           "anchors_version"]
DEFAULT_RULES = VerdictRules()


def claim_row(claim: int, **kw) -> dict:
    row = {c: np.nan for c in COLUMNS}
    row.update(claim=f"{claim}. {CLAIMS[claim]}", headline=False, anchors_version=A.VERSION)
    row.update(kw)
    return row


def not_run(claim: int, why: str = "no results") -> dict:
    return claim_row(claim, dataset="—", protocol="—", comparison="—", verdict=NOT_RUN,
                     value="—", rule=f"not run: {why}", headline=True, n=0)


def dataset_text(frame: pd.DataFrame) -> str:
    if "dataset" not in frame or frame["dataset"].dropna().empty:
        return "?"
    return ", ".join(sorted(map(str, frame["dataset"].dropna().unique())))


def first_value(frame: pd.DataFrame, *cols: str) -> str | None:
    for col in cols:
        if col in frame and frame[col].notna().any():
            return ", ".join(sorted(map(str, frame[col].dropna().unique())))
    return None


def protocol_text(frame: pd.DataFrame, label: str, extra: Sequence[str] = ()) -> str:
    """A readable protocol: an explicit protocol / preset label, what else names the arm,
    and the setting that split the table."""
    parts = [p for p in (first_value(frame, "protocol", "preset"), *extra) if p]
    if label:
        parts.append(label)
    return "; ".join(dict.fromkeys(parts)) or "—"


def per_seed(frame: pd.DataFrame, value: str) -> pd.Series:
    rep = replicate_column(frame)
    return frame.dropna(subset=[value]).groupby(rep)[value].mean()


def paired_diffs(candidate: pd.Series, reference: pd.Series, scale: float = 1.0) -> np.ndarray:
    """candidate - reference over the seeds both have (paired by seed), times ``scale``."""
    both = pd.concat([candidate.rename("c"), reference.rename("r")], axis=1).dropna()
    return scale * (both["c"] - both["r"]).to_numpy(dtype=float)


def interval_numbers(sample: Sample, rules: VerdictRules, side: str | None) -> dict:
    """mean, two-sided t-interval and (for a one-sided test) the one-sided bound, labelled."""
    low, high = t_interval(sample, rules.confidence)
    out = dict(mean=sample.mean, ci_low=low, ci_high=high, n=sample.n,
               interval=f"{rules.pct} t-CI")
    if side:
        out.update(bound=t_bound(sample, side, rules.confidence),
                   interval=f"{rules.pct} t-CI; one-sided {rules.pct} {side} bound")
    return out


def superiority_verdict(sample: Sample, p_better: float, p_worse: float, rules: VerdictRules,
                        family: int = 1) -> str:
    """Reproduced if significantly better, not reproduced if significantly worse,
    inconclusive (with the seeds that would decide) when neither."""
    if sample.n < MIN_SEEDS or not np.isfinite(p_better):
        return FEW
    if p_better < rules.alpha:
        return REPRODUCED
    if np.isfinite(p_worse) and p_worse < rules.alpha:
        return NOT_REPRODUCED
    seeds = seeds_for_power(abs(sample.mean), sample.sd, alpha=rules.alpha / family,
                            power=rules.power)
    return inconclusive(seeds, sample.n, "no significant difference")


def _num(v: float, digits: int = 2) -> str:
    return f"{v:+.{digits}f}" if np.isfinite(v) else "—"


def ours_header(rules: VerdictRules = DEFAULT_RULES) -> str:
    return f"sparsenet (mean [{rules.pct} t-CI]; one-sided {rules.pct} bound; n)"


def display(claims: pd.DataFrame, *, headline_only: bool = False,
            rules: VerdictRules = DEFAULT_RULES) -> pd.DataFrame:
    """The Markdown view: published vs ours with the t-interval, bound and n, the test's p
    and the verdict."""
    frame = claims[claims["headline"].astype(bool)] if headline_only else claims
    rows = []
    for r in frame.to_dict("records"):
        p = format_p(r["p_value"]) if r["p_value"] == r["p_value"] else "—"
        rows.append({"claim": r["claim"], "dataset": r["dataset"], "protocol": r["protocol"],
                     "comparison": f"{r['comparison']}" + (f" [{r['metric']}]" if
                                                           r["metric"] == "forgetting" else ""),
                     "published": r["published"] if r["published"] == r["published"] else "—",
                     "source": _short_source(r["source"]), ours_header(rules): _ours(r),
                     "test": r["test"] if r["test"] == r["test"] else "—",
                     "p": p[1:] if p.startswith("=") else p, "verdict": r["verdict"]})
    return pd.DataFrame(rows)


def _ours(r: dict) -> str:
    """``24.6x over prunable weights ...; -0.23 points [-0.58, +0.12]; lower bound -0.47
    (n=3)``."""
    unit = str(r["unit"])
    digits = 0 if "correct images" in unit else 2
    absolute = unit.startswith("%")
    parts = [str(r["value"])] if isinstance(r["value"], str) else []
    if np.isfinite(r["mean"]) and r["n"]:
        fmt = (lambda v: f"{v:.{digits}f}") if absolute else (lambda v: _num(v, digits))
        ci = f" [{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]" if np.isfinite(r["ci_low"]) else ""
        parts.append(f"{fmt(r['mean'])}{'%' if absolute else ' ' + unit.split(' (')[0]}{ci}")
        bound = r.get("bound", np.nan)
        if isinstance(bound, float) and np.isfinite(bound):
            side = "upper" if "upper bound" in str(r["interval"]) else "lower"
            parts.append(f"{side} bound {fmt(bound)}")
    text = "; ".join(parts) or "—"
    return text + (f" (n={int(r['n'])})" if r["n"] == r["n"] else "")


def _short_source(source: object) -> str:
    if not isinstance(source, str):
        return "—"
    return source.split(",")[0].replace(" (Numenta)", "")


def rules(claims: pd.DataFrame) -> list[str]:
    """The distinct rules, one line per claim and rule."""
    out = []
    for (claim, rule), _ in claims.groupby(["claim", "rule"], sort=False):
        out.append(f"{claim}: {rule}")
    return out
