"""The paper's four claims, each judged from result folders by a rule of ``analysis.rules``.

One row per claim and setting: the published value and its source (``analysis.anchors``),
sparsenet's value (mean difference over seeds with its two-sided t-interval and, for a
one-sided test, its one-sided bound; n), the test, its p-value, a verdict and the rule that
produced it. A claim with no results says "not run"; one with fewer than ``MIN_SEEDS`` paired
seeds says "inconclusive (n < 3)"; every other "inconclusive" says how many seeds would decide.
All comparisons pair seeds. The statistics are scipy's and statsmodels' (``analysis.stats``).
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np
import pandas as pd

from analysis import anchors as A
from analysis import keys
from analysis.grouping import level_key, replicate_column, setting_groups
from analysis.hypothesis import noise_hypothesis
from analysis.markdown import percent
from analysis.rules import MIN_SEEDS, VerdictRules, inconclusive
from analysis.stats import (Sample, holm, paired_t, seeds_for_power, t_bound, t_interval,
                            t_test, tost)

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_RUN = (
    "reproduced", "not reproduced", "inconclusive", "not run")
FEW = f"{INCONCLUSIVE} (n < {MIN_SEEDS})"
CLAIMS = {1: "lottery tickets", 2: "noise", 3: "active dendrites (permuted)",
          4: "dendritic CNN (split)"}
COLUMNS = ["claim", "dataset", "protocol", "comparison", "metric", "published",
           "published_value", "source", "value", "mean", "ci_low", "ci_high", "bound",
           "interval", "n", "unit", "test", "p_value", "verdict", "rule", "headline",
           "anchors_version"]
ADN_MLP, ADN_CNN = "active_dendrites_mlp", "active_dendrites_cnn"
PAPER_NOISES = (keys.PAPER_NOISE, "numenta")
DEFAULT_RULES = VerdictRules()
# controls the paper finds DO help (activation sparsity): reproduced = significantly higher
HELPS = (keys.control_network_name("activation_sparse"), keys.control_network_name("both"),
         "control:numenta_sparse_cnn2")


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


def _per_seed(frame: pd.DataFrame, value: str) -> pd.Series:
    rep = replicate_column(frame)
    return frame.dropna(subset=[value]).groupby(rep)[value].mean()


def _diffs(candidate: pd.Series, reference: pd.Series, scale: float = 1.0) -> np.ndarray:
    """candidate - reference over the seeds both have (paired by seed), times ``scale``."""
    both = pd.concat([candidate.rename("c"), reference.rename("r")], axis=1).dropna()
    return scale * (both["c"] - both["r"]).to_numpy(dtype=float)


def _numbers(sample: Sample, rules: VerdictRules, side: str | None) -> dict:
    """mean, two-sided t-interval and (for a one-sided test) the one-sided bound, labelled."""
    low, high = t_interval(sample, rules.confidence)
    out = dict(mean=sample.mean, ci_low=low, ci_high=high, n=sample.n,
               interval=f"{rules.pct} t-CI")
    if side:
        out.update(bound=t_bound(sample, side, rules.confidence),
                   interval=f"{rules.pct} t-CI; one-sided {rules.pct} {side} bound")
    return out


def _superiority_verdict(sample: Sample, p_better: float, p_worse: float, rules: VerdictRules,
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


# --- claim 1: lottery tickets ----------------------------------------------------------------


def _imp_anchor(frame: pd.DataFrame) -> tuple[float, str, str, str]:
    """The published compression for the protocol, its text, source and count: Frankle &
    Carbin's over prunable weights for their preset, the paper's 33x over all parameters."""
    preset = (_first(frame, "preset", "protocol") or "").lower()
    if "frankle" in preset:
        a = A.anchor("frankle.matches_dense_down_to")
        return (1.0 / a.value, f"{1 / a.value:.1f}x ({percent(a.value)} of weights remaining)",
                a.source, "weights")
    a = A.anchor("bain.compression")
    return (a.value, f"{a.value:g}x over all parameters "
            f"({percent(A.anchor('bain.weights_remaining').value)} remaining)", a.source, "all")


def _all_params_compression(rows: pd.DataFrame) -> float:
    """Compression over all parameters at one round, if the rows record it."""
    if "compression_all_params" in rows and rows["compression_all_params"].notna().any():
        return float(rows["compression_all_params"].mean())
    if "params_remaining" in rows and rows["params_remaining"].notna().any():
        return float(1.0 / rows["params_remaining"].mean())
    return float("nan")


def _rounds(win: pd.DataFrame, levels: Sequence[float], dense: pd.Series, metric: str,
            rules: VerdictRules) -> list[dict]:
    """Per pruned round: winning - dense in points (paired), non-inferiority and inferiority
    p-values against the margin, compression over prunable weights and all parameters."""
    m = rules.margin_points
    out = []
    for wr in levels[1:]:
        rows = win[win["_wr"] == wr]
        d = _diffs(_per_seed(rows, metric), dense, 100.0)
        s = Sample.of(d)
        out.append(dict(wr=wr, sample=s, complete=s.n >= dense.size,
                        p_ni=paired_t(d, "greater", -m).pvalue,
                        p_inf=paired_t(d, "less", -m).pvalue,
                        weights=1.0 / wr, all=_all_params_compression(rows)))
    return out


def _walk(rounds: list[dict], rules: VerdictRules) -> tuple[dict | None, dict | None]:
    """Fixed sequence: (last round shown non-inferior, the round the walk stopped at).

    The walk stops at the first round not shown non-inferior (a round with fewer than
    ``MIN_SEEDS`` paired seeds cannot be, so it stops there too). A round with fewer seeds
    than dense is tested on the seeds it has, and the verdict says so (``_partial_note``)."""
    passed = None
    for r in rounds:
        if r["sample"].n < MIN_SEEDS or not r["p_ni"] < rules.alpha:
            return passed, r
        passed = r
    return passed, None


def _partial_note(used: list[dict], n_dense: int) -> str:
    """`` (partial: 3 of 4 seeds from 1.6x on)`` when a round the verdict rests on lacks
    seeds dense has: damaged or unfinished results never move a verdict silently."""
    short = next((r for r in used if not r["complete"]), None)
    if short is None:
        return ""
    return f" (partial: {short['sample'].n} of {n_dense} seeds from {short['weights']:.1f}x on)"


def _compression_text(r: dict | None) -> str:
    if r is None:
        return "1.0x (dense: no pruned round shown non-inferior)"
    extra = f" / {r['all']:.1f}x over all parameters" if np.isfinite(r["all"]) else \
        " / all-parameter count not recorded"
    return f"{r['weights']:.1f}x over prunable weights{extra} ({percent(r['wr'])} remaining)"


def _stop_text(stop: dict | None, n_dense: int, rules: VerdictRules) -> str:
    if stop is None:
        return "every round passed"
    at = f"{stop['weights']:.1f}x"
    s = stop["sample"]
    if s.n < MIN_SEEDS:
        return f"walk stopped at {at}: only {s.n} of {n_dense} seeds reached it"
    return (f"walk stopped at {at}: not shown non-inferior ({s.mean:+.2f} points, one-sided "
            f"lower bound {t_bound(s, 'lower', rules.confidence):+.2f} vs -"
            f"{rules.margin_points:g}, p={stop['p_ni']:.2g})")


def _claim1_verdict(rounds: list[dict], passed: dict | None, stop: dict | None,
                    n_dense: int, published: float, count: str,
                    rules: VerdictRules) -> str:
    if n_dense < MIN_SEEDS:
        return FEW

    def reach(r: dict) -> float:
        value = r["all"] if count == "all" and np.isfinite(r["all"]) else r["weights"]
        return value

    walked = rounds[:rounds.index(stop) + 1] if stop is not None else rounds
    if passed is not None and reach(passed) >= published:
        return REPRODUCED + _partial_note(walked, n_dense)
    # inferiority at the rounds at or below the published compression that did not pass
    past = rounds[rounds.index(passed) + 1:] if passed is not None else rounds
    family = [r for r in past if r["sample"].n >= MIN_SEEDS and reach(r) <= published]
    adjusted = holm([r["p_inf"] for r in family], rules.alpha)
    if len(family) and np.nanmin(adjusted) < rules.alpha:
        return NOT_REPRODUCED + _partial_note(walked + family, n_dense)
    if stop is not None and stop["sample"].n < MIN_SEEDS:
        return f"{INCONCLUSIVE} (round {stop['weights']:.1f}x has {stop['sample'].n} of " \
               f"{n_dense} seeds: finish it)"
    if stop is None:
        top = max((reach(r) for r in rounds), default=1.0)
        return f"{INCONCLUSIVE} (sweep reached only {top:.1f}x: prune further)" + \
            _partial_note(walked, n_dense)
    m = rules.margin_points
    s = stop["sample"]
    options = [seeds_for_power(s.mean + m, s.sd, alpha=rules.alpha, power=rules.power)]
    options += [seeds_for_power(-m - r["sample"].mean, r["sample"].sd,
                                alpha=rules.alpha / max(1, len(family)), power=rules.power)
                for r in family]
    options = [o for o in options if o is not None]
    return inconclusive(min(options) if options else None, s.n,
                        f"not shown non-inferior at {stop['weights']:.1f}x, no inferiority "
                        f"shown at or below {published:.1f}x") + _partial_note(walked, n_dense)


def claim1(imp: pd.DataFrame, settings: Sequence[str] = (), *, metric: str | None = None,
           rules: VerdictRules = DEFAULT_RULES, resamples: int = 10_000) -> list[dict]:
    """Highest compression whose winning tickets are non-inferior to dense by a fixed
    sequence of tests from dense to sparse (``VerdictRules.claim1``), and winning vs random
    tickets at that compression."""
    from analysis.tables import imp_metric

    metric = metric or (imp_metric(imp) if len(imp) else None)
    if imp.empty or metric is None or keys.WEIGHTS_REMAINING not in imp:
        return [not_run(1)]
    frame = imp.assign(_wr=level_key(imp[keys.WEIGHTS_REMAINING]).to_numpy())
    if keys.TICKET not in frame:
        frame[keys.TICKET] = "winning"
    rows = []
    m = rules.margin_points
    for label, part in setting_groups(frame, [s for s in settings if s != keys.TICKET]):
        win = part[part[keys.TICKET] == "winning"]
        if win.empty:
            rows.append(not_run(1, "no winning tickets"))
            continue
        published, published_text, source, count = _imp_anchor(part)
        base = dict(dataset=_dataset(part), metric=metric, source=source,
                    protocol=_protocol(part, label, [_first(part, "arch")]))
        levels = sorted(win["_wr"].dropna().unique(), reverse=True)
        dense = _per_seed(win[win["_wr"] == levels[0]], metric)
        rounds = _rounds(win, levels, dense, metric, rules)
        passed, stop = _walk(rounds, rules)
        verdict = _claim1_verdict(rounds, passed, stop, int(dense.size), published, count,
                                  rules)
        shown = passed or stop
        numbers = (_numbers(shown["sample"], rules, "lower") if shown
                   else dict(n=int(dense.size)))
        at = "the headline round" if passed else "the round the walk stopped at"
        rows.append(_row(
            1, **base, **numbers,
            comparison=f"highest compression with winning tickets non-inferior to dense "
                       f"(margin {m:g} points)",
            published=published_text, published_value=published,
            value=f"{_compression_text(passed)}; {_stop_text(stop, int(dense.size), rules)}",
            unit=f"points (winning - dense at {at})",
            test=f"paired t, one-sided non-inferiority (margin {m:g}), fixed sequence",
            p_value=shown["p_ni"] if shown else np.nan, verdict=verdict, rule=rules.claim1(),
            headline=True))
        rows.append(_winning_vs_random(part, win, passed, dense, metric, base, rules))
    return rows


def _winning_vs_random(part: pd.DataFrame, win: pd.DataFrame, passed: dict | None,
                       dense: pd.Series, metric: str, base: dict, rules: VerdictRules) -> dict:
    frankle = A.anchor("frankle.matches_dense_down_to")
    where = f"{passed['weights']:.1f}x" if passed else "the headline compression"
    common = dict(base, comparison=f"winning vs random tickets at {where}",
                  published="winning > random", source=frankle.source,
                  unit="points (winning - random)", test="paired t, one-sided superiority",
                  rule=rules.claim1_random(), headline=True)
    if passed is None:
        if dense.size < MIN_SEEDS:
            return _row(1, **common, value="—", n=int(dense.size), verdict=FEW)
        return _row(1, **common, value="—", n=int(dense.size),
                    verdict=f"{INCONCLUSIVE} (no pruned round shown non-inferior)")
    rand = part[(part[keys.TICKET] == "random") & (part["_wr"] == passed["wr"])]
    if rand.empty:
        return _row(1, **{**common, "rule": "not run: no random tickets at that compression"},
                    value="—", n=0, verdict=NOT_RUN)
    d = _diffs(_per_seed(win[win["_wr"] == passed["wr"]], metric), _per_seed(rand, metric),
               100.0)
    s = Sample.of(d)
    better, worse = paired_t(d, "greater").pvalue, paired_t(d, "less").pvalue
    return _row(1, **common, **_numbers(s, rules, "lower"), p_value=better,
                verdict=_superiority_verdict(s, better, worse, rules))


# --- claim 2: noise ----------------------------------------------------------------------------


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
    if not tests["candidate"].isin([*keys.TICKET_ORDER, "control:weight_sparse"]).any():
        return [not_run(2, "no weight-sparse network paired with a dense one")]
    noises = set(tests["noise"])
    headline_noises = [n for n in PAPER_NOISES if n in noises] or sorted(noises)
    rows = []
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
        who = f"the {keys.CONTROL_LABELS.get(cand, cand)} control" if control \
            else f"{cand} tickets"
        if helps:
            published = (f"more robust (Numenta: sparse CNN-2 {sparse.value:,.0f} vs dense "
                         f"{dense.value:,.0f})")
        elif control:
            published = (f"not more robust (Numenta: {weight.value:,.0f} vs dense "
                         f"{dense.value:,.0f})")
        else:
            published = "hypothesis rejected"
        worst = levels.loc[levels["upper"].fillna(np.inf).idxmax()] if testable.any() \
            else levels.loc[levels["sample"].map(lambda s: s.n).idxmax()]
        below = int((levels["upper"] < levels["delta"]).sum())
        higher = int((levels["p_sup_holm"] < rules.alpha).sum())
        m = len(levels)
        rows.append(_row(
            2, dataset=_dataset(scored) if len(scored) else "?",
            protocol=_protocol(scored, setting, [f"noise {noise}"]),
            comparison=(f"{who} vs {ref}, {m} sparsity level(s): more robust to noise by "
                        f"more than the margin at any?" if not helps else
                        f"{who} vs {ref}, {m} sparsity level(s): more robust to noise?"),
            metric="noise score", published=published, published_value=np.nan,
            source=sparse.source if helps else weight.source if control else bain.source,
            value=(f"margin delta {worst['delta']:,.0f} ({100 * rules.noise_margin:g}% of "
                   f"dense); upper bound below delta at {below} of {m} level(s); "
                   f"significantly higher (Holm) at {higher}"),
            **_numbers(worst["sample"], rules, "upper"),
            unit=f"correct images ({who} - {ref}, level with the highest upper bound: "
                 f"{percent(worst['pruned'])} pruned)",
            test="paired t per level: non-superiority (margin delta, intersection-union) and "
                 "superiority (Holm across levels)",
            p_value=float(levels["p_ns"].max()) if testable.all() else np.nan,
            verdict=verdict, rule=rules.claim2(),
            headline=noise in headline_noises and cand in ("winning", "control:weight_sparse")))
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


def _isolates_dendrites(claim: int, other: str) -> bool:
    """Claim 4's headline comparison: the sparse CNN that is also given the task id."""
    return claim == 4 and other.startswith("sparse_cnn") and "[" in other


def _vs_baselines(claim: int, cell: pd.DataFrame, ours: Sequence[str],
                  baselines: Sequence[str], base: dict, rules: VerdictRules,
                  tasks: int | None) -> list[dict]:
    """Every dendritic arm vs every baseline on accuracy and forgetting: one Holm family."""
    tests = []
    for arm in ours:
        mine = cell[cell["label"] == arm]
        for other in baselines:
            theirs = cell[cell["label"] == other]
            for metric, sign in (("mean_accuracy", 1), ("forgetting", -1)):
                d = _diffs(sign * _per_seed(mine, metric), sign * _per_seed(theirs, metric),
                           100.0)
                tests.append(dict(arm=arm, other=other, metric=metric, sign=sign,
                                  sample=Sample.of(d), better=paired_t(d, "greater").pvalue,
                                  worse=paired_t(d, "less").pvalue))
    family = sum(t["sample"].n >= MIN_SEEDS for t in tests)
    better = holm([t["better"] if t["sample"].n >= MIN_SEEDS else np.nan for t in tests],
                  rules.alpha)
    worse = holm([t["worse"] if t["sample"].n >= MIN_SEEDS else np.nan for t in tests],
                 rules.alpha)
    rows = []
    for t, p_better, p_worse in zip(tests, better, worse):
        metric, other, s = t["metric"], t["other"], t["sample"]
        published, value = _published_gap(claim, t["arm"], other, tasks, metric)
        task_id = "" if claim == 3 else (" (baseline with task id)" if "[" in other
                                         else " (baseline without task id)")
        isolates = _isolates_dendrites(claim, other)
        numbers = _numbers(s, rules, "lower")
        if t["sign"] < 0:  # shown as ours - baseline forgetting: negative is better
            numbers.update(mean=-s.mean, ci_low=-numbers["ci_high"], ci_high=-numbers["ci_low"],
                           bound=-numbers["bound"],
                           interval=numbers["interval"].replace("lower bound", "upper bound"))
        rows.append(_row(
            claim, **base, **numbers,
            comparison=f"{t['arm']} vs {other}{task_id}"
                       + (": isolates dendrites (headline)" if isolates else ""),
            metric=metric, published=published, published_value=value,
            source=A.NUMENTA_ADN if claim == 3 else A.BAIN,
            unit=f"points ({metric}: ours - baseline)",
            test=f"paired t, one-sided, Holm over {family}",
            p_value=p_better,
            verdict=_superiority_verdict(s, p_better, p_worse, rules, max(1, family)),
            rule=rules.superiority(family), headline=metric == "mean_accuracy",
            _order=0 if isolates else 1))
    rows.sort(key=lambda r: r.pop("_order"))
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


def _equivalence_verdict(values: np.ndarray, published: float, rules: VerdictRules) -> str:
    e = rules.equivalence_margin_points
    s = Sample.of(values)
    if s.n < MIN_SEEDS:
        return FEW
    if tost(values, published - e, published + e).pvalue < rules.alpha:
        return REPRODUCED
    low, high = t_interval(s, 1 - 2 * rules.alpha)
    if low > published + e or high < published - e:
        return NOT_REPRODUCED
    gap = abs(s.mean - published)
    effect = e - gap if gap < e else gap - e
    return inconclusive(seeds_for_power(effect, s.sd, alpha=rules.alpha, power=rules.power),
                        s.n, f"{100 * (1 - 2 * rules.alpha):g}% t-interval overlaps the "
                             f"margin edge")


def _vs_published(cell: pd.DataFrame, arm: str, base: dict, tasks: int | None,
                  rules: VerdictRules) -> dict | None:
    """Does the arm's mean agree with Numenta's published mean (TOST, +- margin)?"""
    values = 100 * _per_seed(cell[cell["label"] == arm], "mean_accuracy").to_numpy(dtype=float)
    pub = A.numenta_pmnist(arm, tasks)
    if values.size == 0:
        return None
    dataset = base["dataset"]
    e = rules.equivalence_margin_points
    s = Sample.of(values)
    p, tost_text = np.nan, ""
    if pub is None:
        verdict = f"{INCONCLUSIVE} (no published value at {tasks} tasks)"
    elif not A.same_dataset(dataset, pub.dataset):
        verdict = f"{INCONCLUSIVE} (dataset {dataset}, published on {pub.dataset})"
    else:
        verdict = _equivalence_verdict(values, 100 * pub.value, rules)
        if s.n >= MIN_SEEDS:
            p = tost(values, 100 * pub.value - e, 100 * pub.value + e).pvalue
            low, high = t_interval(s, 1 - 2 * rules.alpha)
            tost_text = (f"{100 * (1 - 2 * rules.alpha):g}% t-interval [{low:.2f}, {high:.2f}]"
                         f" vs margin [{100 * pub.value - e:.2f}, {100 * pub.value + e:.2f}]")
    return _row(3, **base, **_numbers(s, rules, None),
                comparison=f"{arm} vs Numenta's published mean",
                metric="mean_accuracy", value=tost_text or np.nan,
                published=f"{100 * pub.value:.2f}%" if pub else "—",
                published_value=100 * pub.value if pub else np.nan,
                source=A.NUMENTA_ADN, unit="% mean accuracy",
                test=f"TOST equivalence, margin +-{e:g} points", p_value=p,
                verdict=verdict, rule=rules.equivalence(), headline=True)


def _is_dendritic_adn(label: str, model: str) -> bool:
    return label.startswith(model) and "+SI" not in label


def claim3(trials: pd.DataFrame, settings: Sequence[str] = (), *,
           rules: VerdictRules = DEFAULT_RULES, resamples: int = 10_000) -> list[dict]:
    """ADN vs each baseline (paired by seed) on mean accuracy and forgetting, and ADN
    (and ADN + SI) vs Numenta's published means, on permuted tasks."""
    return _continual_claim(3, trials, "permuted", ADN_MLP, settings, rules)


def claim4(trials: pd.DataFrame, settings: Sequence[str] = (), *,
           rules: VerdictRules = DEFAULT_RULES, resamples: int = 10_000) -> list[dict]:
    """The dendritic CNN vs each CNN baseline, with and without the task id, on split tasks;
    the headline is the comparison with the sparse CNN given the task id."""
    return _continual_claim(4, trials, "split", ADN_CNN, settings, rules)


def _continual_claim(claim: int, trials: pd.DataFrame, stream: str, model: str,
                     settings: Sequence[str], rules: VerdictRules) -> list[dict]:
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
        rows += _vs_baselines(claim, cell, ours, baselines, base, rules, tasks)
        if claim == 3:
            for arm in [lab for lab in labels if lab.startswith(model)]:
                row = _vs_published(cell, arm, base, tasks, rules)
                if row is not None:
                    row["headline"] = "+SI" not in arm
                    rows.append(row)
    return rows or [not_run(claim, "no complete trials")]


# --- everything ----------------------------------------------------------------------------------


def claims_table(imp: pd.DataFrame | None = None, scores: pd.DataFrame | None = None,
                 trials: pd.DataFrame | None = None, *, imp_settings: Sequence[str] = (),
                 noise_settings: Sequence[str] = (), continual_settings: Sequence[str] = (),
                 rules: VerdictRules = DEFAULT_RULES, resamples: int = 10_000,
                 noise_tests: pd.DataFrame | None = None) -> pd.DataFrame:
    """All four claims as one frame (``COLUMNS``); a claim without results is "not run"."""
    empty = pd.DataFrame()
    imp = empty if imp is None else imp
    scores = empty if scores is None else scores
    trials = empty if trials is None else trials
    rows = [*claim1(imp, imp_settings, rules=rules, resamples=resamples),
            *claim2(scores, noise_settings, rules=rules, resamples=resamples,
                    tests=noise_tests),
            *claim3(trials, continual_settings, rules=rules),
            *claim4(trials, continual_settings, rules=rules)]
    return pd.DataFrame.from_records(rows, columns=COLUMNS)


def _num(v: float, digits: int = 2) -> str:
    return f"{v:+.{digits}f}" if np.isfinite(v) else "—"


def ours_header(rules: VerdictRules = DEFAULT_RULES) -> str:
    return f"sparsenet (mean [{rules.pct} t-CI]; one-sided {rules.pct} bound; n)"


def display(claims: pd.DataFrame, *, headline_only: bool = False,
            rules: VerdictRules = DEFAULT_RULES) -> pd.DataFrame:
    """The Markdown view: published vs ours with the t-interval, bound and n, the test's p
    and the verdict."""
    from analysis.hypothesis import format_p

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
