"""Ctrl-C in a sweep of several experiments (split CIFAR with its task-id baselines), which
run side by side: every experiment stops with its state saved, exit 130 and the resume hint;
--resume finishes them all."""

import pandas as pd
import pytest

from sparsenet.schema import EXPERIMENT_FILE
from sweep_helpers import interrupt_once_reported, run_main

ARGS = ["--quick", "--epochs", "2", "--task-id-baselines", "--dataset",
        "synthetic:3,32,32,4,160,80", "--no-augment", "--num-cpus", "1", "--max-concurrent", "1"]


@pytest.mark.ray
def test_an_interrupted_plan_stops_every_experiment_and_resume_finishes_them(tmp_path):
    """Catches: a Ctrl-C that reaches only one of the side-by-side Tuners (the other would
    run on, or the plan would hang), and a plan that exits 0 while an experiment is cut."""
    code, out = interrupt_once_reported(
        "dendrites_split_cifar", [*ARGS, "--storage", str(tmp_path), "--name", "sc"],
        tmp_path / "sc")
    assert code == 130, out[-3000:]
    assert "was interrupted" in out and "--resume" in out and "Traceback" not in out
    assert "FileNotFoundError" not in out  # no Ray noise about the trials that never started
    assert (tmp_path / "sc_task_id" / EXPERIMENT_FILE).exists()  # started beside the first

    code, err = run_main("dendrites_split_cifar", *ARGS, "--storage", str(tmp_path),
                         "--name", "sc", "--resume")
    assert code == 0, err[-6000:]
    main = pd.read_csv(tmp_path / "sc" / "continual.csv")
    assert set(main["model"]) == {"cnn", "sparse_cnn", "active_dendrites_cnn"}
    baselines = pd.read_csv(tmp_path / "sc_task_id" / "continual.csv")
    assert set(baselines["model"]) == {"cnn", "sparse_cnn"}
