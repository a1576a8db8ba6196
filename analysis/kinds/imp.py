"""Lottery tickets (experiment kind ``imp``): the tidy rounds, the report section, the
headline a sweep prints, and claim 1 (winning tickets non-inferior to dense down to the
published compression, and better than random tickets there)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from analysis import anchors as A
from analysis import keys
from analysis import tables as T
from analysis.claims import (DEFAULT_RULES, FEW, INCONCLUSIVE, NOT_REPRODUCED, NOT_RUN,
                             REPRODUCED, claim_row, dataset_text, first_value,
                             interval_numbers, not_run, paired_diffs, per_seed, protocol_text,
                             superiority_verdict)
from analysis.figures import imp_figure
from analysis.grouping import level_key, setting_groups
from analysis.kinds.base import Frames, KindAnalysis, kind_settings
from analysis.loading import Results
from analysis.markdown import percent, table
from analysis.report_out import ReportOut
from analysis.rules import MIN_SEEDS, VerdictRules, inconclusive
from analysis.stats import Sample, holm, paired_t, seeds_for_power, t_bound
from analysis.tidy_rows import ID_COLUMNS, carry_columns, is_list

HEADING = "Lottery tickets"
AXES = (keys.TICKET,)  # never a setting: winning and random tickets are compared


# --- tidy: one row per round ---------------------------------------------------------------


def tidy_imp(history: pd.DataFrame, config_columns: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per IMP round (the ``round_end`` step) with its accuracies and config."""
    if history.empty:
        return pd.DataFrame(columns=[*ID_COLUMNS, keys.WEIGHTS_REMAINING])
    h = history
    if keys.ROUND_END in h:
        rows = h[h[keys.ROUND_END].eq(True)]
    else:  # no round markers: a round's last reported epoch stands for it
        rows = h.groupby([c for c in ("exp_name", "trial_id", keys.ROUND) if c in h],
                         sort=False).tail(1)
    drop = [c for c in rows.columns if (c in keys.TUNE_KEYS and c != "trial_id") or c == "kind"]
    rows = rows.drop(columns=drop)
    rows = rows[[c for c in rows.columns if not rows[c].map(is_list).any()]]
    carry = carry_columns(rows, config_columns)
    rows = rows[carry + [c for c in rows.columns if c not in carry]].reset_index(drop=True)
    if keys.COMPRESSION not in rows and keys.WEIGHTS_REMAINING in rows:
        rows[keys.COMPRESSION] = 1.0 / rows[keys.WEIGHTS_REMAINING]
    return rows


def _frames(history: pd.DataFrame, config_columns: Sequence[str], sweep: str | None
            ) -> Frames:
    return {"imp": tidy_imp(history, config_columns)}


# --- the report section and the headline ----------------------------------------------------


def _section(o: ReportOut, results: Results, frames: Frames, *, tolerance: float, alpha: float,
             resamples: int) -> None:
    imp = frames.get("imp", pd.DataFrame())
    o.add(f"## {HEADING}", "")
    metric = T.imp_metric(imp)
    if metric is None:
        o.add("_(no completed rounds yet)_", "")
        return
    settings = kind_settings(imp, results, "imp", AXES)
    o.add(f"Accuracy: {keys.IMP_METRIC_LABELS.get(metric, metric)}; mean ± std over seeds "
          f"(n = seeds), in %.", "")
    headline = T.imp_headline(imp, tolerance=tolerance, metric=metric, settings=settings)
    o.add("### Headline", "")
    o.add(*(f"- {s}" for s in T.headline_sentences(headline)), "")
    o.add(f"_Walking from dense to sparser rounds, the headline is the last round before the "
          f"first whose mean falls more than {tolerance:g} points below dense._", "")
    o.csv(headline, "imp_headline")
    summary = T.imp_summary(imp, metric=metric, settings=settings)
    o.csv(summary, "imp_table")
    o.add("### Accuracy by weights remaining", "")
    o.tables(T.imp_display(summary, settings))
    o.figure(imp_figure(imp, metric=metric, settings=settings), "imp_accuracy",
             "accuracy vs weights remaining")
    other = [m for m in keys.IMP_METRICS[:2] if m != metric and m in imp and imp[m].notna().any()]
    for m in other:
        alt = T.imp_summary(imp, metric=m, settings=settings)
        o.csv(alt, f"imp_table_{m}")
        o.add(f"Also written: `imp_table_{m}.csv` ({keys.IMP_METRIC_LABELS[m]}).", "")


def _headline(results: Results, frames: Frames, *, tolerance: float, alpha: float
              ) -> list[str]:
    imp = frames.get("imp")
    if imp is None or imp.empty or T.imp_metric(imp) is None:
        return ["lottery tickets: no round finished"]
    metric = T.imp_metric(imp)
    settings = kind_settings(imp, results, "imp", AXES)
    lines = [f"lottery tickets: {keys.IMP_METRIC_LABELS.get(metric, metric)}, mean ± std "
             f"over seeds (n)"]
    summary = T.imp_summary(imp, metric=metric, settings=settings)
    for label, frame in T.imp_display(summary, settings):
        if label:
            lines.append(label)
        lines += table(frame).rstrip("\n").splitlines()
    headline = T.imp_headline(imp, tolerance=tolerance, metric=metric, settings=settings)
    lines += [f"headline: {s.replace('**', '')}" for s in T.headline_sentences(headline)]
    return lines


# --- claim 1 ---------------------------------------------------------------------------------


def _imp_anchor(frame: pd.DataFrame) -> tuple[float, str, str, str]:
    """The published compression for the protocol, its text, source and count: Frankle &
    Carbin's over prunable weights for their preset, the paper's 33x over all parameters."""
    preset = (first_value(frame, "preset", "protocol") or "").lower()
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
        d = paired_diffs(per_seed(rows, metric), dense, 100.0)
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
    metric = metric or (T.imp_metric(imp) if len(imp) else None)
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
        base = dict(dataset=dataset_text(part), metric=metric, source=source,
                    protocol=protocol_text(part, label, [first_value(part, "arch")]))
        levels = sorted(win["_wr"].dropna().unique(), reverse=True)
        dense = per_seed(win[win["_wr"] == levels[0]], metric)
        rounds = _rounds(win, levels, dense, metric, rules)
        passed, stop = _walk(rounds, rules)
        verdict = _claim1_verdict(rounds, passed, stop, int(dense.size), published, count,
                                  rules)
        shown = passed or stop
        numbers = (interval_numbers(shown["sample"], rules, "lower") if shown
                   else dict(n=int(dense.size)))
        at = "the headline round" if passed else "the round the walk stopped at"
        rows.append(claim_row(
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
            return claim_row(1, **common, value="—", n=int(dense.size), verdict=FEW)
        return claim_row(1, **common, value="—", n=int(dense.size),
                    verdict=f"{INCONCLUSIVE} (no pruned round shown non-inferior)")
    rand = part[(part[keys.TICKET] == "random") & (part["_wr"] == passed["wr"])]
    if rand.empty:
        return claim_row(1, **{**common, "rule": "not run: no random tickets at that compression"},
                    value="—", n=0, verdict=NOT_RUN)
    d = paired_diffs(per_seed(win[win["_wr"] == passed["wr"]], metric), per_seed(rand, metric),
               100.0)
    s = Sample.of(d)
    better, worse = paired_t(d, "greater").pvalue, paired_t(d, "less").pvalue
    return claim_row(1, **common, **interval_numbers(s, rules, "lower"), p_value=better,
                verdict=superiority_verdict(s, better, worse, rules))


PAPER_SELECTION = " (the paper's best-test selection)"


def _paper_selection(row: dict) -> dict:
    """A claim-1 row under the paper's selection, marked as the secondary view it is."""
    return dict(row, comparison=row["comparison"] + PAPER_SELECTION, headline=False,
                rule="Secondary view: the rule of the row selected on validation, on each "
                     "round's best test accuracy (the paper's selection: chosen on the test "
                     "set, so optimistic); the claim's verdict is the validation-selected "
                     "row's, and this row is not in a family-wise correction with it.")


def _claims(results: Results, frames: Frames, *, rules: VerdictRules, resamples: int
            ) -> list[dict]:
    """Claim 1 selected on validation (the verdict), and, when the folder has it, the same
    rule under the paper's best-test selection (issue 23 asks for both)."""
    imp = frames.get("imp", pd.DataFrame())
    settings = kind_settings(imp, results, "imp", AXES) if "imp" in results.kinds else []
    rows = claim1(imp, settings, rules=rules, resamples=resamples)
    validation, paper = keys.IMP_METRICS[:2]
    if len(imp) and T.imp_metric(imp) == validation and paper in imp \
            and imp[paper].notna().any():
        rows += [_paper_selection(row)
                 for row in claim1(imp, settings, metric=paper, rules=rules,
                                   resamples=resamples) if row["verdict"] != NOT_RUN]
    return rows


ANALYSIS = KindAnalysis("imp", tidy=_frames, section=_section, headline=_headline,
                        claims=_claims)
