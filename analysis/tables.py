"""The paper's four tables (numeric frames for CSV) and their Markdown displays.

Numeric frames keep fractions and separate mean / std / n columns; displays print
percentages as "mean ± std (n=seeds)".
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from analysis import keys
from analysis.grouping import level_key, setting_groups, summarize
from analysis.markdown import is_missing, percent, pm

# --- 1. lottery tickets --------------------------------------------------------------------


def imp_metric(imp: pd.DataFrame) -> str | None:
    """The round accuracy to use: validation-selected if reported, else the paper's."""
    for metric in keys.IMP_METRICS:
        if metric in imp and imp[metric].notna().any():
            return metric
    return None


def _ticket_rank(ticket: str) -> int:
    order = list(keys.TICKET_ORDER)
    return order.index(ticket) if ticket in order else len(order)


def imp_summary(imp: pd.DataFrame, *, metric: str | None = None,
                settings: Sequence[str] = ()) -> pd.DataFrame:
    """settings x ticket x weights remaining -> accuracy mean, std, n over seeds."""
    metric = metric or imp_metric(imp)
    cols = [*settings, keys.TICKET, keys.WEIGHTS_REMAINING, keys.COMPRESSION,
            keys.COMPRESSION_ALL, "metric", "mean", "std", "n"]
    if metric is None or imp.empty or keys.WEIGHTS_REMAINING not in imp:
        return pd.DataFrame(columns=cols)
    frame = imp.copy()
    if keys.TICKET not in frame:
        frame[keys.TICKET] = "unknown"
    frame["_wr"] = level_key(frame[keys.WEIGHTS_REMAINING]).to_numpy()
    out = summarize(frame, [*settings, keys.TICKET, "_wr"], metric)
    out = out.rename(columns={"_wr": keys.WEIGHTS_REMAINING})
    out[keys.COMPRESSION] = 1.0 / out[keys.WEIGHTS_REMAINING]
    out[keys.COMPRESSION_ALL] = np.nan
    if keys.COMPRESSION_ALL in frame:  # rows written before it existed lack it
        by = [c for c in (*settings, keys.TICKET) if c in frame]
        all_params = (frame.groupby([*by, "_wr"], dropna=False)[keys.COMPRESSION_ALL].mean()
                      .rename("_all").reset_index().rename(columns={"_wr": keys.WEIGHTS_REMAINING}))
        out = out.drop(columns=keys.COMPRESSION_ALL).merge(
            all_params, on=[*by, keys.WEIGHTS_REMAINING], how="left")
        out[keys.COMPRESSION_ALL] = out.pop("_all")
    out["metric"] = metric
    out["_t"] = out[keys.TICKET].map(_ticket_rank)
    out = out.sort_values([*settings, keys.WEIGHTS_REMAINING, "_t"],
                          ascending=[True] * len(settings) + [False, True])
    return out[cols].reset_index(drop=True)


def imp_display(summary: pd.DataFrame, settings: Sequence[str] = ()
                ) -> list[tuple[str, pd.DataFrame]]:
    """One Markdown-ready table per setting: rows weights remaining, columns ticket kinds."""
    out = []
    for label, part in setting_groups(summary, settings):
        tickets = sorted(part[keys.TICKET].unique(), key=_ticket_rank)
        rows = []
        for wr, cell in part.groupby(keys.WEIGHTS_REMAINING, sort=False):
            row = {"weights remaining": percent(wr), "compression": f"{1 / wr:.1f}x"}
            all_params = cell[keys.COMPRESSION_ALL].dropna() if keys.COMPRESSION_ALL in cell else []
            if len(all_params):
                row["compression, all parameters"] = f"{all_params.iloc[0]:.1f}x"
            for t in tickets:
                hit = cell[cell[keys.TICKET] == t]
                row[f"{t} (%)"] = pm(*hit[["mean", "std", "n"]].iloc[0]) if len(hit) else "—"
            rows.append(row)
        out.append((label, pd.DataFrame(rows)))
    return out


def fewer_seeds(summary: pd.DataFrame) -> pd.Series:
    """Per row of :func:`imp_summary`: has this round fewer seeds than some denser round of
    the same setting and ticket kind (a trial that stopped early or lost rounds)? Such a round
    is not like-for-like with the rounds before it: its mean comes from other seeds."""
    if summary.empty:
        return pd.Series(dtype=bool)
    by = [c for c in summary.columns if c not in (keys.WEIGHTS_REMAINING, keys.COMPRESSION,
                                                   keys.COMPRESSION_ALL, "metric", "mean",
                                                   "std", "n")]
    order = summary.sort_values(keys.WEIGHTS_REMAINING, ascending=False)
    most = order.groupby(by, dropna=False, sort=False)["n"].cummax() if by \
        else order["n"].cummax()
    return (order["n"] < most).reindex(summary.index)


def imp_headline(imp: pd.DataFrame, *, tolerance: float = 0.5, metric: str | None = None,
                 settings: Sequence[str] = ()) -> pd.DataFrame:
    """Highest compression up to which winning tickets *stay* within ``tolerance`` points.

    Walking from dense toward sparser rounds, the first round whose mean (over seeds) falls
    more than ``tolerance`` percentage points below dense accuracy ends the walk; the last
    round before it is the headline, shown next to random tickets at that compression.
    Dense is the least-pruned winning round (round 0, 100% of weights). A round with fewer
    seeds than the rounds before it (:func:`fewer_seeds`) also ends the walk, and the row
    says so (``short_weights_remaining``, ``short_n``): its mean is not comparable.
    """
    metric = metric or imp_metric(imp)
    records = []
    for label, part in setting_groups(imp, settings):
        summ = imp_summary(part, metric=metric)
        win = summ[summ[keys.TICKET] == "winning"].sort_values(keys.WEIGHTS_REMAINING,
                                                               ascending=False)
        if win.empty:
            continue
        short = fewer_seeds(win)
        dense = win.iloc[0]
        floor = dense["mean"] - tolerance / 100.0
        best, first_drop, short_row = dense, None, None
        for idx, row in win.iloc[1:].iterrows():
            if short[idx]:
                short_row = row
                break
            if row["mean"] >= floor:
                best = row
            else:
                first_drop = row
                break
        wr = best[keys.WEIGHTS_REMAINING]
        rand = summ[(summ[keys.TICKET] == "random") & np.isclose(summ[keys.WEIGHTS_REMAINING], wr)]
        rand = rand.iloc[0] if len(rand) else pd.Series({"mean": np.nan, "std": np.nan, "n": 0})
        records.append({
            "setting": label, "metric": metric, "tolerance_points": tolerance,
            "dense_weights_remaining": dense[keys.WEIGHTS_REMAINING],
            "dense_mean": dense["mean"], "dense_std": dense["std"], "dense_n": dense["n"],
            keys.WEIGHTS_REMAINING: wr, keys.COMPRESSION: 1.0 / wr,
            "winning_mean": best["mean"], "winning_std": best["std"], "winning_n": best["n"],
            "random_mean": rand["mean"], "random_std": rand["std"], "random_n": rand["n"],
            "first_drop_weights_remaining": (first_drop[keys.WEIGHTS_REMAINING]
                                             if first_drop is not None else np.nan),
            "short_weights_remaining": (short_row[keys.WEIGHTS_REMAINING]
                                        if short_row is not None else np.nan),
            "short_n": short_row["n"] if short_row is not None else np.nan,
        })
    return pd.DataFrame.from_records(records)


def headline_sentences(headline: pd.DataFrame) -> list[str]:
    lines = []
    for h in headline.to_dict("records"):
        where = f" ({h['setting']})" if h["setting"] else ""
        text = (
            f"Winning tickets{where} stay within {h['tolerance_points']:g} points of dense "
            f"accuracy ({pm(h['dense_mean'], h['dense_std'], h['dense_n'], unit='%')}) down "
            f"to **{percent(h[keys.WEIGHTS_REMAINING])} of weights remaining "
            f"({h[keys.COMPRESSION]:.1f}x compression)**: "
            f"{pm(h['winning_mean'], h['winning_std'], h['winning_n'], unit='%')}, against "
            f"random tickets at the same compression: "
            f"{pm(h['random_mean'], h['random_std'], h['random_n'], unit='%')}.")
        short = h.get("short_weights_remaining", np.nan)
        if not is_missing(short):
            text += (f" The walk stopped at {percent(short)} remaining, which has fewer seeds "
                     f"(n={int(h['short_n'])}) than the rounds before it: the headline may "
                     f"reach further once those trials have every round.")
        lines.append(text)
    return lines


# --- 2. noise ------------------------------------------------------------------------------


def network_rank(network: str, weights_remaining: float = np.nan) -> tuple:
    """dense, winning/random/reinit tickets from least to most pruned, then the controls."""
    kind = keys.network_kind(network)
    if kind == keys.DENSE:
        group = 0
    elif kind in keys.TICKET_ORDER:
        group = 1 + keys.TICKET_ORDER.index(kind)
    elif keys.is_control(network):
        order = list(keys.CONTROL_ORDER)
        group = 10 + (order.index(network) if network in order else len(order))
    else:
        group = 5
    wr = -weights_remaining if pd.notna(weights_remaining) else 0.0
    return group, wr, str(network)


def _network_wr(frame: pd.DataFrame) -> pd.Series:
    if keys.WEIGHTS_REMAINING not in frame:
        return pd.Series(np.nan, index=frame["network"].unique())
    return frame.groupby("network", sort=False)[keys.WEIGHTS_REMAINING].first()


def noise_summary(noise: pd.DataFrame, settings: Sequence[str] = ()) -> pd.DataFrame:
    """settings x network x noise x level -> accuracy mean, std, n over seeds."""
    out = summarize(noise, [*settings, "network", "noise", "level"], "accuracy")
    if len(out):
        out.insert(len(settings) + 1, keys.WEIGHTS_REMAINING,
                   out["network"].map(_network_wr(noise)))
    return out


def score_summary(scores: pd.DataFrame, settings: Sequence[str] = ()) -> pd.DataFrame:
    """settings x network x noise -> noise score mean, std, n over seeds."""
    out = summarize(scores, [*settings, "network", "noise"], "score")
    if len(out):
        out.insert(len(settings) + 1, keys.WEIGHTS_REMAINING,
                   out["network"].map(_network_wr(scores)))
    return out


def noise_display(acc: pd.DataFrame, scores: pd.DataFrame, settings: Sequence[str] = ()
                  ) -> list[tuple[str, pd.DataFrame]]:
    """One table per (setting, noise type): rows networks, columns levels and the score."""
    out = []
    score_groups = dict(setting_groups(scores, settings))
    for label, part in setting_groups(acc, settings):
        score_part = score_groups.get(label, scores.iloc[:0])
        for noise, cell in part.groupby("noise", sort=True):
            levels = sorted(cell["level"].unique())
            nets = cell.drop_duplicates("network")
            nets = sorted(zip(nets["network"], nets[keys.WEIGHTS_REMAINING]),
                          key=lambda x: network_rank(*x))
            rows = []
            for net, wr in nets:
                row = {"network": net, "weights remaining": percent(wr)}
                for level in levels:
                    hit = cell[(cell["network"] == net) & (cell["level"] == level)]
                    row[f"{level:g}"] = pm(*hit[["mean", "std", "n"]].iloc[0], digits=1) \
                        if len(hit) else "—"
                s = score_part[(score_part["network"] == net) & (score_part["noise"] == noise)]
                row["noise score"] = pm(*s[["mean", "std", "n"]].iloc[0], scale=1, digits=0) \
                    if len(s) else "—"
                rows.append(row)
            title = f"{label}, noise: {noise}" if label else f"noise: {noise}"
            out.append((title, pd.DataFrame(rows)))
    return out


# --- 3. and 4. continual -------------------------------------------------------------------

CONTINUAL_METRICS = ("mean_accuracy", "forgetting", "bwt")
CONTINUAL_AXES = ("stream", "label", "num_tasks", *keys.MODEL_AXES)


def _wide(frame: pd.DataFrame, by: Sequence[str], metrics: Sequence[str]) -> pd.DataFrame:
    """summarize() for several metrics side by side: <metric>_mean/_std/_n."""
    merged = None
    for m in metrics:
        if m not in frame:
            continue
        s = summarize(frame, by, m).rename(columns={"mean": f"{m}_mean", "std": f"{m}_std",
                                                    "n": f"{m}_n"})
        merged = s if merged is None else merged.merge(s, on=list(by), how="outer")
    return merged if merged is not None else pd.DataFrame(columns=list(by))


def permuted_summary(trials: pd.DataFrame, settings: Sequence[str] = ()) -> pd.DataFrame:
    """Complete permuted-task trials: arm x number of tasks -> mean acc, forgetting, BWT."""
    if trials.empty or "stream" not in trials:
        return pd.DataFrame(columns=[*settings, "label", "num_tasks"])
    part = trials[(trials["stream"] == "permuted") & trials["complete"].astype(bool)]
    by = [*settings, "label", "num_tasks"]
    return _wide(part, [b for b in by if b in trials], CONTINUAL_METRICS)


def permuted_display(summary: pd.DataFrame, settings: Sequence[str] = ()
                     ) -> list[tuple[str, pd.DataFrame]]:
    """Per setting: model x tasks with the three metrics; with several task counts also
    Numenta's layout (mean accuracy, models as rows, number of tasks as columns)."""
    out = []
    for label, part in setting_groups(summary, settings):
        rows = []
        for r in part.sort_values(["label", "num_tasks"]).to_dict("records"):
            rows.append({"model": r["label"], "tasks": r.get("num_tasks"),
                         "mean accuracy (%)": _pm(r, "mean_accuracy"),
                         "forgetting (points)": _pm(r, "forgetting"),
                         "BWT (points)": _pm(r, "bwt", signed=True)})
        out.append((label, pd.DataFrame(rows)))
        if "num_tasks" in part and part["num_tasks"].nunique() > 1:
            grid = part.pivot_table(index="label", columns="num_tasks",
                                    values="mean_accuracy_mean", aggfunc="first")
            grid = (100 * grid).round(2)
            grid.columns = [f"{int(c)} tasks" for c in grid.columns]
            title = "mean accuracy (%) by number of tasks"
            out.append((f"{label}: {title}" if label else title,
                        grid.reset_index().rename(columns={"label": "model"})))
    return out


def _pm(record: dict, metric: str, **kw) -> str:
    return pm(record.get(f"{metric}_mean"), record.get(f"{metric}_std"),
              record.get(f"{metric}_n", 0), **kw)


def split_summary(trials: pd.DataFrame, running: pd.DataFrame,
                  settings: Sequence[str] = ()) -> pd.DataFrame:
    """Split-task arms: running mean accuracy after each task (all trials, n per column),
    forgetting and BWT (complete trials only)."""
    by = [b for b in [*settings, "label"] if b in trials]
    if trials.empty or running.empty:
        return pd.DataFrame(columns=by)
    split_ids = trials.loc[trials["stream"] == "split", ["exp_name", "trial_id"]]
    run = running.merge(split_ids, on=["exp_name", "trial_id"])
    curve = summarize(run, [*by, "tasks_trained"], "running_mean")
    wide = curve.pivot_table(index=by, columns="tasks_trained", values=["mean", "std", "n"],
                             aggfunc="first")
    wide.columns = [f"after_task_{t}_{stat}" for stat, t in wide.columns]
    order = sorted({int(c.split("_")[2]) for c in wide.columns})
    # reindex, not select: with one seed every std is NaN and pivot_table drops the column
    wide = wide.reindex(columns=[f"after_task_{t}_{s}" for t in order
                                 for s in ("mean", "std", "n")])
    done = trials[(trials["stream"] == "split") & trials["complete"]]
    final = _wide(done, by, ("forgetting", "bwt"))
    return wide.reset_index().merge(final, on=by, how="left") if len(final.columns) > len(by) \
        else wide.reset_index()


def split_display(summary: pd.DataFrame, settings: Sequence[str] = ()
                  ) -> list[tuple[str, pd.DataFrame]]:
    out = []
    tasks = sorted({int(c.split("_")[2]) for c in summary.columns if c.startswith("after_task_")})
    for label, part in setting_groups(summary, settings):
        rows = []
        for r in part.to_dict("records"):
            row = {"model": r["label"]}
            for t in tasks:
                row[f"after task {t}"] = _pm(r, f"after_task_{t}", digits=1)
            row["forgetting (points)"] = _pm(r, "forgetting")
            row["BWT (points)"] = _pm(r, "bwt", signed=True)
            rows.append(row)
        out.append((label, pd.DataFrame(rows)))
    return out
