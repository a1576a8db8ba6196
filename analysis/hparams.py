"""Which hyper-parameters each arm of a continual comparison ran with, and how they were chosen.

A comparison is only fair when every arm has its own tuned values (issue 11), so the report
shows them next to the results: per arm the values its final trials used and where they came
from (``hp_source``: a preset, the command line, or a validation search), and, when a folder
holds a ``--tune`` search's records (``search_trials.csv`` / ``chosen.json``, copied into the
final runs' folder by ``sparsenet.tune.search`` when they end; until then they are read from
the folder above), every grid point with its validation score.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from analysis.grouping import replicate_column
from sparsenet.schema import CHOSEN_FILE, FINAL_DIR, SEARCH_TRIALS_FILE

# Training hyper-parameters a continual trial reports as config; shown where present.
HP_COLUMNS = ("lr", "epochs_per_task", "batch_size", "weight_decay", "patience", "max_epochs",
              "reset_optimizer", "hp_source")


def arm_hyperparameters(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per (experiment, arm): the hyper-parameters of its trials and its seed count.

    Values that differ between an arm's seeds (they should not) are listed joined by ' / '."""
    cols = [c for c in HP_COLUMNS if c in trials]
    if trials.empty or "label" not in trials or not cols:
        return pd.DataFrame()
    rep = replicate_column(trials)
    records = []
    for (exp, label), part in trials.groupby(["exp_name", "label"], sort=False):
        row = {"experiment": exp, "arm": label}
        for col in cols:
            values = list(dict.fromkeys(str(v) for v in part[col].dropna()))
            row[col] = " / ".join(values) if values else "—"
        row["seeds"] = part[rep].nunique()
        records.append(row)
    return pd.DataFrame.from_records(records)


def search_records(experiments: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Every ``--tune`` search found beside the loaded experiments: its grid points (arm, lr,
    epochs, tasks done, validation score, chosen) and one sentence per search on its proxy."""
    frames, notes, seen = [], [], set()
    for exp in experiments.to_dict("records"):
        folder = Path(str(exp["path"]))
        if not (folder / SEARCH_TRIALS_FILE).is_file() and folder.name == FINAL_DIR:
            folder = folder.parent  # final runs still going: the records are beside them
        table = folder / SEARCH_TRIALS_FILE
        if not table.is_file() or folder in seen:
            continue  # a report folder holds several experiments and its search once
        seen.add(folder)
        frame = pd.read_csv(table)
        if "experiment" not in frame:  # a report folder's copy already says
            frame.insert(0, "experiment", exp["exp_name"])
        frames.append(frame)
        chosen_file = folder / CHOSEN_FILE
        if chosen_file.is_file():
            notes.append(_describe(exp["exp_name"], json.loads(chosen_file.read_text())))
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), notes


def _describe(name: str, record: dict) -> str:
    search, final = record.get("search", {}), record.get("final", {})
    picks = "; ".join(f"{arm}: lr {c['lr']:g}, {c['epochs_per_task']} epochs/task"
                      for arm, c in record.get("chosen", {}).items())
    return (f"{name}: searched on the {search.get('split', 'val')} split, {search.get('tasks')} "
            f"task(s), seed {search.get('seed')}, scheduler {search.get('scheduler')}; "
            f"final runs on the {final.get('split', 'test')} split with seeds "
            f"{final.get('seeds')} and {final.get('num_tasks')} tasks. Chosen: {picks}.")
