"""Continual-learning metrics from accuracy matrices R[t, i] (accuracy on task i after task t).

Definitions (the same as the torch side's, so numbers agree), with T = tasks trained so far:
  mean accuracy  = mean over i <= T-1 of R[T-1, i]
  forgetting     = mean over i < T-1 of (max over t < T-1 of R[t, i]) - R[T-1, i]
  BWT            = mean over i < T-1 of R[T-1, i] - R[i, i]
Forgetting and BWT need T >= 2 and are NaN before.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import keys

TRIAL_KEYS = ("exp_name", "trial_id")


def accuracy_matrix(rows: pd.DataFrame) -> np.ndarray:
    """(T, T) array from tidy rows of one trial; entries never reported are NaN."""
    if rows.empty:
        return np.zeros((0, 0))
    size = int(max(rows["task_trained"].max(), rows["task_evaluated"].max())) + 1
    matrix = np.full((size, size), np.nan)
    matrix[rows["task_trained"].astype(int), rows["task_evaluated"].astype(int)] = rows["accuracy"]
    return matrix


def _tasks_done(matrix: np.ndarray) -> int:
    """Rows reported so far (a running trial has the first few)."""
    reported = ~np.all(np.isnan(matrix), axis=1)
    return int(np.max(np.nonzero(reported)[0]) + 1) if reported.any() else 0


def mean_accuracy(matrix: np.ndarray) -> float:
    t = _tasks_done(matrix)
    return float(np.nanmean(matrix[t - 1, :t])) if t else float("nan")


def forgetting(matrix: np.ndarray) -> float:
    t = _tasks_done(matrix)
    if t < 2:
        return float("nan")
    best = np.nanmax(matrix[: t - 1, : t - 1], axis=0)
    return float(np.nanmean(best - matrix[t - 1, : t - 1]))


def bwt(matrix: np.ndarray) -> float:
    t = _tasks_done(matrix)
    if t < 2:
        return float("nan")
    return float(np.nanmean(matrix[t - 1, : t - 1] - np.diag(matrix)[: t - 1]))


def running_mean(matrix: np.ndarray) -> np.ndarray:
    """Mean accuracy over the tasks seen so far, after each task trained."""
    t = _tasks_done(matrix)
    return np.array([np.nanmean(matrix[k, : k + 1]) for k in range(t)])


def _first(rows: pd.DataFrame, col: str):
    return rows[col].iloc[0] if col in rows else None


def continual_trials(continual: pd.DataFrame, history: pd.DataFrame | None = None
                     ) -> pd.DataFrame:
    """One row per trial: its arm (label), tasks done, completeness and the three metrics.

    With ``history``, the metrics the experiment itself reported at its last task end are
    added as ``reported_*`` so a disagreement with ours can be flagged.
    """
    records = []
    if continual.empty:
        return pd.DataFrame(columns=[*TRIAL_KEYS, "label", "tasks_done", "complete"])
    for (exp, trial), rows in continual.groupby(list(TRIAL_KEYS), sort=False):
        matrix = accuracy_matrix(rows)
        done = _tasks_done(matrix)
        config = {c: _first(rows, c) for c in rows.columns
                  if c not in ("task_trained", "task_evaluated", "accuracy")}
        num_tasks = config.get("num_tasks")
        complete = (done >= int(num_tasks)) if num_tasks is not None and pd.notna(num_tasks) \
            else config.get("status") == "finished"
        records.append({**config, "label": keys.model_label(config), "tasks_done": done,
                        "complete": bool(complete), "mean_accuracy": mean_accuracy(matrix),
                        "forgetting": forgetting(matrix), "bwt": bwt(matrix)})
    frame = pd.DataFrame.from_records(records)
    if history is not None and not history.empty and keys.TASK_END in history:
        ends = history[history[keys.TASK_END].eq(True)]
        have = [c for c in keys.REPORTED_METRICS if c in ends]
        last = ends.groupby(list(TRIAL_KEYS), sort=False)[have].last()
        last.columns = [f"reported_{c}" for c in have]
        frame = frame.merge(last.reset_index(), on=list(TRIAL_KEYS), how="left")
    return frame


def running_means(continual: pd.DataFrame) -> pd.DataFrame:
    """Long frame: per trial and tasks trained (1..T), the running mean accuracy."""
    records = []
    for (exp, trial), rows in continual.groupby(list(TRIAL_KEYS), sort=False):
        config = {c: _first(rows, c) for c in rows.columns
                  if c not in ("task_trained", "task_evaluated", "accuracy")}
        label = keys.model_label(config)
        for k, value in enumerate(running_mean(accuracy_matrix(rows))):
            records.append({**config, "label": label, "tasks_trained": k + 1,
                            "running_mean": value})
    return pd.DataFrame.from_records(records)


def add_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with ``label``: the arm's readable name (model [context] +SI)."""
    cols = [c for c in keys.MODEL_AXES if c in frame]
    out = frame.copy()
    out["label"] = [keys.model_label(dict(zip(cols, vals)))
                    for vals in zip(*(frame[c] for c in cols))] if cols else "?"
    return out


def mean_matrices(continual: pd.DataFrame, by: tuple[str, ...] = ("stream", "num_tasks", "label")
                  ) -> dict[tuple, np.ndarray]:
    """The accuracy matrix averaged over seeds, one per arm (for the heat map)."""
    frame = add_labels(continual)
    by_cols = [c for c in by if c in frame]
    cells = frame.groupby(by_cols + ["task_trained", "task_evaluated"])["accuracy"].mean()
    out = {}
    for key, part in cells.groupby(level=by_cols):
        part = part.reset_index()
        out[key if isinstance(key, tuple) else (key,)] = accuracy_matrix(part)
    return out
