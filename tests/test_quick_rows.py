"""benchmarks/quick_rows.py's comparison: two rows folders are the same exactly when their
tidy rows agree outside the run-specific columns (times, trial ids, paths)."""

import importlib.util
import sys

import pandas as pd
import pytest

from conftest import assert_one_line
from sweep_helpers import ROOT


def _load():
    spec = importlib.util.spec_from_file_location("quick_rows",
                                                  ROOT / "benchmarks" / "quick_rows.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["quick_rows"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


quick_rows = _load()


def rows(folder, frame, name="dendrites_pmnist/continual.csv"):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return folder


def frame(trial="a_00000", seconds=1.5, accuracy=0.9731):
    return pd.DataFrame({"trial_id": [trial, trial + "1"], "time_total_s": [seconds, 2.0],
                         "trial_path": ["/tmp/x", "/tmp/y"], "seed": [0, 1],
                         "task_trained": [0, 0], "accuracy": [accuracy, 0.5],
                         "kw_fraction": [float("nan"), 0.05]})


def test_run_specific_columns_and_row_order_do_not_count(tmp_path, capsys):
    """Catches a checker that compares trial ids, times or paths (two runs of the same code
    always differ there), that depends on the order rows were written in, or that reads an
    empty cell as NaN (NaN != NaN: every row with one would differ)."""
    a = rows(tmp_path / "a", frame())
    b = rows(tmp_path / "b", frame(trial="zz_00007", seconds=99.0).iloc[::-1])
    assert quick_rows.main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "same: dendrites_pmnist/continual.csv (2 rows, 4 columns compared)" in out
    assert "result rows identical" in out


def test_a_last_digit_is_a_difference_and_is_shown(tmp_path, capsys):
    """Catches a tolerance (same seeds must give the same numbers) and a silent exit 0."""
    a = rows(tmp_path / "a", frame())
    b = rows(tmp_path / "b", frame(accuracy=0.9732))
    assert quick_rows.main(["compare", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "1 of 2 rows differ" in out and "0.9731" in out and "0.9732" in out
    assert "result rows differ" in out


def test_a_file_or_column_on_one_side_only_is_a_difference(tmp_path):
    a = rows(tmp_path / "a", frame())
    rows(a, frame(), name="imp_sparsity/imp.csv")
    b = rows(tmp_path / "b", frame().assign(extra=1))
    problems = quick_rows.compare_rows(a, b)
    assert any("imp_sparsity/imp.csv: only in" in p for p in problems)
    assert any("columns differ: ['extra']" in p for p in problems)


def test_bad_folder_is_one_line(tmp_path, capsys):
    code = quick_rows.main(["compare", str(tmp_path / "missing"), str(tmp_path)])
    out, err = capsys.readouterr()
    assert_one_line(code, err, "is not a folder")


@pytest.mark.parametrize("column", ["trial_id", "time_total_s", "timestamp", "trial_path",
                                    "exp_dir", "exp_name"])
def test_ignored_columns(column):
    assert quick_rows.ignored(column, ())
    assert not quick_rows.ignored("accuracy", ())
    assert not quick_rows.ignored("task_trained", ())
