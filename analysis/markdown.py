"""Markdown tables and number formats (hand-rolled: no tabulate dependency)."""

from __future__ import annotations

import math
import textwrap
from typing import Any

import numpy as np
import pandas as pd


def is_missing(value: Any) -> bool:
    """None, NaN or pandas NA; never raises (a tuple or a string is a value)."""
    try:
        return value is None or (isinstance(value, float) and math.isnan(value)) or \
            bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def plain(value: Any) -> str:
    """One spelling per value whatever the source's types: 200 and 200.0 -> "200",
    True and numpy's True -> "True", [0.1, 0.2] -> "(0.1, 0.2)"."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        v = float(value)
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(value, list):
        value = tuple(value)
    return str(value)


def pm(mean: float, std: float, n: int, *, scale: float = 100.0, digits: int = 2,
       signed: bool = False, unit: str = "") -> str:
    """``98.12 ± 0.10 (n=7)``; a single seed has no spread to show."""
    if is_missing(mean) or is_missing(n) or int(n) == 0:
        return "—"
    sign = "+" if signed else ""
    text = f"{mean * scale:{sign}.{digits}f}"
    if int(n) > 1 and not is_missing(std):
        text += f" ± {std * scale:.{digits}f}"
    return f"{text}{unit} (n={int(n)})"


def percent(fraction: float) -> str:
    """Three significant digits where it matters: 70.0%, 3.12%, 0.93%."""
    if is_missing(fraction):
        return "—"
    value = fraction * 100.0
    if abs(value) >= 10 or value == 0:
        return f"{value:.1f}%"
    if abs(value) >= 1:
        return f"{value:.2f}%"
    return f"{value:.2g}%"


def table(frame: pd.DataFrame, *, index: bool = False) -> str:
    """A GitHub-flavoured Markdown table; missing values print as an em dash."""
    if index:
        frame = frame.reset_index()
    if frame.empty:
        return "_(no rows yet)_\n"
    headers = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if is_missing(value):
        return "—"
    if isinstance(value, float):
        value = f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def reflow(text: str, width: int = 95) -> str:
    """Paragraphs and ``- `` bullets re-wrapped at ``width`` (a bullet's continuation lines
    indented by two), so prose whose placeholders were filled in reads like typed prose.
    Never breaks inside a word, a link or a number."""
    blocks: list[list[str]] = []
    for line in text.strip().splitlines():
        stripped = line.strip()
        if not stripped:
            blocks.append([])
        elif stripped.startswith("- ") or not blocks or not blocks[-1]:
            blocks.append([stripped])
        else:
            blocks[-1].append(stripped)
    out: list[str] = []
    for block in blocks:
        if not block:
            out.append("")
            continue
        bullet = block[0].startswith("- ")
        words = " ".join(block)
        out.append(textwrap.fill(words, width, subsequent_indent="  " if bullet else "",
                                 break_long_words=False, break_on_hyphens=False))
    return "\n".join(out)
