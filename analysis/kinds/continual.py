"""Continual learning (experiment kind ``continual``): the tidy accuracy matrices, the
permuted and split report sections, the headline a sweep prints, and claims 3 (active
dendrites on permuted tasks) and 4 (the dendritic CNN on split tasks)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from analysis import anchors as A
from analysis import keys
from analysis import tables as T
from analysis.claims import (DEFAULT_RULES, FEW, INCONCLUSIVE, NOT_REPRODUCED, NOT_RUN,
                             REPRODUCED, claim_row, dataset_text, interval_numbers, not_run,
                             paired_diffs, per_seed, protocol_text, superiority_verdict)
from analysis.continual import continual_trials, running_means
from analysis.contrasts import contrasts_display, protocol_contrasts
from analysis.figures import matrix_figure, running_mean_figure
from analysis.grouping import setting_columns, setting_groups
from analysis.hparams import arm_hyperparameters, search_records
from analysis.kinds.base import Frames, KindAnalysis
from analysis.loading import Results
from analysis.markdown import table
from analysis.report_out import ReportOut
from analysis.rules import MIN_SEEDS, VerdictRules, inconclusive
from analysis.stats import Sample, holm, paired_t, seeds_for_power, t_interval, tost
from analysis.tidy_rows import ID_COLUMNS, carry_columns, is_list

HEADINGS = {"permuted": "Permuted tasks", "split": "Split tasks"}
ADN_MLP, ADN_CNN = "active_dendrites_mlp", "active_dendrites_cnn"


# --- tidy: the accuracy matrices as rows ----------------------------------------------------


def tidy_continual(history: pd.DataFrame, config_columns: Sequence[str] | None = None,
                   sweep: str | None = None) -> pd.DataFrame:
    """The accuracy matrices as rows R[t, i]: task_trained t, task_evaluated i, accuracy."""
    out_cols = ["stream", "task_trained", "task_evaluated", "accuracy"]
    if history.empty or keys.MATRIX_ROW not in history:
        return pd.DataFrame(columns=[*ID_COLUMNS, *out_cols])
    carry = carry_columns(history, config_columns, exclude=(*keys.CONTINUAL_STEP_KEYS, *out_cols))
    rows = history[history[keys.MATRIX_ROW].map(is_list)]
    if keys.TASK_END in rows:
        rows = rows[rows[keys.TASK_END].eq(True) | rows[keys.TASK_END].isna()]
    records = []
    for row in rows.to_dict("records"):
        t = int(row[keys.TASK]) if pd.notna(row.get(keys.TASK)) else len(row[keys.MATRIX_ROW]) - 1
        base = {c: row.get(c) for c in carry}
        stream = keys.continual_stream(row, sweep)
        for i, acc in enumerate(row[keys.MATRIX_ROW]):
            records.append({**base, "stream": stream, "task_trained": t, "task_evaluated": i,
                            "accuracy": float(acc) if acc is not None else np.nan})
    frame = pd.DataFrame.from_records(records, columns=[*carry, *out_cols])
    # a restored trial may report a task twice: the later report wins
    ids = [c for c in ("exp_name", "trial_id", "task_trained", "task_evaluated") if c in frame]
    return frame.drop_duplicates(ids, keep="last").reset_index(drop=True)


def _frames(history: pd.DataFrame, config_columns: Sequence[str], sweep: str | None
            ) -> Frames:
    return {"continual": tidy_continual(history, config_columns, sweep)}


def _trials(results: Results, frames: Frames) -> tuple[pd.DataFrame, list[str]]:
    """One row per trial (``analysis.continual.continual_trials``) and the settings that
    split them."""
    continual = frames.get("continual", pd.DataFrame())
    sub = results.of_kind("continual")
    trials = continual_trials(continual, sub.history)
    settings = setting_columns(trials, sub.config_columns, T.CONTINUAL_AXES) if len(trials) \
        else []
    return trials, settings


# --- the report sections and the headline ----------------------------------------------------


def _section(o: ReportOut, results: Results, frames: Frames, *, tolerance: float, alpha: float,
             resamples: int) -> None:
    continual = frames.get("continual", pd.DataFrame())
    trials, settings = _trials(results, frames)
    running = running_means(continual)
    if len(trials):
        o.csv(trials, "continual_trials")
    streams = set(trials["stream"]) if "stream" in trials else set()
    if not streams:
        o.add(f"## {HEADINGS['permuted']}", "", "_(no task finished yet)_", "")
        return
    for stream in ("permuted", "split"):
        if stream not in streams:
            continue
        mine = trials[trials["stream"] == stream]
        o.add(f"## {HEADINGS[stream]}", "")
        datasets = sorted(map(str, mine["dataset"].dropna().unique())) if "dataset" in mine else []
        if datasets:
            o.add(f"Dataset(s): {', '.join(datasets)}.", "")
        left_out = int((~mine["complete"].astype(bool)).sum())
        if left_out:
            o.add(f"{left_out} trial(s) have not trained all their tasks: they count in the "
                  f"running means but not in the final forgetting / BWT"
                  + (" / mean accuracy" if stream == "permuted" else "") + ".", "")
        if stream == "permuted":
            summary = T.permuted_summary(trials, settings)
            o.csv(summary, "permuted_table")
            o.add("Mean accuracy over all tasks after training on all, forgetting and backward "
                  "transfer (BWT), in % / points; mean ± std over seeds.", "")
            o.tables(T.permuted_display(summary, settings))
        else:
            summary = T.split_summary(trials, running, settings)
            o.csv(summary, "split_table")
            o.add("Running mean accuracy over the tasks seen so far after each task (%), "
                  "forgetting and BWT (points); mean ± std over seeds.", "")
            o.tables(T.split_display(summary, settings))
        _protocol_contrasts(o, mine, settings, stream, resamples)
        _hyperparameter_tables(o, mine, results.experiments)
        ids = mine[["exp_name", "trial_id"]]
        o.figure(running_mean_figure(running.merge(ids, on=["exp_name", "trial_id"])),
                 f"running_mean_{stream}", "running mean accuracy vs tasks")
        o.figure(matrix_figure(continual.merge(ids, on=["exp_name", "trial_id"])),
                 f"accuracy_matrix_{stream}", "accuracy matrix")
        _consistency_note(o, mine)


def _protocol_contrasts(o: ReportOut, trials: pd.DataFrame, settings: Sequence[str], stream: str,
                        resamples: int) -> None:
    """An arm run under several protocols: their paired differences (analysis/contrasts)."""
    contrasts = protocol_contrasts(trials, settings, resamples=resamples)
    if contrasts.empty:
        return
    o.csv(contrasts, f"{stream}_protocol_contrasts")
    o.add("#### The same arm under different protocols, paired by seed", "",
          "Protocol b minus protocol a, in points, over the seeds both ran (finished trials "
          "only): mean difference, two-sided 95% t-interval and a two-sided paired t-test.",
          "")
    o.add(table(contrasts_display(contrasts)))


def _hyperparameter_tables(o: ReportOut, trials: pd.DataFrame, experiments: pd.DataFrame) -> None:
    """Each arm's values and, for ``--tune`` runs, the search that chose them."""
    arms = arm_hyperparameters(trials)
    if len(arms):
        o.add("#### Hyper-parameters per arm", "",
              "`hp_source`: `search` (chosen on the validation split, see below), "
              "`preset:<name>`, `cli`, or empty (defaults).", "")
        o.add(table(arms))
    search, notes = search_records(experiments[experiments["exp_name"].isin(
        set(trials["exp_name"]))])
    if len(search):
        o.csv(search, "search_trials")
        o.add("#### How the hyper-parameters were chosen", "", *notes, "",
              "Every grid point of the search (`val_mean_accuracy`: mean validation accuracy "
              "over the tasks seen after the last one it trained; a point with fewer "
              "`tasks_done` than the proxy was stopped early by ASHA and could not be "
              "chosen):", "")
        o.add(table(search))


def _consistency_note(o: ReportOut, trials: pd.DataFrame) -> None:
    """Flag trials whose own reported forgetting / BWT disagree with ours."""
    bad = []
    for m in ("forgetting", "bwt"):
        col = f"reported_{m}"
        if col in trials:
            diff = (trials[m] - trials[col]).abs()
            bad += list(trials.loc[diff > 1e-4, "trial_id"])
    if bad:
        o.add(f"Note: {len(set(bad))} trial(s) reported forgetting/BWT that differ from the "
              f"values computed here from their accuracy matrices: {', '.join(sorted(set(bad)))}.",
              "")


def _headline(results: Results, frames: Frames, *, tolerance: float, alpha: float
              ) -> list[str]:
    continual = frames.get("continual")
    if continual is None or continual.empty:
        return ["continual: no task finished"]
    trials, settings = _trials(results, frames)
    lines = ["continual: mean accuracy over all tasks and forgetting, mean ± std over seeds"]
    for stream in ("permuted", "split"):
        mine = trials[trials["stream"] == stream] if "stream" in trials else trials.iloc[:0]
        if mine.empty:
            continue
        if stream == "permuted":
            displays = T.permuted_display(T.permuted_summary(mine, settings), settings)
        else:
            displays = T.split_display(T.split_summary(mine, running_means(continual), settings),
                                       settings)
        for label, frame in displays:
            keep = [c for c in frame.columns if not c.startswith("after task")
                    or c == frame.columns[-3]]  # split: the last running mean only
            lines.append(f"{stream}{': ' + label if label else ''}")
            lines += table(frame[keep]).rstrip("\n").splitlines()
    return lines


# --- claims 3 and 4 ----------------------------------------------------------------------------


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
    return protocol_text(cell, label, extra)


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
                d = paired_diffs(sign * per_seed(mine, metric), sign * per_seed(theirs, metric),
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
        numbers = interval_numbers(s, rules, "lower")
        if t["sign"] < 0:  # shown as ours - baseline forgetting: negative is better
            numbers.update(mean=-s.mean, ci_low=-numbers["ci_high"], ci_high=-numbers["ci_low"],
                           bound=-numbers["bound"],
                           interval=numbers["interval"].replace("lower bound", "upper bound"))
        rows.append(claim_row(
            claim, **base, **numbers,
            comparison=f"{t['arm']} vs {other}{task_id}"
                       + (": isolates dendrites (headline)" if isolates else ""),
            metric=metric, published=published, published_value=value,
            source=A.NUMENTA_ADN if claim == 3 else A.BAIN,
            unit=f"points ({metric}: ours - baseline)",
            test=f"paired t, one-sided, Holm over {family}",
            p_value=p_better,
            verdict=superiority_verdict(s, p_better, p_worse, rules, max(1, family)),
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
    values = 100 * per_seed(cell[cell["label"] == arm], "mean_accuracy").to_numpy(dtype=float)
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
    return claim_row(3, **base, **interval_numbers(s, rules, None),
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
        base = dict(dataset=dataset_text(cell), protocol=_continual_protocol(cell, label))
        labels = sorted(map(str, cell["label"].unique()))
        ours = [lab for lab in labels if _is_dendritic_adn(lab, model)]
        baselines = [lab for lab in labels if not lab.startswith(model)]
        if not ours:
            rows.append(claim_row(claim, **base, comparison=f"{model} vs baselines", value="—",
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


def _claims(results: Results, frames: Frames, *, rules: VerdictRules, resamples: int
            ) -> list[dict]:
    trials, settings = pd.DataFrame(), []
    if "continual" in results.kinds and len(frames.get("continual", pd.DataFrame())):
        trials, settings = _trials(results, frames)
    return [*claim3(trials, settings, rules=rules), *claim4(trials, settings, rules=rules)]


ANALYSIS = KindAnalysis("continual", tidy=_frames, section=_section, headline=_headline,
                        claims=_claims)
