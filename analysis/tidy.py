"""The tidy per-kind frames (imp_rounds, noise, noise_scores, continual) from step rows.

Each kind's builder lives in its ``analysis.kinds`` module. The same builders serve two
callers: sweeps write the CSVs at the end of a run (:func:`write_tidy`), and the report builds
them from ``result.json`` while a sweep is still running, so partial results need no extra
step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from analysis import keys
from analysis.kinds.base import Frames
from analysis.kinds.registry import kind_analysis
from analysis.loading import Results, load_experiment
from analysis.sources import REPORT


def tidy_frames(results: Results) -> dict[str, pd.DataFrame]:
    """Every tidy frame the experiments allow: keys imp, noise, noise_scores, continual.

    Experiments with trial folders are read from their ``result.json`` rows (always current);
    one with no trial folders falls back to the tidy CSVs a finished sweep left there; those
    given as a report folder (``analysis.sources``) come with their tidy frames ready-made.
    """
    frames: dict[str, list[pd.DataFrame]] = {}
    for exp in results.experiments.to_dict("records"):
        kind, name = exp["kind"], exp["exp_name"]
        if exp.get("source_kind") == REPORT:  # its frames came ready-made
            for key, frame in results.tidy.items():
                if key in keys.experiment_kind(kind).tidy_frames:
                    frames.setdefault(key, []).append(frame[frame["exp_name"] == name])
            continue
        sub = results.of_kind(kind)
        hist = sub.history[sub.history["exp_name"] == name] if len(sub.history) else sub.history
        built = _build(kind, hist, sub.config_columns, exp.get("sweep"))
        if hist.empty:
            built = _read_csvs(Path(exp["path"]), kind, name) or built
        for key, frame in built.items():
            frames.setdefault(key, []).append(frame)
    return {k: pd.concat([f for f in v if len(f)] or v[:1], ignore_index=True)
            for k, v in frames.items()}


def _build(kind: str, history: pd.DataFrame, config_columns: Sequence[str],
           sweep: str | None) -> Frames:
    """The kind's tidy frames (its builder in ``analysis.kinds``)."""
    return kind_analysis(kind).tidy(history, config_columns, sweep)


def _read_csvs(path: Path, kind: str, name: str) -> dict[str, pd.DataFrame]:
    out = {}
    for key, filename in keys.experiment_kind(kind).tidy:
        file = path / filename
        if file.exists():
            frame = pd.read_csv(file)
            frame.insert(0, "exp_name", name)
            if "status" not in frame:
                frame.insert(2, "status", "unknown")
            out[key] = frame
    return out


def write_tidy(exp_dir: str | Path) -> list[Path]:
    """Write the tidy CSV(s) of one experiment folder into it; returns the paths written."""
    exp_dir = Path(exp_dir)
    results = load_experiment(exp_dir)
    kind = results.experiments["kind"][0]
    sweep = results.experiments["sweep"][0]
    built = _build(kind, results.history, results.config_columns, sweep)
    written = []
    for key, filename in keys.experiment_kind(kind).tidy:
        frame = built[key].drop(columns=["exp_name"], errors="ignore")
        frame.to_csv(exp_dir / filename, index=False)
        written.append(exp_dir / filename)
    return written
