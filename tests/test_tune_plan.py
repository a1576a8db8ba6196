"""The plan runner (sparsenet.tune.plan): a plan's experiments share the Ray cluster at once,
each in its own folder with its own record and tidy CSV."""

import json

import pandas as pd
import pytest

from sparsenet.schema import EXPERIMENT_FILE, RESULT_FILE
from sweep_helpers import run_main

ARGS = ["--quick", "--epochs", "2", "--tasks", "2", "--models", "cnn", "--task-id-baselines",
        "--dataset", "synthetic:3,32,32,4,160,80", "--no-augment", "--num-cpus", "2"]


def _span(folder):
    """(start, end) wall-clock seconds of the one trial in an experiment folder."""
    (result,) = folder.glob(f"*/{RESULT_FILE}")
    rows = [json.loads(line) for line in result.read_text().splitlines() if line.strip()]
    return rows[0]["timestamp"] - rows[0]["time_this_iter_s"], rows[-1]["timestamp"]


@pytest.mark.ray
def test_a_plans_experiments_run_at_once_each_in_its_own_folder(tmp_path, capsys):
    """Two experiments of one trial each on 2 CPUs: their trials overlap in time. Catches:
    a runner that runs them one after the other (the second would start after the first
    ended), or one that mixes their trials into one folder."""
    code, err = run_main("dendrites_split_cifar", *ARGS, "--storage", str(tmp_path),
                         "--name", "sc")
    assert code == 0, err[-3000:]
    out = capsys.readouterr().out
    (a0, a1), (b0, b1) = _span(tmp_path / "sc"), _span(tmp_path / "sc_task_id")
    assert a0 < b1 and b0 < a1, ((a0, a1), (b0, b1))
    for name in ("sc", "sc_task_id"):
        record = json.loads((tmp_path / name / EXPERIMENT_FILE).read_text())
        assert record["kind"] == "continual" and record["trials"] == 1
        tidy = pd.read_csv(tmp_path / name / "continual.csv")
        assert set(tidy["model"]) == {"cnn"} and len(tidy["trial_id"].unique()) == 1
    # every trial line names its experiment; each folder's headline follows its results
    assert "[sc 1/1 done" in out and "[sc_task_id 1/1 done" in out
    assert out.index("results: ") < out.index("continual: mean accuracy")
