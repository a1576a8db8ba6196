"""What the report reads: a *source* is either a sparsenet experiment folder (Tune's trial
folders, read by :mod:`analysis.loading`) or a report folder that ``python -m analysis
report`` wrote (``trials.csv`` + ``tidy_<frame>.csv``), e.g. the ones committed under
``docs/results/``.

Both become the same :class:`~analysis.loading.Results`, so the tables and claims do not care
where a trial came from, and seeds of one protocol spread over several sources are one
sample (the pooling rules and the duplicate-seed check are :mod:`analysis.pooling`'s).
A report folder keeps no step rows, only the tidy frames; raw trials that are gone from the
machine stay usable through the report made from them.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd

from analysis import keys
from analysis.loading import (TRIAL_COLUMNS, NotAnExperiment, Results, _restore_ints,
                              experiment_meta, is_remote, load_experiment)

REPORT_TRIALS = "trials.csv"
EXPERIMENT, REPORT = "experiment folder", "report folder"


def report_tidy_file(frame: str) -> str:
    """The file a report writes a tidy frame to (and reads it back from): tidy_<frame>.csv."""
    return f"tidy_{frame}.csv"


def _report_frames() -> list[str]:
    return list(dict.fromkeys(f for e in keys.EXPERIMENTS.values() for f in e.tidy_frames))


def is_report_folder(path: str | Path) -> bool:
    """A folder with the report's trials.csv and at least one tidy_<frame>.csv."""
    path = Path(path)
    return (path / REPORT_TRIALS).is_file() and \
        any((path / report_tidy_file(f)).is_file() for f in _report_frames())


def source_kind(path: str | Path) -> str:
    """EXPERIMENT or REPORT; :class:`NotAnExperiment` (one line) when it is neither."""
    if not is_remote(path) and Path(path).is_dir() and \
            not (Path(path) / keys.EXPERIMENT_FILE).exists() and is_report_folder(path):
        return REPORT
    try:
        experiment_meta(path)
    except NotAnExperiment as err:
        if not is_remote(path) and Path(path).is_dir():
            raise NotAnExperiment(
                f"{err}; nor a report folder (no {REPORT_TRIALS} with tidy_*.csv)") from None
        raise
    return EXPERIMENT


def _literal(value: object) -> object:
    """"(0.0, 0.1)" -> (0.0, 0.1): a config tuple written to CSV, read back as the tuple the
    experiment folder gives (so both sources group alike)."""
    if isinstance(value, str) and value.startswith("(") and value.endswith(")"):
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
        return parsed if isinstance(parsed, tuple) else value
    return value


def read_report_csv(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, low_memory=False)
    for col in frame.columns:
        if frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col]):
            frame[col] = frame[col].map(_literal)
    return frame


def load_report_folder(path: str | Path) -> Results:
    """A report folder -> :class:`Results` with its trials and tidy frames (no step rows)."""
    path = Path(path)
    trials = read_report_csv(path / REPORT_TRIALS)
    missing = [c for c in ("exp_name", "kind", "trial_id", "status") if c not in trials]
    if missing:
        raise NotAnExperiment(f"{path / REPORT_TRIALS}: not a report's trials table "
                              f"(no column {', '.join(missing)})")
    if trials.empty:
        raise NotAnExperiment(f"{path / REPORT_TRIALS} lists no trials")
    unknown = sorted(set(trials["kind"].astype(str)) - set(keys.KINDS))
    if unknown:
        raise NotAnExperiment(f"{path / REPORT_TRIALS}: unknown kind {unknown[0]!r}; known: "
                              f"{', '.join(keys.KINDS)}")
    tidy = {}
    for frame in _report_frames():
        file = path / report_tidy_file(frame)
        if file.is_file():
            tidy[frame] = _restore_ints(read_report_csv(file))
    exps = trials.drop_duplicates("exp_name")[["exp_name", "kind"]]
    counts = trials.groupby("exp_name", sort=False).size()
    experiments = pd.DataFrame({
        "exp_name": exps["exp_name"].to_numpy(), "kind": exps["kind"].to_numpy(),
        "path": str(path.resolve()), "sweep": None,
        "trials": exps["exp_name"].map(counts).to_numpy()})
    config = [c for c in trials.columns if c not in TRIAL_COLUMNS]
    history = pd.DataFrame(columns=["exp_name", "kind", "trial_id", "status"])
    return Results(history, trials, experiments, config, tidy)


def load_source(path: str | Path) -> Results:
    """One source (either kind) -> :class:`Results`; ``experiments`` says where it came from
    (``source``: the path as given, ``source_kind``)."""
    kind = source_kind(path)
    results = load_report_folder(path) if kind == REPORT else load_experiment(path)
    results.experiments["source"] = str(path)
    results.experiments["source_kind"] = kind
    return results


def _relabel(parts: Sequence[Results]) -> None:
    """Two sources holding the same experiment name stay apart: each is prefixed by the
    folder above it (an experiment folder) or the report folder's name."""
    names = [n for p in parts for n in dict.fromkeys(p.experiments["exp_name"])]
    dupes = {n for n in names if names.count(n) > 1}
    for part in parts:
        exp = part.experiments.iloc[0]
        folder = Path(str(exp["path"]))
        prefix = folder.name if exp["source_kind"] == REPORT else folder.parent.name
        rename = {n: f"{prefix}/{n}" for n in part.experiments["exp_name"] if n in dupes}
        if not rename:
            continue
        for frame in (part.history, part.trials, part.experiments, *part.tidy.values()):
            if len(frame) and "exp_name" in frame:
                frame["exp_name"] = frame["exp_name"].replace(rename)


def load_sources(paths: Iterable[str | Path]) -> Results:
    """Several sources (any mix of experiment and report folders, any kinds) -> one
    :class:`Results`; a seed given twice for one protocol raises
    :class:`analysis.pooling.DuplicateSeed`."""
    from analysis.pooling import check_seeds_once

    parts = [load_source(p) for p in paths]
    if not parts:
        raise NotAnExperiment("no experiment or report folders given")
    _relabel(parts)
    config_cols = list(dict.fromkeys(c for p in parts for c in p.config_columns))
    nonempty = [p.history for p in parts if len(p.history)]
    history = pd.concat(nonempty, ignore_index=True) if nonempty else parts[0].history
    tidy: dict[str, list[pd.DataFrame]] = {}
    for part in parts:
        for name, frame in part.tidy.items():
            tidy.setdefault(name, []).append(frame)
    results = Results(history, pd.concat([p.trials for p in parts], ignore_index=True),
                      pd.concat([p.experiments for p in parts], ignore_index=True), config_cols,
                      {k: pd.concat(v, ignore_index=True) for k, v in tidy.items()})
    check_seeds_once(parts)
    return results
