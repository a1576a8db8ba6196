"""Pooling rules: which trials from several sources are the same protocol, and the check
that no seed of a protocol is counted twice.

Seeds of one protocol are one sample wherever they were run (a second folder run with
``--seed-list 3 4 5 6`` adds four seeds to a claim). A trial's *protocol* is every config
value and every identity key its rows report (``keys.ROW_ID_KEYS``: a noise trial's seed and
ticket), except what only says where or how it ran: the experiment's name, trial ids and
folders, status, paths, ``keys.RUNTIME_CONFIG_KEYS`` (data_dir, device, ...). The same seed
under the same protocol in two trials (a folder given twice, overlapping ``--seed-list``)
would be a seed counted twice, or two runs averaged into one without notice: it is one
:class:`DuplicateSeed` line instead (exit 2 from the CLI).
"""

from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

from analysis import keys
from analysis.loading import TRIAL_COLUMNS, BadInput, Results
from analysis.markdown import is_missing, plain

# the keys that name the arm in the error line, most telling first
_ARM_KEYS = ("network", "ticket", "control_kind", "arm", "model", "context", "mode", "arch")


class DuplicateSeed(BadInput):
    """A seed appears twice for one protocol; the message is one line."""


def non_protocol(column: str) -> bool:
    """Columns that say where or how a trial ran, never what it measured."""
    return column in TRIAL_COLUMNS or column in keys.RUNTIME_CONFIG_KEYS or \
        column in ("source", "source_kind", "path")


def _row_keys(results: Results, kind: str) -> pd.DataFrame:
    """Per trial (exp_name, trial_id): the identity keys its rows report (seed, ticket...)."""
    sub = results.of_kind(kind)
    frames = [sub.history] + list(sub.tidy.values())
    parts = []
    for frame in frames:
        have = [c for c in keys.ROW_ID_KEYS if c in frame]
        if frame.empty or not have:
            continue
        parts.append(frame.groupby(["exp_name", "trial_id"], sort=False)[have].first())
    if not parts:
        return pd.DataFrame()
    merged = pd.concat(parts)
    return merged[~merged.index.duplicated()]


def trial_protocols(results: Results, source: str) -> pd.DataFrame:
    """One row per trial with a seed: source, kind, exp_name, trial_id, seed, protocol (a
    canonical string of its protocol values) and arm (a short readable name)."""
    records = []
    for kind in results.kinds:
        sub = results.of_kind(kind)
        rows = _row_keys(results, kind)
        for trial in sub.trials.to_dict("records"):
            ident = (trial["exp_name"], trial["trial_id"])
            values = {c: trial.get(c) for c in sub.config_columns}
            if len(rows) and ident in rows.index:
                reported = rows.loc[ident]
                values.update({c: v for c, v in reported.items() if not is_missing(v)})
            seed = values.get(keys.SEED)
            if is_missing(seed):
                continue
            proto = {c: plain(v) for c, v in values.items()
                     if c != keys.SEED and not non_protocol(c) and not is_missing(v)
                     and not (isinstance(v, str) and "/" in v)}
            records.append({
                "source": source, "kind": kind, "exp_name": trial["exp_name"],
                "trial_id": trial["trial_id"], "seed": plain(seed),
                "protocol": repr(sorted(proto.items())),
                "arm": ", ".join(f"{k}={proto[k]}" for k in _ARM_KEYS if k in proto)})
    return pd.DataFrame.from_records(
        records, columns=["source", "kind", "exp_name", "trial_id", "seed", "protocol", "arm"])


def check_seeds_once(parts: Sequence[Results]) -> None:
    """Raise :class:`DuplicateSeed` (one line, the first duplicate) if two trials, in one
    source or in two, share kind, protocol and seed."""
    frames = [trial_protocols(p, str(p.experiments["source"].iloc[0])) for p in parts]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if table.empty:
        return
    for _, group in table.groupby(["kind", "protocol", "seed"], sort=False):
        if len(group) < 2:
            continue
        a, b = group.iloc[0], group.iloc[1]
        where = [f"{r['source']} ({r['exp_name']}, trial {r['trial_id']})" for r in (a, b)]
        arm = f"{a['kind']}: {a['arm']}" if a["arm"] else a["kind"]
        raise DuplicateSeed(
            f"seed {a['seed']} is given twice for the same protocol ({arm}): in {where[0]} "
            f"and in {where[1]}; give each seed once (leave a folder out, or run new seeds "
            f"with --seed-list)")
