"""Prose that quotes claims rows (analysis.quoting): the number printed is the row's, and a
placeholder that names no row, several rows or no field is an error, never a blank."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.claims import COLUMNS, claim_row
from analysis.quoting import QuoteError, fill


def _claims() -> pd.DataFrame:
    rows = [
        claim_row(2, protocol="noise numenta; levels=(0.0, 0.5)",
                  comparison="winning tickets vs dense", mean=4727.4, n=7,
                  verdict="inconclusive; about 13 seeds would decide"),
        claim_row(2, protocol="noise set_2sigma; levels=(0.0, 0.5)",
                  comparison="winning tickets vs dense", mean=4127.0, n=7, verdict="open"),
        claim_row(4, protocol="5 tasks", comparison="dendritic CNN vs sparse CNN",
                  mean=1.1049, ci_low=-0.75, ci_high=2.95, n=4, p_value=0.2,
                  verdict="inconclusive (no significant difference)"),
    ]
    return pd.DataFrame.from_records(rows, columns=COLUMNS)


def test_placeholders_print_the_named_rows_fields_in_their_format():
    """Catches a filter ignored (the first claim-2 row quoted for the set_2sigma one), a
    claim number ignored, or a format spec dropped."""
    text = ("Claim 4: {{4 | sparse CNN | mean:+.2f}} points [{{4|sparse CNN|ci_low:+.2f}}, "
            "{{4 | sparse CNN | ci_high:+.2f}}], n = {{4 | sparse CNN | n}}; claim 2 under "
            "set_2sigma: {{2 | winning | set_2sigma | mean:+,.0f}} ({{2 | numenta | verdict}}).")
    assert fill(text, _claims()) == (
        "Claim 4: +1.10 points [-0.75, +2.95], n = 4; claim 2 under set_2sigma: +4,127 "
        "(inconclusive; about 13 seeds would decide).")


def test_text_without_placeholders_is_unchanged():
    text = "No numbers here: {single braces} stay."
    assert fill(text, _claims()) == text


@pytest.mark.parametrize("text, message", [
    ("{{2 | winning | mean}}", "2 rows of claim 2 match 'winning'"),
    ("{{3 | anything | mean}}", "no row of claim 3 match 'anything'"),
    ("{{4 | sparse CNN | average}}", "no field 'average'"),
    ("{{4 | sparse CNN | verdict:+.2f}}", "format '+.2f' does not fit"),
    ("{{2 | numenta | ci_low:+.2f}}", "the row's 'ci_low' is empty"),
    ("{{sparse CNN | mean}}", "write {{CLAIM | FILTER ... | FIELD[:FORMAT]}}"),
])
def test_a_placeholder_that_names_no_single_row_or_field_is_an_error(text, message):
    """Catches a summary that quietly quotes the first of several rows, or prints nothing
    for a row that is gone."""
    with pytest.raises(QuoteError, match=None) as err:
        fill(text, _claims())
    assert message in str(err.value) and "\n" not in str(err.value)


def test_reflow_wraps_bullets_without_breaking_links_or_numbers():
    """Catches a filled summary left with the template's ragged lines, a bullet's
    continuation not indented (Markdown would end the bullet), or a link split."""
    from analysis.markdown import reflow

    text = ("Head:\n- **Claim 1:** " + "word " * 30 + "[claim1.md](docs/results/claim1.md)"
            "\n  -16,478 end.\n- second\n\nNext paragraph\njoined.")
    out = reflow(text, width=40)
    lines = out.splitlines()
    assert lines[0] == "Head:" and lines[1].startswith("- **Claim 1:** word")
    assert all(len(line) <= 40 for line in lines if "](" not in line)
    bullet = lines[1:lines.index("- second")]
    assert all(line.startswith("  ") for line in bullet[1:])
    assert "[claim1.md](docs/results/claim1.md)" in out and "-16,478" in out
    assert out.endswith("- second\n\nNext paragraph joined.")
