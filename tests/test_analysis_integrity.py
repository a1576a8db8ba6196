"""analysis.integrity and the IMP headline guard: a damaged or partial trial never moves a
number silently (one warning line per trial; no headline from a round with fewer seeds)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.integrity import trial_warnings
from analysis.sources import load_sources
from analysis.tables import headline_sentences, imp_headline
from analysis.tidy import tidy_frames
from test_analysis_fakes import PRUNING_ROUNDS, imp_rows, write_experiment, write_trial

ROOT = Path(__file__).resolve().parents[1]


def imp_folder(root: Path, seeds=range(3), rows=imp_rows) -> Path:
    exp = write_experiment(root, "imp", "imp", "imp_sparsity.py")
    i = 0
    for seed in seeds:
        for ticket in ("winning", "random"):
            config = {"experiment": "imp", "data_dir": None, "seed": seed, "ticket": ticket,
                      "arch": "lenet300_100", "dataset": "digits", "rounds": PRUNING_ROUNDS}
            write_trial(exp, i, config, rows(ticket, seed))
            i += 1
    return exp


def _damage(result: Path) -> None:
    """As a user's disk or an editor might: cut the file mid-line, append a garbage line."""
    lines = result.read_text().splitlines(keepends=True)
    keep = len(lines) // 2
    result.write_text("".join(lines[:keep]) + lines[keep][: len(lines[keep]) // 2]
                      + "\nGARBAGE {not json\n")


def _trial_dir(exp: Path, index: int) -> Path:
    return next(exp.glob(f"ExperimentTrainable_*_{index:05d}_{index}_*"))


def test_damaged_result_json_is_one_warning_naming_its_lines_and_rounds(tmp_path):
    """Catches unreadable lines skipped without a word (the loader's old behaviour) and a
    missing-round check that is off by one or silent."""
    exp = imp_folder(tmp_path)
    _damage(_trial_dir(exp, 2) / "result.json")  # seed 1, winning
    out = tmp_path / "report"
    proc = subprocess.run([sys.executable, "-m", "analysis", "report", str(exp), "--out",
                           str(out)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    warnings = [ln for ln in proc.stderr.splitlines() if ln.startswith("warning: ")]
    assert len(warnings) == 1, proc.stderr
    line = warnings[0]
    # 7 rounds x 2 epochs = 14 lines; the cut line is 8 and the garbage line 9
    assert line.startswith("warning: imp/00002_00002 (seed=1, ticket=winning), ")
    assert "result.json line(s) 8-9 unreadable, skipped" in line
    assert "round(s) 3-6 missing (has 3 of 7)" in line  # line 8 was round 3's end
    assert f"- {line[len('warning: '):]}" in (out / "report.md").read_text()


def test_a_gap_in_the_rounds_is_named(tmp_path):
    """A round missing in the middle (its end row lost), not only a trial cut short."""
    def gappy(ticket, seed):
        rows = imp_rows(ticket, seed)
        if ticket == "winning" and seed == 0:
            return [r for r in rows if not (r["round"] == 2 and r["round_end"])]
        return rows
    results = load_sources([imp_folder(tmp_path, rows=gappy)])
    lines = trial_warnings(results, tidy_frames(results))
    assert lines == ["imp/00000_00000 (seed=0, ticket=winning), finished: round(s) 2 missing "
                     "(has 6 of 7)"]


def test_a_report_folder_keeps_the_warnings(tmp_path):
    """The trials table carries unreadable_lines, the tidy rows the rounds: the same lines."""
    exp = imp_folder(tmp_path)
    _damage(_trial_dir(exp, 0) / "result.json")
    direct = load_sources([exp])
    expected = trial_warnings(direct, tidy_frames(direct))
    from analysis.report import build_report
    build_report([exp], tmp_path / "report", resamples=100)
    again = load_sources([tmp_path / "report"])
    assert len(expected) == 1 and trial_warnings(again, tidy_frames(again)) == expected


def _short_seed_frame() -> pd.DataFrame:
    """3 seeds; seed 2 stops after round 3 and is far worse, so the mean of the later
    rounds (seeds 0-1 only) is higher than it would be with all three."""
    rows = []
    for seed in range(3):
        for r in range(7):
            if seed == 2 and r > 3:
                continue
            acc = 0.98 - (0.02 if seed == 2 and r > 0 else 0.0) - 0.0005 * r
            rows.append({"exp_name": "e", "trial_id": f"t{seed}", "seed": seed,
                         "ticket": "winning", "weights_remaining": 0.8 ** r,
                         "round_test_acc_at_best_val": acc})
    return pd.DataFrame(rows)


def test_headline_walk_stops_at_a_round_with_fewer_seeds_and_says_so():
    """Catches the walk going on through rounds that only the surviving seeds reached (the
    issue's 35.5x from one seed beside a dense mean over two)."""
    head = imp_headline(_short_seed_frame(), tolerance=1.0).iloc[0]
    assert head["winning_n"] == 3 and head["dense_n"] == 3
    assert head["weights_remaining"] == pytest.approx(0.8 ** 3)
    assert head["short_weights_remaining"] == pytest.approx(0.8 ** 4) and head["short_n"] == 2
    text = headline_sentences(imp_headline(_short_seed_frame(), tolerance=1.0))[0]
    assert "The walk stopped at 41.0% remaining, which has fewer seeds (n=2)" in text
