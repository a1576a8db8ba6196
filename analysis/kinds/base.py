"""The one registration object of an experiment kind's analysis, and what its parts share.

Each ``analysis/kinds/<kind>.py`` ends with ``ANALYSIS = KindAnalysis(kind, tidy=...,
section=..., headline=..., claims=...)``; ``analysis.kinds.registry`` collects them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import pandas as pd

from analysis import keys
from analysis.grouping import setting_columns
from analysis.loading import Results

Frames = dict[str, pd.DataFrame]
# (history, config_columns, sweep) -> {frame name: frame}, the frames the schema entry names
TidyBuilder = Callable[[pd.DataFrame, Sequence[str], str | None], Frames]
# (out: analysis.report_out.ReportOut, results, frames, *, tolerance, alpha, resamples): writes the kind's report section(s)
Section = Callable[..., None]
# (results, frames, *, tolerance, alpha) -> the lines a sweep of this kind prints when it ends
Headline = Callable[..., list[str]]
# (results, frames, *, rules, resamples) -> claims rows (analysis.claims.COLUMNS)
Claims = Callable[..., list[dict]]


@dataclass(frozen=True)
class KindAnalysis:
    """Everything analysis does with one experiment kind. ``tidy`` is required (analysis
    has to read its rows); without a section the report has its trials and claims rows
    only, without a headline a sweep prints ``(no headline: ...)``, without claims it adds
    no claims rows."""

    kind: str
    tidy: TidyBuilder
    section: Section | None = None
    headline: Headline | None = None
    claims: Claims | None = None

    def __post_init__(self) -> None:
        keys.experiment_kind(self.kind)  # undeclared: a ValueError listing the known kinds


def kind_settings(frame: pd.DataFrame, results: Results, kind: str,
                  axes: Sequence[str]) -> list[str]:
    """The columns that split a kind's tables into settings (``analysis.grouping``), read
    from its tidy frame, or from its trials while that frame is empty."""
    sub = results.of_kind(kind)
    source = frame if len(frame) else sub.trials
    return setting_columns(source, sub.config_columns, axes)

