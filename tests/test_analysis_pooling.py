"""analysis.pooling: seeds of one protocol from several folders are one sample; a seed given
twice is one error line; a folder with another protocol is its own setting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.grouping import setting_columns
from analysis.pooling import DuplicateSeed
from analysis.report import build_report, claims_frame
from analysis.sources import load_sources
from analysis.tables import imp_summary
from analysis.tidy import tidy_frames
from test_analysis_fakes import (PRUNING_ROUNDS, fake_noise, imp_rows, write_experiment,
                                 write_trial)

ROOT = Path(__file__).resolve().parents[1]
COMMITTED_MNIST = ROOT / "docs" / "results" / "mnist"


def imp_folder(root: Path, name: str, seeds, *, data_dir: str = "data",
               epochs: int = 2) -> Path:
    """Winning and random tickets for the given seeds, finished, one protocol."""
    exp = write_experiment(root, name, "imp", "imp_sparsity.py")
    i = 0
    for seed in seeds:
        for ticket in ("winning", "random"):
            config = {"experiment": "imp", "data_dir": data_dir, "seed": seed,
                      "ticket": ticket, "arch": "lenet300_100", "dataset": "digits",
                      "rounds": PRUNING_ROUNDS, "epochs_per_round": epochs}
            write_trial(exp, i, config, imp_rows(ticket, seed))
            i += 1
    return exp


def _tables(paths):
    """The IMP table (split by the settings the report would use) and the claims."""
    results = load_sources(paths)
    frames = tidy_frames(results)
    claims = claims_frame(results, frames, resamples=300)
    settings = setting_columns(frames["imp"], results.of_kind("imp").config_columns, ["ticket"])
    return imp_summary(frames["imp"], settings=settings), claims


def test_two_folders_pool_into_the_sample_of_one_folder_with_every_seed(tmp_path):
    """n = 3 + 4 and the same means, stds, claims and verdicts as one folder holding seeds
    0-6. Catches data_dir (here "data" vs "datasets": relative, so no path rule hides it)
    or exp_name splitting the group
    (two rows per round instead of one), and a second folder silently dropped."""
    one = imp_folder(tmp_path / "a", "imp_all", range(7))
    first = imp_folder(tmp_path / "b", "imp_mnist", range(3), data_dir="data")
    second = imp_folder(tmp_path / "b", "imp_mnist_s3_6", range(3, 7), data_dir="datasets")
    whole, whole_claims = _tables([one])
    pooled, pooled_claims = _tables([first, second])
    assert set(pooled["n"]) == {7}
    pd.testing.assert_frame_equal(pooled, whole)
    cols = ["claim", "comparison", "value", "mean", "ci_low", "ci_high", "n", "p_value",
            "verdict"]
    pd.testing.assert_frame_equal(pooled_claims[cols], whole_claims[cols])


def test_a_report_folder_pools_with_a_new_experiment_folder(tmp_path):
    """The committed-report case: old seeds only as a report, new seeds as a Tune folder."""
    old = imp_folder(tmp_path, "imp_mnist", range(3))
    build_report([old], tmp_path / "report", resamples=200)
    new = imp_folder(tmp_path, "imp_mnist_s3_6", range(3, 7), data_dir="datasets")
    whole, _ = _tables([imp_folder(tmp_path / "all", "imp_all", range(7))])
    pooled, _ = _tables([tmp_path / "report", new])
    pd.testing.assert_frame_equal(pooled, whole)


def test_disjoint_seeds_of_another_protocol_are_their_own_setting(tmp_path):
    """Catches the old rule "a column fixed by the seed does not split", which pooled a folder
    run at other epochs with seeds 3-4 into seeds 0-2 (each seed has one epochs value)."""
    main = imp_folder(tmp_path, "imp", range(3), epochs=35)
    quick = imp_folder(tmp_path, "imp_quick", range(3, 5), epochs=2)
    summary, claims = _tables([main, quick])
    assert "epochs_per_round" in summary.columns
    assert set(zip(summary["epochs_per_round"], summary["n"])) == {(35, 3), (2, 2)}
    heads = claims[claims["comparison"].str.startswith("highest compression")
                   & claims["headline"].astype(bool)]  # not the paper's-selection rows
    assert sorted(heads["n"]) == [2, 3]


def test_a_seed_given_twice_is_one_error_line_and_exit_2(tmp_path):
    """The same folder twice, or overlapping --seed-list: exit 2, one line, nothing written.
    Catches a silent average (or a doubled n) of the two copies of a seed."""
    first = imp_folder(tmp_path, "imp_mnist", range(3))
    overlap = imp_folder(tmp_path, "imp_mnist_s2_4", range(2, 5), data_dir="datasets")
    with pytest.raises(DuplicateSeed, match="seed 2 is given twice for the same protocol"):
        load_sources([first, overlap])
    for paths in ([first, first], [first, overlap]):
        out = tmp_path / "out"
        proc = subprocess.run([sys.executable, "-m", "analysis", "report", *map(str, paths),
                               "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: seed ")
        assert "is given twice for the same protocol (imp: ticket=winning" in lines[0]
        assert not out.exists()


def test_dense_evaluated_by_the_winning_and_the_random_trial_of_a_seed_is_no_duplicate(
        tmp_path):
    """Each tickets-mode noise trial evaluates its own dense round 0: two trials, one seed,
    but different protocols (ticket), so no error. Catches an identity that takes only the
    seed from the rows (a noise trial learns its seed and ticket from the ticket it loads)."""
    results = load_sources([fake_noise(tmp_path, seeds=3)])
    assert len(results.trials) == 3 * 6


@pytest.mark.skipif(not COMMITTED_MNIST.is_dir(), reason="committed reports not present")
def test_committed_report_split_by_seed_pools_back(tmp_path):
    """Smoke check: docs/results/mnist cut into two report folders (seeds 0-1, seed 2) pools
    back to claim 1 over 3 seeds, the committed 24.6x."""
    for name, seeds in (("s01", {0, 1}), ("s2", {2})):
        folder = tmp_path / name
        folder.mkdir()
        for csv in COMMITTED_MNIST.glob("*.csv"):
            frame = pd.read_csv(csv)
            if csv.name == "trials.csv":
                frame = frame[frame["kind"] == "imp"]
            elif csv.name != "tidy_imp.csv":
                continue
            frame[frame["seed"].isin(seeds)].to_csv(folder / csv.name, index=False)
    _, claims = _tables([tmp_path / "s01", tmp_path / "s2"])
    head = claims[claims["comparison"].str.startswith("highest compression")].iloc[0]
    assert head["n"] == 3 and str(head["value"]).startswith("24.6x")
