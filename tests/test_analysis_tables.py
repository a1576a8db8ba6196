"""The lottery-ticket headline and tables on constructed frames with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.grouping import setting_groups
from analysis.markdown import pm, table
from analysis.tables import headline_sentences, imp_display, imp_headline, imp_summary

# mean winning accuracy per weights remaining (dense 0.980): within 0.5 points down to 0.262,
# out at 0.21, back "in" at 0.168 by noise; the headline must stop at the first drop.
WINNING = {1.0: 0.980, 0.8: 0.982, 0.64: 0.979, 0.512: 0.978, 0.41: 0.9760, 0.328: 0.9752,
           0.262: 0.9751, 0.21: 0.970, 0.168: 0.977, 0.134: 0.95}


def _imp_frame(winning=WINNING, seeds=3) -> pd.DataFrame:
    rows = []
    for seed in range(seeds):
        jitter = (seed - (seeds - 1) / 2) * 0.001  # mean over seeds stays exact
        for r, (wr, acc) in enumerate(winning.items()):
            rows.append({"seed": seed, "ticket": "winning", "round": r, "weights_remaining": wr,
                         "round_test_acc_at_best_val": acc + jitter})
            rows.append({"seed": seed, "ticket": "random", "round": r, "weights_remaining": wr,
                         "round_test_acc_at_best_val": 0.98 - 0.05 * (1 - wr) + jitter})
    return pd.DataFrame(rows)


def test_headline_is_the_last_compression_before_the_first_drop():
    h = imp_headline(_imp_frame()).iloc[0]
    assert h["weights_remaining"] == pytest.approx(0.262)
    assert h["compression"] == pytest.approx(1 / 0.262)
    assert h["winning_mean"] == pytest.approx(0.9751)
    assert h["winning_n"] == 3
    assert h["dense_mean"] == pytest.approx(0.980)
    assert h["random_mean"] == pytest.approx(0.98 - 0.05 * (1 - 0.262))
    assert h["first_drop_weights_remaining"] == pytest.approx(0.21)
    assert "26.2% of weights remaining (3.8x compression)" in headline_sentences(
        imp_headline(_imp_frame()))[0]


def test_headline_tolerance_and_no_ticket_within_it():
    assert imp_headline(_imp_frame(), tolerance=0.3).iloc[0]["weights_remaining"] == \
        pytest.approx(0.512)
    assert imp_headline(_imp_frame(), tolerance=1.1).iloc[0]["weights_remaining"] == \
        pytest.approx(0.168)
    worst = {1.0: 0.98, 0.8: 0.90}
    h = imp_headline(_imp_frame(worst), tolerance=0.5).iloc[0]
    assert h["weights_remaining"] == 1.0 and h["compression"] == 1.0


def test_headline_per_setting():
    a = _imp_frame().assign(arch="lenet")
    b = _imp_frame({1.0: 0.99, 0.8: 0.99, 0.64: 0.90}).assign(arch="conv2")
    heads = imp_headline(pd.concat([a, b]), settings=["arch"]).set_index("setting")
    assert heads.loc["arch=conv2", "weights_remaining"] == pytest.approx(0.8)
    assert heads.loc["arch=lenet", "weights_remaining"] == pytest.approx(0.262)


def test_imp_table_has_mean_std_and_seed_count():
    summary = imp_summary(_imp_frame())
    first = summary.iloc[0]
    assert (first["ticket"], first["weights_remaining"], first["n"]) == ("winning", 1.0, 3)
    assert first["std"] == pytest.approx(0.001)
    [(label, shown)] = imp_display(summary)
    assert label == "" and list(shown.columns) == ["weights remaining", "compression",
                                                   "winning (%)", "random (%)"]
    assert shown.iloc[0]["winning (%)"] == "98.00 ± 0.10 (n=3)"
    assert "| 100.0% | 1.0x |" in table(shown)


def test_formats():
    assert pm(0.5, np.nan, 1) == "50.00 (n=1)"
    assert pm(np.nan, np.nan, 0) == "—"
    assert pm(-0.015, 0.002, 4, signed=True) == "-1.50 ± 0.20 (n=4)"
    assert table(pd.DataFrame({"a|b": [1.5, None]})) == "| a\\|b |\n|---|\n| 1.5 |\n| — |\n"


def test_permuted_table_counts_complete_trials_only(tmp_path):
    from analysis.continual import continual_trials
    from analysis.loading import load_experiments
    from analysis.tables import permuted_display, permuted_summary
    from analysis.tidy import tidy_frames
    from test_analysis_fakes import fake_continual

    res = load_experiments([fake_continual(tmp_path, "two", "permuted", num_tasks=2),
                            fake_continual(tmp_path, "three", "permuted", num_tasks=3,
                                           unfinished=True)])
    trials = continual_trials(tidy_frames(res)["continual"], res.history)
    assert len(trials) == 13 and (~trials["complete"]).sum() == 1
    summary = permuted_summary(trials).set_index(["label", "num_tasks"])
    mlp3 = summary.loc[("mlp", 3)]
    assert mlp3["mean_accuracy_n"] == 3  # the unfinished seed is left out
    assert mlp3["mean_accuracy_mean"] == pytest.approx(0.852)
    assert mlp3["forgetting_mean"] == pytest.approx(0.15)
    assert mlp3["bwt_mean"] == pytest.approx(-0.15)
    assert trials["reported_forgetting"].dropna().tolist() == pytest.approx(
        trials["forgetting"].dropna().tolist())
    (_, long), (title, grid) = permuted_display(permuted_summary(trials))
    assert title == "mean accuracy (%) by number of tasks"
    assert list(grid.columns) == ["model", "2 tasks", "3 tasks"]
    assert grid.set_index("model").loc["mlp", "3 tasks"] == pytest.approx(85.2)


def test_imp_tables_show_compression_over_all_parameters_when_reported():
    from analysis.tables import imp_display, imp_summary

    rows = [dict(seed=s, ticket=t, weights_remaining=wr, compression_all_params=ca,
                 round_test_acc_at_best_val=0.9 + 0.01 * s)
            for s in range(3) for t in ("winning", "random") for wr, ca in ((1.0, 1.0), (0.5, 1.9))]
    frame = pd.DataFrame(rows)
    summary = imp_summary(frame)
    half = summary[summary["weights_remaining"] == 0.5]
    assert half["compression"].tolist() == [2.0, 2.0]
    assert half["compression_all_params"].tolist() == pytest.approx([1.9, 1.9])
    table = imp_display(summary)[0][1]
    assert table["compression, all parameters"].tolist() == ["1.0x", "1.9x"]
    older = imp_summary(frame.drop(columns="compression_all_params"))
    assert older["compression_all_params"].isna().all()
    assert "compression, all parameters" not in imp_display(older)[0][1]


def test_setting_labels_leave_out_settings_an_experiment_left_empty():
    """hp_source is empty for the paper's chosen values and "search" for searched ones: the
    empty side's label must not read "hp_source=" (it reached the README's claims table)."""
    frame = pd.DataFrame({"epochs_per_task": [15, 15, 5, 5], "hp_source": ["", None, "search", np.nan],
                          "acc": [1, 2, 3, 4]})
    groups = dict(setting_groups(frame, ["epochs_per_task", "hp_source"]))
    assert sorted(groups) == ["epochs_per_task=15", "epochs_per_task=5",
                              "epochs_per_task=5, hp_source=search"]
    assert list(groups["epochs_per_task=15"]["acc"]) == [1, 2]  # "" and None: one group
    assert groups["epochs_per_task=15"]["hp_source"].iloc[0] == ""  # the rows as they were
