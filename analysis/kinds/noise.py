"""Noise robustness (experiment kind ``noise``): the tidy accuracy cells and noise scores,
the report section with its hypothesis test, the headline a sweep prints, and claim 2
(weight sparsity alone does not make a network more robust to noise)."""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np
import pandas as pd

from analysis import anchors as A
from analysis import keys
from analysis import tables as T
from analysis.claims import (DEFAULT_RULES, FEW, NOT_REPRODUCED, REPRODUCED, claim_row,
                             dataset_text, interval_numbers, not_run, protocol_text)
from analysis.figures import noise_figure
from analysis.hypothesis import format_p, hypothesis_summary, noise_hypothesis
from analysis.kinds.base import Frames, KindAnalysis, kind_settings
from analysis.loading import Results
from analysis.markdown import percent, table
from analysis.report_out import ReportOut
from analysis.rules import MIN_SEEDS, VerdictRules, inconclusive
from analysis.stats import Sample, holm, seeds_for_power, t_bound, t_test
from analysis.tidy_rows import ID_COLUMNS, carry_columns

HEADINGS = {"noise": "Noise robustness",
            "hypothesis": "Hypothesis test: weight sparsity alone improves noise robustness"}
PAPER_NOISES = (keys.PAPER_NOISE, "numenta")
# controls the paper finds DO help (activation sparsity): reproduced = significantly higher
HELPS = (keys.control_network_name("activation_sparse"), keys.control_network_name("both"),
         "control:numenta_sparse_cnn2")


# --- tidy: one row per (trial, network, noise type, level), and the scores ---------------------


def tidy_noise(history: pd.DataFrame, config_columns: Sequence[str] | None = None
               ) -> pd.DataFrame:
    """One row per (trial, network, noise type, level): accuracy, correct, total."""
    out_cols = ["network", keys.WEIGHTS_REMAINING, "noise", "level", "accuracy", "correct",
                "total"]
    if history.empty or keys.NETWORK not in history:
        return pd.DataFrame(columns=[*ID_COLUMNS, *out_cols])
    carry = carry_columns(history, config_columns, exclude=out_cols)
    parsed = {c: keys.parse_noise_key(c) for c in history.columns}
    parsed = {c: p for c, p in parsed.items() if p is not None}
    records = []
    for row in history[history[keys.NETWORK].notna()].to_dict("records"):
        total = row.get(keys.TOTAL)
        total = float(total) if total is not None and pd.notna(total) else np.nan
        cells: dict[tuple[str, float], dict[str, float]] = {}
        for col, (what, noise, level) in parsed.items():
            value = row.get(col)
            if value is not None and pd.notna(value):
                cells.setdefault((noise, level), {})[what] = float(value)
        base = {c: row.get(c) for c in carry}
        for (noise, level), cell in cells.items():
            acc = cell.get("acc")
            correct = cell.get("correct", round(acc * total) if acc is not None
                               and np.isfinite(total) else np.nan)
            if acc is None and np.isfinite(total) and total > 0:
                acc = correct / total
            records.append({**base, "network": row[keys.NETWORK],
                            keys.WEIGHTS_REMAINING: row.get(keys.WEIGHTS_REMAINING, np.nan),
                            "noise": noise, "level": level, "accuracy": acc,
                            "correct": correct, "total": total})
    frame = pd.DataFrame.from_records(records, columns=[*carry, *out_cols])
    return frame.sort_values([c for c in ("exp_name", "trial_id", "network", "noise", "level")
                              if c in frame], kind="stable").reset_index(drop=True)


def noise_scores(noise: pd.DataFrame) -> pd.DataFrame:
    """Numenta's noise score: total correct test images summed over the noise levels."""
    value_cols = ("level", "accuracy", "correct", "total")
    by = [c for c in noise.columns if c not in value_cols]
    if noise.empty:
        return pd.DataFrame(columns=[*by, "score", "n_levels", "mean_accuracy"])
    grouped = noise.groupby(by, dropna=False, sort=False)
    scores = grouped.agg(score=("correct", lambda s: s.sum(min_count=len(s))),
                         n_levels=("level", "nunique"), mean_accuracy=("accuracy", "mean"))
    return scores.reset_index()


def _frames(history: pd.DataFrame, config_columns: Sequence[str], sweep: str | None
            ) -> Frames:
    noise = tidy_noise(history, config_columns)
    return {"noise": noise, "noise_scores": noise_scores(noise)}


# --- the report section and the headline ----------------------------------------------------


def _section(o: ReportOut, results: Results, frames: Frames, *, tolerance: float, alpha: float,
             resamples: int) -> None:
    noise = frames.get("noise", pd.DataFrame())
    scores = frames.get("noise_scores", pd.DataFrame())
    o.add(f"## {HEADINGS['noise']}", "")
    if noise.empty:
        o.add("_(no networks evaluated yet)_", "")
        return
    settings = kind_settings(noise, results, "noise", keys.NOISE_AXES)
    acc, score = T.noise_summary(noise, settings), T.score_summary(scores, settings)
    o.csv(acc, "noise_accuracy")
    o.csv(score, "noise_score_table")
    o.add("Test accuracy (%) per noise level (fraction of pixels replaced) and the noise "
          "score (correct test images summed over levels); mean ± std over seeds.", "")
    o.tables(T.noise_display(acc, score, settings), level="###")
    o.figure(noise_figure(noise, settings), "noise_accuracy", "accuracy vs noise level")
    o.add(f"### {HEADINGS['hypothesis']}", "")
    tests = noise_hypothesis(scores, settings, alpha=alpha, resamples=resamples)
    o.csv(tests, "noise_hypothesis")
    if tests.empty:
        o.add("_(no sparse network paired with a dense one yet)_", "")
        return
    o.add(f"One-sided paired tests (H1: sparse > dense, same seed), alpha = {alpha:g}; "
          f"two-sided {100 * (1 - alpha):g}% t-interval of the mean difference in noise score "
          f"(and a percentile bootstrap interval where a comparison has >= 10 seeds). "
          f"\"Not shown\" is no evidence of no gain: the claims table's margin rule decides "
          f"that.", "")
    o.add(*(f"- {s}" for s in hypothesis_summary(tests)), "")
    o.add(table(hypothesis_view(tests, settings, alpha=alpha)))
    tested = tests[tests["verdict"] != "untestable"]
    o.add(*(f"- {s}" for s in tested["text"]), "")


def hypothesis_view(tests: pd.DataFrame, settings: Sequence[str] = (), *,
                    alpha: float = 0.05) -> pd.DataFrame:
    """The hypothesis tests (analysis.hypothesis.noise_hypothesis) as a Markdown-ready table;
    the report and the results pages show the same view."""
    view = pd.DataFrame({
        "setting": tests["setting"], "noise": tests["noise"], "network": tests["candidate"],
        "pruned": tests["pruned"].map(percent), "vs": tests["reference"], "n": tests["n"],
        "mean diff": tests["mean_diff"].map(lambda v: f"{v:+.0f}" if np.isfinite(v) else "—"),
        f"{100 * (1 - alpha):g}% t-CI": [f"[{lo:.0f}, {hi:.0f}]" if np.isfinite(lo) else "—"
                                         for lo, hi in zip(tests["ci_low"], tests["ci_high"])],
        "p (t)": tests["p_greater"].map(_p), "p (Wilcoxon)": tests["p_wilcoxon"].map(_p),
        "verdict": tests["verdict"]})
    if "boot_low" in tests and tests["boot_low"].notna().any():
        view.insert(7, f"{100 * (1 - alpha):g}% bootstrap CI (n >= 10)",
                    [f"[{lo:.0f}, {hi:.0f}]" if np.isfinite(lo) else "—"
                     for lo, hi in zip(tests["boot_low"], tests["boot_high"])])
    return view if settings else view.drop(columns="setting")


def _p(p: float) -> str:
    text = format_p(p)
    return text[1:] if text.startswith("=") else text


def _headline(results: Results, frames: Frames, *, tolerance: float, alpha: float
              ) -> list[str]:
    scores = frames.get("noise_scores")
    if scores is None or scores.empty:
        return ["noise: no network evaluated"]
    settings = kind_settings(scores, results, "noise", keys.NOISE_AXES)
    tests = noise_hypothesis(scores, settings, alpha=alpha, resamples=2000)
    lines = ["noise: hypothesis 'weight sparsity alone improves noise robustness' "
             f"(paired, one-sided, alpha {alpha:g})"]
    if tests.empty:
        return lines + ["  no sparse network paired with a dense one"]
    lines += [f"  {s}" for s in hypothesis_summary(tests)]
    tested = tests[tests["verdict"] != "untestable"]
    lines += [f"  {text}" for text in tested["text"]]
    return lines


# --- claim 2 ---------------------------------------------------------------------------------


def _setting_items(setting: str) -> list[str]:
    """``"levels=(0.0, 0.1), noise=x"`` -> ["levels=(0.0, 0.1)", "noise=x"]: split only where
    a new ``key=`` starts, since values (tuples of levels) contain ", " themselves."""
    return re.split(r", (?=[A-Za-z_][A-Za-z0-9_]*=)", str(setting))


def _select(scores: pd.DataFrame, setting: str) -> pd.DataFrame:
    scored = scores
    if setting and len(scores):
        for item in _setting_items(setting):
            col, _, val = item.partition("=")
            if col in scored:
                scored = scored[scored[col].astype(str) == val]
    return scored


def _levels(part: pd.DataFrame, rules: VerdictRules) -> pd.DataFrame:
    """Per sparsity level: the paired sample, margin delta, its one-sided upper bound and the
    non-superiority (H1: diff < delta) and superiority (H1: diff > 0) p-values."""
    out = []
    for r in part.to_dict("records"):
        s = Sample(int(r["n"]), float(r["mean_diff"]), float(r.get("sd_diff", np.nan)))
        delta = rules.noise_margin * float(r["reference_mean"])
        out.append(dict(pruned=r["pruned"], sample=s, delta=delta,
                        upper=t_bound(s, "upper", rules.confidence),
                        p_ns=t_test(s, delta, "less").pvalue,
                        p_sup=t_test(s, 0.0, "greater").pvalue, testable=s.n >= MIN_SEEDS))
    return pd.DataFrame(out)


def _claim2_verdict(levels: pd.DataFrame, helps: bool, rules: VerdictRules) -> str:
    testable = levels[levels["testable"]]
    if testable.empty:
        return FEW
    within = bool(levels["testable"].all() and (levels["upper"] < levels["delta"]).all())
    higher = bool(np.nanmin(testable["p_sup_holm"]) < rules.alpha)
    small = " (a significant gain below the margin)" if within and higher else ""
    if within:
        return (NOT_REPRODUCED if helps else REPRODUCED) + small
    if higher:
        return REPRODUCED if helps else NOT_REPRODUCED
    # seeds to decide: every level below delta, or one level significantly above 0 (Holm)
    samples = [(s, d) for s, d in zip(testable["sample"], testable["delta"])]
    options = []
    if levels["testable"].all() and all(s.mean < d for s, d in samples):
        need = [seeds_for_power(d - s.mean, s.sd, alpha=rules.alpha, power=rules.power)
                for s, d in samples]
        if None not in need:
            options.append(max(need))
    options += [seeds_for_power(s.mean, s.sd, alpha=rules.alpha / len(samples),
                                power=rules.power) for s, _ in samples if s.mean > 0]
    options = [o for o in options if o is not None]
    n = int(min(s.n for s, _ in samples))
    return inconclusive(min(options) if options else None, n,
                        "no level significantly higher, not every level shown below the margin")


# the claims table's rows for claim 2: weight sparsity alone (tickets, the weight-sparse
# control) and Numenta's activation + weight sparse CNN-2, the contrast the claim needs
HEADLINE_NETWORKS = ("winning", "control:weight_sparse", "control:numenta_sparse_cnn2")


def claim2(scores: pd.DataFrame, settings: Sequence[str] = (), *,
           rules: VerdictRules = DEFAULT_RULES, resamples: int = 10_000,
           tests: pd.DataFrame | None = None) -> list[dict]:
    """Non-superiority per noise type and sparse network kind (winning / random tickets,
    every control against its dense control): ``VerdictRules.claim2``."""
    if tests is None:
        tests = noise_hypothesis(scores, settings, alpha=rules.alpha, resamples=resamples) \
            if len(scores) else pd.DataFrame()
    if tests.empty:
        return [not_run(2, "no sparse network paired with a dense one")]
    bain = A.anchor("bain.noise_hypothesis")
    dense, weight = A.anchor("numenta.noise.dense_cnn2"), \
        A.anchor("numenta.noise.weight_sparse_only")
    sparse = A.anchor("numenta.noise.sparse_cnn2")
    tests = tests[tests["candidate"].isin(keys.TICKET_ORDER)
                  | tests["candidate"].map(keys.is_control)]
    rows = []
    # the claim is about weight sparsity: without a weight-sparse network its headline is
    # not run, but the positive half (activation sparsity, Numenta's CNN-2 pair) still has
    # its own rows, judged by their own rule
    if not tests["candidate"].isin([*keys.TICKET_ORDER, "control:weight_sparse"]).any():
        rows.append(not_run(2, "no weight-sparse network paired with a dense one"))
    noises = set(tests["noise"])
    headline_noises = [n for n in PAPER_NOISES if n in noises] or sorted(noises)
    for (setting, noise, cand), part in tests.groupby(["setting", "noise", "candidate"],
                                                      sort=False):
        scored = _select(scores, setting)
        levels = _levels(part, rules)
        testable = levels["testable"]
        levels["p_sup_holm"] = np.nan
        levels.loc[testable, "p_sup_holm"] = holm(levels.loc[testable, "p_sup"], rules.alpha)
        helps = cand in HELPS
        verdict = _claim2_verdict(levels, helps, rules)
        control = keys.is_control(cand)
        ref = keys.control_reference(cand) if control else keys.DENSE
        label = keys.CONTROL_LABELS.get(cand, cand)
        who = (f"{label} control" if label.startswith("Numenta's") else
               f"the {label} control") if control else f"{cand} tickets"
        if helps:
            published = (f"more robust (Numenta: sparse CNN-2 {sparse.value:,.0f} vs dense "
                         f"{dense.value:,.0f})")
        elif control:
            published = (f"not more robust (Numenta: {weight.value:,.0f} vs dense "
                         f"{dense.value:,.0f})")
        else:
            published = "hypothesis rejected"
        # the level the verdict hinges on: for a null claim the highest upper bound, for a
        # gain (activation sparsity) the level with the strongest evidence of it
        if not testable.any():
            worst = levels.loc[levels["sample"].map(lambda s: s.n).idxmax()]
        elif helps:
            worst = levels.loc[levels["p_sup_holm"].fillna(np.inf).idxmin()]
        else:
            worst = levels.loc[levels["upper"].fillna(np.inf).idxmax()]
        below = int((levels["upper"] < levels["delta"]).sum())
        higher = int((levels["p_sup_holm"] < rules.alpha).sum())
        m = len(levels)
        rows.append(claim_row(
            2, dataset=dataset_text(scored) if len(scored) else "?",
            protocol=protocol_text(scored, setting, [f"noise {noise}"]),
            comparison=(f"{who} vs {ref}, {m} sparsity level(s): more robust to noise by "
                        f"more than the margin at any?" if not helps else
                        f"{who} vs {ref}, {m} sparsity level(s): more robust to noise?"),
            metric="noise score", published=published, published_value=np.nan,
            source=sparse.source if helps else weight.source if control else bain.source,
            value=(f"margin delta {worst['delta']:,.0f} ({100 * rules.noise_margin:g}% of "
                   f"dense); upper bound below delta at {below} of {m} level(s); "
                   f"significantly higher (Holm) at {higher}"),
            **interval_numbers(worst["sample"], rules, "lower" if helps else "upper"),
            unit=f"correct images ({who} - {ref}, level "
                 f"{'of the smallest p' if helps else 'with the highest upper bound'}: "
                 f"{percent(worst['pruned'])} pruned)",
            test="paired t per level: non-superiority (margin delta, intersection-union) and "
                 "superiority (Holm across levels)",
            # the p of the test that decides: superiority (Holm) for a gain, else the
            # intersection-union non-superiority p (the largest per level)
            p_value=(float(levels["p_sup_holm"].min()) if helps else
                     float(levels["p_ns"].max())) if testable.all() else np.nan,
            verdict=verdict, rule=rules.claim2(),
            # the null claim's rows, and the positive half it is contrasted with
            headline=noise in headline_noises and cand in HEADLINE_NETWORKS))
    return rows


def _claims(results: Results, frames: Frames, *, rules: VerdictRules, resamples: int
            ) -> list[dict]:
    settings = kind_settings(frames.get("noise", pd.DataFrame()), results, "noise",
                             keys.NOISE_AXES) if "noise" in results.kinds else []
    return claim2(frames.get("noise_scores", pd.DataFrame()), settings, rules=rules,
                  resamples=resamples)


ANALYSIS = KindAnalysis("noise", tidy=_frames, section=_section, headline=_headline,
                        claims=_claims)
