"""analysis.sources: a report folder is an input like the experiment folders it was made from."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.loading import NotAnExperiment
from analysis.report import build_report, claims_frame
from analysis.sources import EXPERIMENT, REPORT, load_sources, source_kind
from analysis.tidy import tidy_frames
from test_analysis_fakes import fake_continual, fake_imp, fake_noise

ROOT = Path(__file__).resolve().parents[1]
COMMITTED_MNIST = ROOT / "docs" / "results" / "mnist"


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in ("exp_name", "trial_id", "round", "network", "noise", "level",
                        "task_trained", "task_evaluated") if c in frame]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Fake experiments of every kind and the report folder written from them."""
    root = tmp_path_factory.mktemp("results")
    paths = [fake_imp(root), fake_noise(root, seeds=3),
             fake_continual(root, "pmnist", "permuted", seeds=3)]
    out = root / "report"
    build_report(paths, out, resamples=200)
    return paths, out


def test_report_folder_round_trips_to_the_same_frames_and_claims(made):
    """Catches a report folder read as plain CSV: config tuples (noise levels) coming back as
    strings, lost int types, or the tidy frames of one kind given to another."""
    paths, out = made
    assert [source_kind(p) for p in paths] == [EXPERIMENT] * 3
    assert source_kind(out) == REPORT
    direct, again = load_sources(paths), load_sources([out])
    built, read = tidy_frames(direct), tidy_frames(again)
    assert set(built) == set(read) == {"imp", "noise", "noise_scores", "continual"}
    for name in built:
        a, b = _sorted(built[name]), _sorted(read[name])
        assert list(a.columns) == list(b.columns), name
        pd.testing.assert_frame_equal(a, b, check_dtype=False, obj=name)
    assert isinstance(read["noise"]["levels"].iloc[0], tuple)
    claims_a = claims_frame(direct, built, resamples=200)
    claims_b = claims_frame(again, read, resamples=200)
    pd.testing.assert_frame_equal(claims_a, claims_b)
    assert set(again.experiments["source_kind"]) == {REPORT}


def test_a_folder_that_is_neither_says_so_in_one_line(tmp_path):
    (tmp_path / "trials.csv").write_text("exp_name,kind,trial_id,status\n")
    with pytest.raises(NotAnExperiment) as err:
        source_kind(tmp_path)  # a trials.csv alone is no report: it needs a tidy_*.csv
    assert str(err.value).count("\n") == 0
    assert "nor a report folder (no trials.csv with tidy_*.csv)" in str(err.value)


@pytest.mark.skipif(not COMMITTED_MNIST.is_dir(), reason="committed reports not present")
def test_committed_mnist_report_reads_as_a_source():
    """Smoke check on the committed report of claims 1-2 (3 seeds per ticket kind)."""
    results = load_sources([COMMITTED_MNIST])
    assert set(results.kinds) == {"imp", "noise"}
    frames = tidy_frames(results)
    claims = claims_frame(results, frames, resamples=200)
    first = claims[claims["claim"].str.startswith("1.")].iloc[0]
    assert first["n"] == 3 and str(first["value"]).startswith("24.6x")
