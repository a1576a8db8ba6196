"""The tidy per-kind frames (imp_rounds, noise, noise_scores, continual) from step rows.

The same builders serve two callers: sweeps write the CSVs at the end of a run
(:func:`write_tidy`), and the report builds them from ``result.json`` while a sweep is still
running, so partial results need no extra step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from analysis import keys
from analysis.loading import Results, load_experiment
from analysis.sources import REPORT

ID_COLUMNS = ("exp_name", "trial_id", "status")


def _is_list(value: Any) -> bool:
    """Lists are per-step payloads (matrix_row); config tuples are kept (hashable)."""
    return isinstance(value, (list, np.ndarray))


def _carry(history: pd.DataFrame, config_columns: Sequence[str] | None,
           exclude: Sequence[str] = ()) -> list[str]:
    """Columns copied onto every tidy row: ids + config (or, unknown, every plain column)."""
    if config_columns is None:
        config_columns = [c for c in history.columns if c not in keys.TUNE_KEYS
                          and c not in exclude and keys.parse_noise_key(c) is None
                          and not history[c].map(_is_list).any()]
    wanted = [*config_columns, *keys.ROW_ID_KEYS]
    cols = [c for c in ID_COLUMNS if c in history] + [
        c for c in wanted if c in history and c not in ID_COLUMNS and c not in exclude]
    return list(dict.fromkeys(cols))


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
    rows = rows[[c for c in rows.columns if not rows[c].map(_is_list).any()]]
    carry = _carry(rows, config_columns)
    rows = rows[carry + [c for c in rows.columns if c not in carry]].reset_index(drop=True)
    if keys.COMPRESSION not in rows and keys.WEIGHTS_REMAINING in rows:
        rows[keys.COMPRESSION] = 1.0 / rows[keys.WEIGHTS_REMAINING]
    return rows


def tidy_noise(history: pd.DataFrame, config_columns: Sequence[str] | None = None
               ) -> pd.DataFrame:
    """One row per (trial, network, noise type, level): accuracy, correct, total."""
    out_cols = ["network", keys.WEIGHTS_REMAINING, "noise", "level", "accuracy", "correct",
                "total"]
    if history.empty or keys.NETWORK not in history:
        return pd.DataFrame(columns=[*ID_COLUMNS, *out_cols])
    carry = _carry(history, config_columns, exclude=out_cols)
    parsed = {c: keys.parse_noise_key(c) for c in history.columns}
    parsed = {c: p for c, p in parsed.items() if p is not None}
    records = []
    for row in history[history[keys.NETWORK].notna()].to_dict("records"):
        total = row.get(keys.TOTAL)
        total = float(total) if total is not None and pd.notna(total) else np.nan
        cells: dict[tuple[str, float], dict[str, float]] = {}
        for col, (what, noise, level) in parsed.items():
            value = row.get(col)
            if value is not None and pd.notna(value):
                cells.setdefault((noise, level), {})[what] = float(value)
        base = {c: row.get(c) for c in carry}
        for (noise, level), cell in cells.items():
            acc = cell.get("acc")
            correct = cell.get("correct", round(acc * total) if acc is not None
                               and np.isfinite(total) else np.nan)
            if acc is None and np.isfinite(total) and total > 0:
                acc = correct / total
            records.append({**base, "network": row[keys.NETWORK],
                            keys.WEIGHTS_REMAINING: row.get(keys.WEIGHTS_REMAINING, np.nan),
                            "noise": noise, "level": level, "accuracy": acc,
                            "correct": correct, "total": total})
    frame = pd.DataFrame.from_records(records, columns=[*carry, *out_cols])
    return frame.sort_values([c for c in ("exp_name", "trial_id", "network", "noise", "level")
                              if c in frame], kind="stable").reset_index(drop=True)


def noise_scores(noise: pd.DataFrame) -> pd.DataFrame:
    """Numenta's noise score: total correct test images summed over the noise levels."""
    value_cols = ("level", "accuracy", "correct", "total")
    by = [c for c in noise.columns if c not in value_cols]
    if noise.empty:
        return pd.DataFrame(columns=[*by, "score", "n_levels", "mean_accuracy"])
    grouped = noise.groupby(by, dropna=False, sort=False)
    scores = grouped.agg(score=("correct", lambda s: s.sum(min_count=len(s))),
                         n_levels=("level", "nunique"), mean_accuracy=("accuracy", "mean"))
    return scores.reset_index()


def tidy_continual(history: pd.DataFrame, config_columns: Sequence[str] | None = None,
                   sweep: str | None = None) -> pd.DataFrame:
    """The accuracy matrices as rows R[t, i]: task_trained t, task_evaluated i, accuracy."""
    out_cols = ["stream", "task_trained", "task_evaluated", "accuracy"]
    if history.empty or keys.MATRIX_ROW not in history:
        return pd.DataFrame(columns=[*ID_COLUMNS, *out_cols])
    carry = _carry(history, config_columns, exclude=(*keys.CONTINUAL_STEP_KEYS, *out_cols))
    rows = history[history[keys.MATRIX_ROW].map(_is_list)]
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


Frames = dict[str, pd.DataFrame]
Builder = Callable[[pd.DataFrame, Sequence[str], str | None], Frames]

# Each experiment kind's tidy builder, registered next to its code with @tidy_builder(kind);
# the kinds themselves are sparsenet.schema.EXPERIMENTS.
TIDY_BUILDERS: dict[str, Builder] = {}


def tidy_builder(kind: str) -> Callable[[Builder], Builder]:
    """Register ``builder(history, config_columns, sweep) -> {frame name: frame}`` for a
    kind declared in ``sparsenet.schema.EXPERIMENTS``; it returns that entry's frames."""
    keys.experiment_kind(kind)  # an undeclared kind fails at import, listing the known ones

    def register(builder: Builder) -> Builder:
        TIDY_BUILDERS[kind] = builder
        return builder
    return register


@tidy_builder("imp")
def _imp_frames(history: pd.DataFrame, config_columns: Sequence[str], sweep: str | None
                ) -> Frames:
    return {"imp": tidy_imp(history, config_columns)}


@tidy_builder("noise")
def _noise_frames(history: pd.DataFrame, config_columns: Sequence[str], sweep: str | None
                  ) -> Frames:
    noise = tidy_noise(history, config_columns)
    return {"noise": noise, "noise_scores": noise_scores(noise)}


@tidy_builder("continual")
def _continual_frames(history: pd.DataFrame, config_columns: Sequence[str], sweep: str | None
                      ) -> Frames:
    return {"continual": tidy_continual(history, config_columns, sweep)}


def _build(kind: str, history: pd.DataFrame, config_columns: Sequence[str],
           sweep: str | None) -> Frames:
    keys.experiment_kind(kind)  # unknown: a ValueError listing the known kinds
    if kind not in TIDY_BUILDERS:
        raise ValueError(f"no tidy builder for experiment kind {kind!r}: register one with "
                         f"@tidy_builder({kind!r}) in analysis/tidy.py")
    return TIDY_BUILDERS[kind](history, config_columns, sweep)


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
