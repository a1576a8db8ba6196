"""The paper's four claims, each judged from result folders by a stated rule.

One row per claim and setting: the published value and its source (``analysis.anchors``),
sparsenet's value (mean, 95% bootstrap CI over seeds, n), the test, its p-value, a verdict
and the rule that produced it. A claim with no results says "not run"; one with fewer than
``MIN_SEEDS`` paired seeds says "inconclusive (n < 3)": never a verdict the data cannot carry.
All comparisons pair seeds (``analysis.hypothesis.compare_paired``).
"""

from __future__ import annotations

import re

from typing import Sequence

import numpy as np
import pandas as pd

from analysis import anchors as A
from analysis import keys
from analysis.grouping import level_key, replicate_column, setting_groups
from analysis.hypothesis import MIN_SEEDS, compare_paired, noise_hypothesis
from analysis.markdown import percent
from analysis.stats import bootstrap_ci

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_RUN = (
    "reproduced", "not reproduced", "inconclusive", "not run")
FEW = f"{INCONCLUSIVE} (n < {MIN_SEEDS})"
CLAIMS = {1: "lottery tickets", 2: "noise", 3: "active dendrites (permuted)",
          4: "dendritic CNN (split)"}
COLUMNS = ["claim", "dataset", "protocol", "comparison", "metric", "published",
           "published_value", "source", "value", "mean", "ci_low", "ci_high", "n", "unit",
           "test", "p_value", "verdict", "rule", "headline", "anchors_version"]
COMPRESSION_SLACK = 1.1   # reproduced at >= published compression / 1.1 (pruning steps)
ADN_MLP, ADN_CNN = "active_dendrites_mlp", "active_dendrites_cnn"
PAPER_NOISES = (keys.PAPER_NOISE, "numenta")


def _row(claim: int, **kw) -> dict:
    row = {c: np.nan for c in COLUMNS}
    row.update(claim=f"{claim}. {CLAIMS[claim]}", headline=False, anchors_version=A.VERSION)
    row.update(kw)
    return row


def not_run(claim: int, why: str = "no results") -> dict:
    return _row(claim, dataset="—", protocol="—", comparison="—", verdict=NOT_RUN,
                value="—", rule=f"not run: {why}", headline=True, n=0)


def _setting_items(setting: str) -> list[str]:
    """``"levels=(0.0, 0.1), noise=x"`` -> ["levels=(0.0, 0.1)", "noise=x"]: split only where
    a new ``key=`` starts, since values (tuples of levels) contain ", " themselves."""
    return re.split(r", (?=[A-Za-z_][A-Za-z0-9_]*=)", str(setting))


def _dataset(frame: pd.DataFrame) -> str:
    if "dataset" not in frame or frame["dataset"].dropna().empty:
        return "?"
    return ", ".join(sorted(map(str, frame["dataset"].dropna().unique())))


def _first(frame: pd.DataFrame, *cols: str) -> str | None:
    for col in cols:
        if col in frame and frame[col].notna().any():
            return ", ".join(sorted(map(str, frame[col].dropna().unique())))
    return None


def _protocol(frame: pd.DataFrame, label: str, extra: Sequence[str] = ()) -> str:
    """A readable protocol: an explicit protocol / preset label, what else names the arm,
    and the setting that split the table."""
    parts = [p for p in (_first(frame, "protocol", "preset"), *extra) if p]
    if label:
        parts.append(label)
    return "; ".join(dict.fromkeys(parts)) or "—"


def _paired(cand: pd.Series, ref: pd.Series, alpha: float, resamples: int) -> dict:
    return compare_paired(cand, ref, alpha=alpha, resamples=resamples)


def _three_way(n: int, p_greater: float, p_less: float, alpha: float) -> str:
    """Superiority: reproduced if significantly better, not reproduced if significantly
    worse, inconclusive when neither (an underpowered null is no evidence either way)."""
    if n < MIN_SEEDS or not np.isfinite(p_greater):
        return FEW
    if p_greater < alpha:
        return REPRODUCED
    if np.isfinite(p_less) and p_less < alpha:
        return NOT_REPRODUCED
    return f"{INCONCLUSIVE} (no significant difference)"


def _superiority_rule(what: str, alpha: float) -> str:
    return (f"{what}: one-sided paired t-test over seeds (H1: better), alpha={alpha:g}; "
            f"reproduced if p < alpha, not reproduced if significantly worse (reverse "
            f"one-sided p < alpha), else inconclusive; fewer than {MIN_SEEDS} paired seeds: "
            f"inconclusive (n < {MIN_SEEDS}).")


# --- claim 1: lottery tickets ----------------------------------------------------------------


def _per_seed(frame: pd.DataFrame, value: str) -> pd.Series:
    rep = replicate_column(frame)
    return frame.dropna(subset=[value]).groupby(rep)[value].mean()


def _imp_anchor(frame: pd.DataFrame) -> tuple[float, str, str]:
    """The published compression for the protocol: Frankle & Carbin's for their preset."""
    preset = (_first(frame, "preset", "protocol") or "").lower()
    if "frankle" in preset:
        a = A.anchor("frankle.matches_dense_down_to")
        return 1.0 / a.value, f"{1 / a.value:.1f}x ({percent(a.value)} remaining)", a.source
    a = A.anchor("bain.compression")
    return a.value, f"{a.value:g}x ({percent(A.anchor('bain.weights_remaining').value)} " \
        f"remaining)", a.source


def _ticket_walk(win: pd.DataFrame, levels: Sequence[float], dense: pd.Series, metric: str,
                 margin: float, alpha: float, resamples: int) -> dict:
    """Rounds from dense to sparser: the sparsest shown non-inferior before the first shown
    inferior (``worse``); rounds with fewer than MIN_SEEDS paired seeds are skipped."""
    out = {"best": levels[0], "best_cmp": None, "worse": None, "tested": []}
    for wr in levels[1:]:
        cmp = _paired(_per_seed(win[win["_wr"] == wr], metric) + margin, dense, alpha,
                      resamples)
        if cmp["n"] < MIN_SEEDS:
            continue
        out["tested"].append(wr)
        if cmp["p_less"] < alpha:
            out["worse"] = wr
            break
        if cmp["p_greater"] < alpha:
            out["best"], out["best_cmp"] = wr, cmp
    return out


def claim1(imp: pd.DataFrame, settings: Sequence[str] = (), *, metric: str | None = None,
           tolerance: float = 0.5, alpha: float = 0.05, resamples: int = 10_000) -> list[dict]:
    """Highest compression whose winning tickets are non-inferior to dense (margin
    ``tolerance`` points), walking rounds from dense to sparse (fixed-sequence testing),
    and winning vs random tickets at that compression."""
    from analysis.tables import imp_metric

    metric = metric or (imp_metric(imp) if len(imp) else None)
    if imp.empty or metric is None or keys.WEIGHTS_REMAINING not in imp:
        return [not_run(1)]
    frame = imp.assign(_wr=level_key(imp[keys.WEIGHTS_REMAINING]).to_numpy())
    if keys.TICKET not in frame:
        frame[keys.TICKET] = "winning"
    rows = []
    margin = tolerance / 100.0
    for label, part in setting_groups(frame, [s for s in settings if s != keys.TICKET]):
        win = part[part[keys.TICKET] == "winning"]
        if win.empty:
            rows.append(not_run(1, "no winning tickets"))
            continue
        published, published_text, source = _imp_anchor(part)
        threshold = published / COMPRESSION_SLACK
        base = dict(dataset=_dataset(part), metric=metric, source=source,
                    protocol=_protocol(part, label, [_first(part, "arch")]))
        levels = sorted(win["_wr"].dropna().unique(), reverse=True)
        dense = _per_seed(win[win["_wr"] == levels[0]], metric)
        walk = _ticket_walk(win, levels, dense, metric, margin, alpha, resamples)
        best, best_cmp, worse = walk["best"], walk["best_cmp"], walk["worse"]
        # the first round at or past the published compression, and how far the sweep went
        target = next((wr for wr in walk["tested"] if 1 / wr >= threshold), None)
        reach = min(walk["tested"], default=levels[0])
        rule = (f"non-inferiority per round: one-sided paired t-test over seeds, H1: winning - "
                f"dense > -{tolerance:g} points, alpha={alpha:g} per round; rounds walked from "
                f"dense to sparser until the first round significantly worse than dense by more "
                f"than {tolerance:g} points; the value is the sparsest round shown non-inferior "
                f"before it. Reproduced if that is >= {threshold:.1f}x (published "
                f"{published:g}x / {COMPRESSION_SLACK:g} for pruning steps); not reproduced if "
                f"the walk ends at or before the first round reaching {threshold:.1f}x; else "
                f"inconclusive; fewer than {MIN_SEEDS} paired seeds: round not tested.")
        n_dense = int(dense.size)
        if n_dense < MIN_SEEDS:
            verdict = FEW
        elif 1 / best >= threshold:
            verdict = REPRODUCED
        elif worse is not None and (target is None or worse >= target):
            verdict = NOT_REPRODUCED
        elif target is None:
            verdict = f"{INCONCLUSIVE} (sweep tested up to {1 / reach:.1f}x)"
        else:
            verdict = f"{INCONCLUSIVE} (not shown within tolerance at >= {threshold:.1f}x, " \
                      f"no significant loss either)"
        shown = best_cmp or {"n": n_dense, "mean_diff": 0.0, "ci_low": 0.0, "ci_high": 0.0,
                             "p_greater": np.nan}
        rows.append(_row(1, **base, comparison="highest compression with winning tickets "
                                                f"within {tolerance:g} points of dense",
                         published=published_text, published_value=published,
                         value=f"{1 / best:.1f}x ({percent(best)} remaining)",
                         mean=100 * (shown["mean_diff"] - (margin if best_cmp else 0)),
                         ci_low=100 * (shown["ci_low"] - (margin if best_cmp else 0)),
                         ci_high=100 * (shown["ci_high"] - (margin if best_cmp else 0)),
                         n=shown["n"], unit="points (winning - dense at that compression)",
                         test="paired t, one-sided, non-inferiority",
                         p_value=shown["p_greater"], verdict=verdict, rule=rule, headline=True))
        # winning vs random at that compression
        rand = part[(part[keys.TICKET] == "random") & (part["_wr"] == best)]
        frankle = A.anchor("frankle.matches_dense_down_to")
        common = dict(base, comparison=f"winning vs random tickets at {1 / best:.1f}x",
                      published="winning > random", source=frankle.source,
                      unit="points (winning - random)", test="paired t, one-sided",
                      headline=True)
        if rand.empty:
            rows.append(_row(1, **common, value="—", n=0, verdict=NOT_RUN,
                             rule="not run: no random tickets at that compression"))
            continue
        if best_cmp is None and n_dense >= MIN_SEEDS:
            rows.append(_row(1, **common, value="—", n=n_dense,
                             verdict=f"{INCONCLUSIVE} (no pruned round within tolerance)",
                             rule="winning vs random is compared at the headline compression; "
                                  "there is none past dense"))
            continue
        cmp = _paired(_per_seed(win[win["_wr"] == best], metric), _per_seed(rand, metric),
                      alpha, resamples)
        rows.append(_row(1, **common, rule=_superiority_rule("winning vs random tickets", alpha),
                         mean=100 * cmp["mean_diff"], ci_low=100 * cmp["ci_low"],
                         ci_high=100 * cmp["ci_high"], n=cmp["n"], p_value=cmp["p_greater"],
                         verdict=_three_way(cmp["n"], cmp["p_greater"], cmp["p_less"], alpha)))
    return rows


# --- claim 2: noise ----------------------------------------------------------------------------


def claim2(scores: pd.DataFrame, settings: Sequence[str] = (), *, alpha: float = 0.05,
           resamples: int = 10_000, tests: pd.DataFrame | None = None) -> list[dict]:
    """The hypothesis test summarized: per noise type and sparse network kind (winning /
    random tickets, the weight-sparse-only control), is any sparsity level significantly
    more robust than dense? The paper says no."""
    if tests is None:
        tests = noise_hypothesis(scores, settings, alpha=alpha, resamples=resamples) \
            if len(scores) else pd.DataFrame()
    if tests.empty:
        return [not_run(2, "no sparse network paired with a dense one")]
    bain = A.anchor("bain.noise_hypothesis")
    dense, weight = A.anchor("numenta.noise.dense_cnn2"), \
        A.anchor("numenta.noise.weight_sparse_only")
    wanted = [*keys.TICKET_ORDER, "control:weight_sparse"]
    tests = tests[tests["candidate"].isin(wanted)]
    if tests.empty:
        return [not_run(2, "no weight-sparse network paired with a dense one")]
    noises = set(tests["noise"])
    headline_noises = [n for n in PAPER_NOISES if n in noises] or sorted(noises)
    rows = []
    for (setting, noise, cand), part in tests.groupby(["setting", "noise", "candidate"],
                                                      sort=False):
        scored = scores
        if setting and len(scores):
            for item in _setting_items(setting):
                col, _, val = item.partition("=")
                if col in scored:
                    scored = scored[scored[col].astype(str) == val]
        testable = part[part["n"] >= MIN_SEEDS]
        m = len(testable)
        best = (testable.loc[testable["p_greater"].idxmin()] if m
                else part.loc[part["n"].idxmax()])
        p_adj = min(1.0, float(best["p_greater"]) * m) if m else np.nan
        if not m:
            verdict = FEW
        elif p_adj < alpha:
            verdict = NOT_REPRODUCED
        else:
            verdict = REPRODUCED
        control = str(cand).startswith(keys.CONTROL_PREFIX)
        who = "weight-sparse-only control" if control else f"{cand} tickets"
        ref = keys.CONTROL_DENSE if control else keys.DENSE
        published = (f"not more robust (Numenta: {weight.value:,.0f} vs dense "
                     f"{dense.value:,.0f})" if control else "hypothesis rejected")
        rows.append(_row(
            2, dataset=_dataset(scored) if len(scored) else "?",
            protocol=_protocol(scored, setting, [f"noise {noise}"]),
            comparison=f"{who} vs {ref}: noise score higher at any of {max(m, len(part))} "
                       f"sparsity level(s)?",
            metric="noise score", published=published, published_value=np.nan,
            source=weight.source if control else bain.source,
            value=f"higher in {int((testable['p_greater'] < alpha).sum())} of {m} level(s)",
            mean=best["mean_diff"], ci_low=best["ci_low"], ci_high=best["ci_high"],
            n=int(best["n"]), unit=f"correct images ({who} - {ref}, most favourable level: "
                                   f"{percent(best['pruned'])} pruned)",
            test="paired t, one-sided, Bonferroni over levels", p_value=p_adj, verdict=verdict,
            headline=noise in headline_noises and cand in ("winning", "control:weight_sparse"),
            rule=(f"H1: sparse > dense in noise score, one-sided paired t per sparsity level "
                  f"(analysis.hypothesis), smallest p x levels (Bonferroni), alpha={alpha:g}; "
                  f"reproduced (hypothesis rejected, as published) if no level is "
                  f"significantly more robust, not reproduced if one is; fewer than "
                  f"{MIN_SEEDS} paired seeds at every level: inconclusive.")))
    return rows


# --- claims 3 and 4: continual learning ---------------------------------------------------------


def _arm_groups(trials: pd.DataFrame, stream: str, settings: Sequence[str]):
    part = trials[(trials["stream"] == stream) & trials["complete"].astype(bool)]
    by = [c for c in ("dataset", "num_tasks") if c in part]
    settings = [s for s in settings if s not in (*by, "label", "stream")]
    for label, sub in setting_groups(part, settings):
        if not by:
            yield label, sub
            continue
        for _, cell in sub.groupby(by, sort=True, dropna=False):
            yield label, cell


def _continual_protocol(cell: pd.DataFrame, label: str) -> str:
    extra = []
    if "num_tasks" in cell and cell["num_tasks"].notna().any():
        extra.append(f"{int(cell['num_tasks'].iloc[0])} tasks")
    if "hidden" in cell and cell["hidden"].notna().any():
        extra.append(f"hidden {cell['hidden'].iloc[0]}")
    return _protocol(cell, label, extra)


def _vs_baselines(claim: int, cell: pd.DataFrame, ours: str, baselines: Sequence[str],
                  base: dict, alpha: float, resamples: int, tasks: int | None) -> list[dict]:
    rows = []
    mine = cell[cell["label"] == ours]
    for other in baselines:
        theirs = cell[cell["label"] == other]
        for metric, sign in (("mean_accuracy", 1), ("forgetting", -1)):
            a, b = _per_seed(mine, metric), _per_seed(theirs, metric)
            cmp = _paired(sign * a, sign * b, alpha, resamples)
            published, value = _published_gap(claim, ours, other, tasks, metric)
            better = "higher" if sign > 0 else "lower"
            task_id = "" if claim == 3 else (" (baseline with task id)" if "[" in other
                                             else " (baseline without task id)")
            rows.append(_row(
                claim, **base, comparison=f"{ours} vs {other}{task_id}", metric=metric,
                published=published, published_value=value,
                source=A.NUMENTA_ADN if claim == 3 else A.BAIN,
                mean=100 * sign * cmp["mean_diff"],
                ci_low=100 * (cmp["ci_low"] if sign > 0 else -cmp["ci_high"]),
                ci_high=100 * (cmp["ci_high"] if sign > 0 else -cmp["ci_low"]), n=cmp["n"],
                unit=f"points ({metric}: ours - baseline)", test="paired t, one-sided",
                p_value=cmp["p_greater"],
                verdict=_three_way(cmp["n"], cmp["p_greater"], cmp["p_less"], alpha),
                rule=_superiority_rule(f"{metric} {better} for the dendritic network", alpha),
                headline=metric == "mean_accuracy"))
    return rows


def _published_gap(claim: int, ours: str, other: str, tasks: int | None,
                   metric: str) -> tuple[str, float]:
    if metric == "forgetting":
        return "less forgetting", np.nan
    if claim == 4:
        return "dendritic CNN better (paper's extension)", np.nan
    a, b = A.numenta_pmnist(ours, tasks), A.numenta_pmnist(other, tasks)
    if a is None or b is None:
        return "ADN better", np.nan
    gap = 100 * (a.value - b.value)
    return f"{100 * a.value:.2f} vs {100 * b.value:.2f} ({gap:+.2f} points)", gap


def _vs_published(cell: pd.DataFrame, arm: str, base: dict, tasks: int | None,
                  resamples: int) -> dict | None:
    """Is Numenta's published mean inside our 95% bootstrap CI of the arm's mean?"""
    values = _per_seed(cell[cell["label"] == arm], "mean_accuracy")
    pub = A.numenta_pmnist(arm, tasks)
    if values.empty:
        return None
    n = int(values.size)
    low, high = bootstrap_ci(values.to_numpy(), resamples=resamples)
    dataset = base["dataset"]
    rule = ("published mean inside sparsenet's 95% bootstrap CI over seeds: reproduced; "
            "outside: not reproduced; only on the published dataset (MNIST) and task count, "
            f"with >= {MIN_SEEDS} seeds, else inconclusive (the paper replicated the 10-task "
            f"value within {A.anchor('bain.adn_within').value:g} points).")
    if pub is None:
        verdict = f"{INCONCLUSIVE} (no published value at {tasks} tasks)"
    elif not A.same_dataset(dataset, pub.dataset):
        verdict = f"{INCONCLUSIVE} (dataset {dataset}, published on {pub.dataset})"
    elif n < MIN_SEEDS:
        verdict = FEW
    else:
        verdict = REPRODUCED if low <= pub.value <= high else NOT_REPRODUCED
    return _row(3, **base, comparison=f"{arm} vs Numenta's published mean",
                metric="mean_accuracy",
                published=f"{100 * pub.value:.2f}%" if pub else "—",
                published_value=100 * pub.value if pub else np.nan,
                source=A.NUMENTA_ADN,
                mean=100 * values.mean(), ci_low=100 * low, ci_high=100 * high, n=n,
                unit="% mean accuracy", test="published value in 95% bootstrap CI",
                verdict=verdict, rule=rule, headline=True)


def _is_dendritic_adn(label: str, model: str) -> bool:
    return label.startswith(model) and "+SI" not in label


def claim3(trials: pd.DataFrame, settings: Sequence[str] = (), *, alpha: float = 0.05,
           resamples: int = 10_000) -> list[dict]:
    """ADN vs each baseline (paired by seed) on mean accuracy and forgetting, and ADN
    (and ADN + SI) vs Numenta's published means, on permuted tasks."""
    return _continual_claim(3, trials, "permuted", ADN_MLP, settings, alpha, resamples)


def claim4(trials: pd.DataFrame, settings: Sequence[str] = (), *, alpha: float = 0.05,
           resamples: int = 10_000) -> list[dict]:
    """The dendritic CNN vs each CNN baseline, with and without the task id, on split tasks."""
    return _continual_claim(4, trials, "split", ADN_CNN, settings, alpha, resamples)


def _continual_claim(claim: int, trials: pd.DataFrame, stream: str, model: str,
                     settings: Sequence[str], alpha: float, resamples: int) -> list[dict]:
    if trials.empty or "stream" not in trials or not (trials["stream"] == stream).any():
        return [not_run(claim)]
    rows = []
    for label, cell in _arm_groups(trials, stream, settings):
        tasks = int(cell["num_tasks"].iloc[0]) if "num_tasks" in cell \
            and cell["num_tasks"].notna().any() else None
        base = dict(dataset=_dataset(cell), protocol=_continual_protocol(cell, label))
        labels = sorted(map(str, cell["label"].unique()))
        ours = [lab for lab in labels if _is_dendritic_adn(lab, model)]
        baselines = [lab for lab in labels if not lab.startswith(model)]
        if not ours:
            rows.append(_row(claim, **base, comparison=f"{model} vs baselines", value="—",
                             n=0, verdict=NOT_RUN, rule=f"not run: no complete {model} trials",
                             headline=True))
            continue
        for arm in ours:
            rows += _vs_baselines(claim, cell, arm, baselines, base, alpha, resamples, tasks)
        if claim == 3:
            for arm in [lab for lab in labels if lab.startswith(model)]:
                row = _vs_published(cell, arm, base, tasks, resamples)
                if row is not None:
                    row["headline"] = "+SI" not in arm
                    rows.append(row)
    return rows or [not_run(claim, "no complete trials")]


# --- everything ----------------------------------------------------------------------------------


def claims_table(imp: pd.DataFrame | None = None, scores: pd.DataFrame | None = None,
                 trials: pd.DataFrame | None = None, *, imp_settings: Sequence[str] = (),
                 noise_settings: Sequence[str] = (), continual_settings: Sequence[str] = (),
                 tolerance: float = 0.5, alpha: float = 0.05, resamples: int = 10_000,
                 noise_tests: pd.DataFrame | None = None) -> pd.DataFrame:
    """All four claims as one frame (``COLUMNS``); a claim without results is "not run"."""
    empty = pd.DataFrame()
    imp = empty if imp is None else imp
    scores = empty if scores is None else scores
    trials = empty if trials is None else trials
    rows = [*claim1(imp, imp_settings, tolerance=tolerance, alpha=alpha, resamples=resamples),
            *claim2(scores, noise_settings, alpha=alpha, resamples=resamples, tests=noise_tests),
            *claim3(trials, continual_settings, alpha=alpha, resamples=resamples),
            *claim4(trials, continual_settings, alpha=alpha, resamples=resamples)]
    return pd.DataFrame.from_records(rows, columns=COLUMNS)


def _num(v: float, digits: int = 2) -> str:
    return f"{v:+.{digits}f}" if np.isfinite(v) else "—"


def display(claims: pd.DataFrame, *, headline_only: bool = False) -> pd.DataFrame:
    """The Markdown view: published vs ours with CI and n, the test's p and the verdict."""
    from analysis.hypothesis import format_p

    frame = claims[claims["headline"].astype(bool)] if headline_only else claims
    rows = []
    for r in frame.to_dict("records"):
        ours = _ours(r)
        p = format_p(r["p_value"]) if r["p_value"] == r["p_value"] else "—"
        rows.append({"claim": r["claim"], "dataset": r["dataset"], "protocol": r["protocol"],
                     "comparison": f"{r['comparison']}" + (f" [{r['metric']}]" if
                                                           r["metric"] == "forgetting" else ""),
                     "published": r["published"] if r["published"] == r["published"] else "—",
                     "source": _short_source(r["source"]), "sparsenet (95% CI, n)": ours,
                     "test": r["test"] if r["test"] == r["test"] else "—",
                     "p": p[1:] if p.startswith("=") else p, "verdict": r["verdict"]})
    return pd.DataFrame(rows)


def _ours(r: dict) -> str:
    """``18.2x (5.50% remaining); +0.41 points [+0.10, +0.70] (n=3)``."""
    unit = str(r["unit"])
    digits = 0 if "correct images" in unit else 2
    absolute = unit.startswith("%")
    parts = [str(r["value"])] if isinstance(r["value"], str) else []
    if np.isfinite(r["mean"]) and r["n"]:
        fmt = (lambda v: f"{v:.{digits}f}") if absolute else (lambda v: _num(v, digits))
        ci = f" [{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]" if np.isfinite(r["ci_low"]) else ""
        parts.append(f"{fmt(r['mean'])}{'%' if absolute else ' ' + unit.split(' (')[0]}{ci}")
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
