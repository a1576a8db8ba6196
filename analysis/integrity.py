"""Damaged or partial trials, named: one warning line per trial.

A ``result.json`` line that is not JSON (a truncated write, a stray line) is skipped by the
loader, and an IMP trial that lost its later rounds simply has fewer rows; either would move
a mean over seeds without notice. Each such trial gets one line naming its unreadable lines
and its missing rounds; the report prints it to stderr and in its Trials section.
"""

from __future__ import annotations

import pandas as pd

from analysis import keys
from analysis.loading import Results, line_ranges
from analysis.markdown import is_missing, plain


def _name(trial: dict) -> str:
    what = [f"{k}={plain(trial[k])}" for k in (keys.SEED, keys.TICKET, "network", "arm", "model")
            if k in trial and not is_missing(trial[k])]
    return f"{trial['exp_name']}/{trial['trial_id']}" + (f" ({', '.join(what)})" if what else "")


def _imp_rounds(imp: pd.DataFrame) -> dict[tuple[str, str], set[int]]:
    if imp.empty or keys.ROUND not in imp:
        return {}
    rounds = imp.dropna(subset=[keys.ROUND])
    return {ident: set(part[keys.ROUND].astype(int))
            for ident, part in rounds.groupby(["exp_name", "trial_id"], sort=False)}


def trial_warnings(results: Results, frames: dict[str, pd.DataFrame]) -> list[str]:
    """One line per trial with unreadable result lines or missing IMP rounds."""
    reported = _imp_rounds(frames.get("imp", pd.DataFrame()))
    lines = []
    for trial in results.trials.to_dict("records"):
        problems = []
        bad = trial.get("unreadable_lines")
        if not is_missing(bad) and str(bad):
            problems.append(f"result.json line(s) {bad} unreadable, skipped")
        expected = trial.get(keys.ROUNDS)
        if trial.get("kind") == "imp" and not is_missing(expected):
            have = reported.get((trial["exp_name"], trial["trial_id"]), set())
            missing = sorted(set(range(int(expected) + 1)) - have)
            if missing:
                problems.append(f"round(s) {line_ranges(missing)} missing (has {len(have)} of "
                                f"{int(expected) + 1})")
        if problems:
            lines.append(f"{_name(trial)}, {trial.get('status')}: {'; '.join(problems)}")
    return lines
