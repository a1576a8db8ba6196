"""The report shows each continual arm's hyper-parameters and the search that chose them."""

from __future__ import annotations

import json

import pytest

from analysis.report import build_report

from test_analysis_fakes import fake_continual


@pytest.mark.slow
def test_report_lists_each_arms_values_and_the_search(tmp_path):
    exp = fake_continual(tmp_path, "final", "permuted")
    (exp / "search_trials.csv").write_text(
        "arm,lr,epochs_per_task,tasks_done,val_mean_accuracy,error,chosen\n"
        "mlp,3e-06,5,3,0.91,,True\n"
        "mlp,0.0005,3,2,,,False\n"
        "active_dendrites_mlp,0.0005,3,3,0.95,,True\n")
    (exp / "chosen.json").write_text(json.dumps({
        "chosen": {"mlp": {"lr": 3e-6, "epochs_per_task": 5, "val_mean_accuracy": 0.91},
                   "active_dendrites_mlp": {"lr": 5e-4, "epochs_per_task": 3,
                                            "val_mean_accuracy": 0.95}},
        "grid": {"lr": [3e-6, 5e-4], "epochs_per_task": [3, 5]},
        "search": {"tasks": 3, "seed": 1000, "scheduler": "asha", "split": "val"},
        "final": {"seeds": [0, 1, 2], "num_tasks": 3, "split": "test"}}))
    text = build_report([exp], tmp_path / "out").read_text()

    per_arm = text.split("#### Hyper-parameters per arm")[1].split("####")[0]
    mlp_line = next(line for line in per_arm.splitlines() if "| mlp" in line.lower())
    assert "0.001" in mlp_line and "| 3 |" in mlp_line          # its own lr, 3 seeds
    adn_line = next(line for line in per_arm.splitlines() if "dendrites" in line.lower())
    assert "0.0005" in adn_line
    chosen = text.split("#### How the hyper-parameters were chosen")[1]
    assert "3 task(s), seed 1000" in chosen and "mlp: lr 3e-06, 5 epochs/task" in chosen
    assert (tmp_path / "out" / "search_trials.csv").is_file()


@pytest.mark.slow
def test_no_search_section_without_a_search(tmp_path):
    exp = fake_continual(tmp_path, "pmnist", "permuted")
    text = build_report([exp], tmp_path / "out").read_text()
    assert "#### Hyper-parameters per arm" in text
    assert "How the hyper-parameters were chosen" not in text


@pytest.mark.slow
def test_split_report_with_a_single_seed(tmp_path):
    """One seed: every std is NaN; the split table must still be built (it once crashed on
    the missing after_task_*_std columns)."""
    exp = fake_continual(tmp_path, "split_one", "split", seeds=1)
    text = build_report([exp], tmp_path / "out").read_text()
    assert "active_dendrites_cnn" in text
    import pandas as pd
    table = pd.read_csv(tmp_path / "out" / "split_table.csv")
    assert "after_task_1_std" in table and table["after_task_1_n"].eq(1).all()


@pytest.mark.slow
def test_search_of_final_runs_still_going_is_read_from_the_folder_above(tmp_path):
    exp = fake_continual(tmp_path / "tuned", "final", "permuted")
    (tmp_path / "tuned" / "search_trials.csv").write_text(
        "arm,lr,epochs_per_task,tasks_done,val_mean_accuracy,error,chosen\n"
        "mlp,3e-05,5,3,0.93,,True\n")
    text = build_report([exp], tmp_path / "out").read_text()
    assert "How the hyper-parameters were chosen" in text and "3e-05" in text
