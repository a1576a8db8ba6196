"""Prose that quotes the claims rows: ``{{CLAIM | FILTER ... | FIELD[:FORMAT]}}`` filled from
the pooled claims frame, so a summary's numbers come from the data, never typed by hand.

A placeholder names one row of :data:`analysis.claims.COLUMNS`: its claim number, then one
or more filters (each a piece of text the row's ``protocol — comparison [metric]`` must
contain), then the field to print with an optional format spec (Python's mini-language):
``mean:+.2f``, ``ci_low:+.2f``, ``n``, ``p_value:.3f``, ``value``, ``verdict``, ``published``. A
placeholder that matches no row or several, or a field the row leaves empty, is an error
naming it: a summary never quietly quotes the wrong row, a row that is gone, or "nan".
"""

from __future__ import annotations

import re

import pandas as pd

from analysis.claims import COLUMNS

PLACEHOLDER = re.compile(r"\{\{(.+?)\}\}", re.DOTALL)


class QuoteError(ValueError):
    """A placeholder that names no row, several rows or no field; the message is one line."""


def _row_text(row: pd.Series) -> str:
    return f"{row['protocol']} — {row['comparison']} [{row['metric']}]"


def _one_row(claims: pd.DataFrame, claim: str, filters: list[str], where: str) -> pd.Series:
    numbers = claims["claim"].astype(str).str.split(".").str[0].str.strip()
    rows = claims[numbers == claim]
    texts = rows.apply(_row_text, axis=1) if len(rows) else pd.Series(dtype=str)
    keep = pd.Series(True, index=rows.index)
    for text in filters:
        keep &= texts.str.contains(text, regex=False)
    rows = rows[keep]
    if len(rows) != 1:
        found = "no row" if rows.empty else f"{len(rows)} rows"
        raise QuoteError(f"{where}: {found} of claim {claim} match "
                         f"{' & '.join(map(repr, filters)) or 'no filter'}")
    return rows.iloc[0]


def _field(row: pd.Series, spec: str, where: str) -> str:
    name, _, fmt = spec.partition(":")
    name = name.strip()
    if name not in COLUMNS:
        raise QuoteError(f"{where}: no field {name!r}; fields: {', '.join(COLUMNS)}")
    value = row[name]
    if pd.isna(value):
        raise QuoteError(f"{where}: the row's {name!r} is empty")
    if name == "n":
        value = int(value)
    try:
        return format(value, fmt)
    except (TypeError, ValueError) as err:
        raise QuoteError(f"{where}: format {fmt!r} does not fit {value!r} ({err})") from None


def fill(text: str, claims: pd.DataFrame) -> str:
    """``text`` with every placeholder replaced by its row's field (see the module doc)."""

    def one(match: re.Match) -> str:
        where = f"placeholder {match.group(0)!r}"
        parts = [p.strip() for p in match.group(1).split("|")]
        if len(parts) < 2 or not parts[0].isdigit():
            raise QuoteError(f"{where}: write {{{{CLAIM | FILTER ... | FIELD[:FORMAT]}}}}")
        row = _one_row(claims, parts[0], parts[1:-1], where)
        return _field(row, parts[-1], where)

    return PLACEHOLDER.sub(one, text)
