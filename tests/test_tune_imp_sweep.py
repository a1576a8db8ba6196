"""The IMP sweep end to end on a real local Ray cluster, and its input checks."""

import json

import pandas as pd
import pytest

from sparsenet.experiments.imp import IMPConfig
from sparsenet.tune.trainable import ExperimentTrainable

from conftest import assert_one_line, run_before_ray
from sweep_helpers import load_sweep


def run_cli(*args):
    """The sweep's main() in-process (no interpreter start-up); Ray must not start."""
    return run_before_ray("imp_sparsity", *args)


@pytest.mark.parametrize("args, message", [
    (["--prune-rate", "1.5"], "must be in [0, 1)"),
    (["--dataset", "imagenet"], "unknown dataset"),
    (["--arch", "resnet9000"], "unknown arch"),
    (["--seeds", "0"], "--seeds must be >= 1"),
])
def test_bad_input_is_one_clear_line_before_ray_starts(tmp_path, args, message):
    code, err = run_cli("--quick", "--storage", str(tmp_path), *args)
    assert_one_line(code, err, message)
    assert not (tmp_path / "imp_sparsity").exists()


def test_unwritable_storage_and_existing_experiment_are_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, err = run_cli("--quick", "--storage", str(blocker / "sub"))
    assert_one_line(code, err, "not writable")
    done = tmp_path / "imp_sparsity"
    done.mkdir()
    (done / "precious.csv").write_text("keep me")
    code, err = run_cli("--quick", "--storage", str(tmp_path))
    assert_one_line(code, err, "--resume")
    assert (done / "precious.csv").read_text() == "keep me"
    code, err = run_cli("--quick", "--storage", str(tmp_path), "--resume")
    assert_one_line(code, err, "not a sparsenet experiment")


@pytest.mark.ray
def test_quick_sweep_runs_two_trials_on_a_local_ray_cluster_and_writes_tidy_csv(tmp_path):
    sweep = load_sweep("imp_sparsity")
    code = sweep.main(["--quick", "--rounds", "2", "--epochs", "2", "--storage", str(tmp_path),
                       "--name", "imp", "--num-cpus", "2"])
    assert code == 0
    exp = tmp_path / "imp"
    assert json.loads((exp / "sparsenet_experiment.json").read_text())["kind"] == "imp"
    rounds = pd.read_csv(exp / "imp_rounds.csv")
    assert sorted(rounds["ticket"].unique()) == ["random", "winning"]
    assert len(rounds) == 2 * 3  # two trials x rounds 0..2
    dense = rounds[rounds["round"] == 0]["test_acc"]
    assert (dense > 0.5).all()  # digits, 10 classes: chance is 0.1
    tickets = sorted(exp.glob("*/tickets/round_*.pt"))
    assert len(tickets) == 6


def trainable(tmp_path):
    config = IMPConfig.from_preset("bain2022", dataset="digits", rounds=2, epochs_per_round=2,
                                   rate_hidden=0.5, rate_output=0.5)
    return ExperimentTrainable(config={"experiment": "imp", "data_dir": None, **config.to_flat()},
                               )


@pytest.mark.slow
def test_trial_restored_from_checkpoint_continues_at_the_right_round(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    uninterrupted = trainable(tmp_path)
    rows = [uninterrupted.train() for _ in range(6)]
    assert rows[-1]["done"] and rows[-1]["round"] == 2

    first = trainable(tmp_path)
    for _ in range(3):  # round 0 done (checkpoint there), round 1 half-way
        row = first.train()
    assert row["round"] == 1 and row["epoch"] == 1
    checkpoint_dir = tmp_path / "ckpt"
    checkpoint_dir.mkdir()
    first.save_checkpoint(str(checkpoint_dir))
    resumed = trainable(tmp_path)
    resumed.load_checkpoint(str(checkpoint_dir))
    rest = [resumed.train() for _ in range(3)]
    assert [(r["round"], r["epoch"]) for r in rest] == [(1, 2), (2, 1), (2, 2)]
    for a, b in zip(rest, rows[3:]):
        assert a["test_acc"] == b["test_acc"] and a["train_loss"] == b["train_loss"]
