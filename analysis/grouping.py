"""Which trials may be pooled, and mean +- std over seeds.

A table cell averages over seeds only; any other config column that varies within a cell
(a swept learning rate, a second architecture) becomes a *setting* and splits the table,
so different arms are never silently averaged together.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from analysis import keys
from analysis.markdown import is_missing


def replicate_column(frame: pd.DataFrame) -> str:
    """Seeds are the replicates; without a seed column each trial is one."""
    return keys.SEED if keys.SEED in frame else "trial_id"


def _hashable(series: pd.Series) -> pd.Series:
    return series.map(lambda v: tuple(v) if isinstance(v, list) else v)


def setting_candidates(frame: pd.DataFrame, config_columns: Sequence[str]) -> list[str]:
    """Config columns plus the identity keys rows report themselves (arch, dataset)."""
    return list(dict.fromkeys([*config_columns,
                               *(c for c in keys.ROW_SETTING_KEYS if c in frame)]))


def setting_columns(frame: pd.DataFrame, config_columns: Sequence[str],
                    axes: Sequence[str] = ()) -> list[str]:
    """Config columns that vary within a table cell (same axes) beyond what the seed fixes.

    A column fixed by the cell (e.g. a learning rate chosen per model) does not split, nor one
    that merely relabels the seed (one value per seed and one seed per value, e.g. a control
    seed equal to the seed); any other column varying within a cell does. So seeds pooled from
    several folders (``analysis.pooling``) stay one sample only when the folders ran the same
    protocol: a folder with seeds 3-6 at other epochs is its own setting, even though each seed
    has one value. Rows' own arch / dataset count as config here; what only says where a trial
    ran (exp_name, trial ids, data_dir and the other ``keys.RUNTIME_CONFIG_KEYS``, paths)
    never splits.
    """
    rep = replicate_column(frame)
    axes = [a for a in axes if a in frame]
    config_columns = setting_candidates(frame, config_columns)
    skip = set(axes) | {rep, "trial_id", "exp_name", "status", *keys.RUNTIME_CONFIG_KEYS}
    out = []
    for col in config_columns:
        if col in skip or col not in frame:
            continue
        raw = _hashable(frame[col])
        if raw.map(lambda v: isinstance(v, str) and "/" in v).any():
            continue  # a path (e.g. the IMP trial a noise trial reads) names no arm
        values = raw.astype(str)
        if values.nunique() < 2:
            continue
        cell = [frame[a].astype(str) for a in axes] or [pd.Series("", index=frame.index)]
        seeds = frame[rep].astype(str)
        within_cell = values.groupby(cell).nunique().max()
        within_seed = values.groupby([*cell, seeds]).nunique().max()
        seeds_per_value = seeds.groupby([*cell, values]).nunique().max()
        relabels_seed = within_seed == 1 and seeds_per_value == 1
        if within_cell > 1 and not relabels_seed:
            out.append(col)
    return out


def level_key(values: pd.Series | np.ndarray, digits: int = 4) -> pd.Series:
    """Weights remaining rounded to 4 significant digits: equal sparsities group together."""
    v = pd.Series(values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.floor(np.log10(np.abs(v)))
    factor = 10.0 ** (digits - 1 - mag.fillna(0).replace([np.inf, -np.inf], 0))
    return (np.round(v * factor) / factor).where(v != 0, 0.0)


def summarize(frame: pd.DataFrame, by: Sequence[str], value: str) -> pd.DataFrame:
    """mean, std (ddof 1) and n over seeds of ``value`` per ``by`` group.

    Several trials of one seed in a cell (e.g. two experiment folders re-running it) are
    averaged first, so n counts seeds.
    """
    by = [b for b in by if b in frame]
    rep = replicate_column(frame)
    cols = list(dict.fromkeys([*by, rep]))
    data = frame.dropna(subset=[value])
    if data.empty:
        return pd.DataFrame(columns=[*by, "mean", "std", "n"])
    per_seed = data.groupby(cols, dropna=False, sort=False)[value].mean().reset_index()
    if not by:
        stats = per_seed[value].agg(["mean", "std", "count"]).to_frame().T
        return stats.rename(columns={"count": "n"}).astype({"n": int}).reset_index(drop=True)
    grouped = per_seed.groupby(by, dropna=False, sort=False)[value]
    out = grouped.agg(mean="mean", std="std", n="count").reset_index()
    return out.astype({"n": int})


def setting_groups(frame: pd.DataFrame, settings: Sequence[str]):
    """Iterate (label, sub-frame) over the combinations of settings ("" when none)."""
    settings = [s for s in settings if s in frame]
    if not settings:
        yield "", frame
        return
    # a setting an experiment left empty ("", None or NaN: e.g. hp_source) is one group,
    # and names nothing in the label
    keys_ = [frame[s].map(lambda v: "" if is_missing(v) else v).rename(s) for s in settings]
    for values, part in frame.groupby(keys_, dropna=False, sort=True):
        values = values if isinstance(values, tuple) else (values,)
        yield ", ".join(f"{k}={v}" for k, v in zip(settings, values) if v != ""), part
