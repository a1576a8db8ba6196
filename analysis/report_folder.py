"""A committed report folder (``python -m analysis report ... --out DIR``) read back as data.

The report writes its tidy frames (``tidy_<frame>.csv``) and one row per trial
(``trials.csv``); together they are what the report's tables and claims were computed from,
so the results pages can be regenerated from a committed folder after the raw experiment
folders are gone. This module has one job, reading such a folder; the pages take their data
through :func:`frames_from_report_folder` only, so a module that pools report folders with
experiment folders can replace it in one place.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.loading import TRIAL_COLUMNS, NotAnExperiment, Results

TRIALS_FILE = "trials.csv"
TIDY_PREFIX = "tidy_"


def frames_from_report_folder(folder: str | Path) -> tuple[Results, dict[str, pd.DataFrame]]:
    """(results, tidy frames) of a report folder: ``results`` holds its trials and the
    experiments they belong to (no step history: the tidy frames carry the steps), and the
    frames are keyed as :func:`analysis.tidy.tidy_frames` keys them (imp, noise,
    noise_scores, continual). Raises :class:`NotAnExperiment` (one line) when the folder
    has no ``trials.csv``."""
    folder = Path(folder)
    trials_file = folder / TRIALS_FILE
    if not trials_file.is_file():
        raise NotAnExperiment(f"{folder} is not a report folder (no {TRIALS_FILE}; make one "
                              f"with python -m analysis report ... --out {folder})")
    trials = pd.read_csv(trials_file)
    frames = {path.stem[len(TIDY_PREFIX):]: pd.read_csv(path)
              for path in sorted(folder.glob(f"{TIDY_PREFIX}*.csv"))}
    experiments = (trials.groupby("exp_name", sort=False)
                   .agg(kind=("kind", "first"), trials=("trial_id", "size")).reset_index())
    experiments["path"] = str(folder.resolve())
    experiments["sweep"] = None
    config_columns = [c for c in trials.columns if c not in TRIAL_COLUMNS]
    history = pd.DataFrame(columns=["exp_name", "kind", "trial_id", "status"])
    return Results(history, trials, experiments, config_columns), frames
