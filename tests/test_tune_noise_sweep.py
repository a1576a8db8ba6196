"""The noise sweep on a real local Ray cluster: tickets of an IMP run, plus controls."""

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from sparsenet.experiments.imp import IMPConfig, IMPExperiment

from sweep_helpers import load_sweep, run_main


def make_imp_experiment(folder: Path) -> Path:
    """An IMP 'experiment folder' with one trial holding its tickets, made without Ray."""
    trial = folder / "trial_0"
    trial.mkdir(parents=True)
    config = IMPConfig.from_preset("bain2022", dataset="digits", rounds=3, epochs_per_round=3,
                                   rate_hidden=0.5, rate_output=0.5)
    (trial / "params.json").write_text(json.dumps({"experiment": "imp", **config.to_flat()}))
    experiment = IMPExperiment(config, artifact_dir=trial)
    while not experiment.done:
        experiment.step()
    return folder


def test_noise_sweep_needs_something_to_do_and_real_tickets(tmp_path):
    code, nothing = run_main("noise_robustness", "--storage", str(tmp_path))
    assert code == 2 and "nothing to do" in nothing
    code, no_tickets = run_main("noise_robustness", "--imp-results", str(tmp_path),
                                "--storage", str(tmp_path))
    assert code == 2 and "no IMP tickets" in no_tickets


def test_the_papers_cifar_noise_is_offered_only_when_asked_for(tmp_path, capsys):
    """``paper_cifar`` is a valid --noise-types choice but not among the default types."""
    from sparsenet.data.noise import NOISE_TYPES
    assert "paper_cifar" not in NOISE_TYPES
    code, err = run_main("noise_robustness", "--controls", "--dataset", "synthetic:3,32,32,10",
                         "--noise-types", "paper_cifar", "--dry-run", "--storage", str(tmp_path))
    assert code == 0, err
    code, err = run_main("noise_robustness", "--controls", "--noise-types", "paper_cifr",
                         "--dry-run", "--storage", str(tmp_path))
    assert code == 2 and "paper_cifr" in err


@pytest.mark.ray
def test_noise_sweep_evaluates_tickets_and_controls(tmp_path):
    imp = make_imp_experiment(tmp_path / "imp")
    sweep = load_sweep("noise_robustness")
    levels = ["0", "0.2", "0.5"]
    code = sweep.main(["--imp-results", str(imp), "--controls", "--quick", "--seeds", "1",
                       "--epochs", "3", "--control-kinds", "dense", "weight_sparse",
                       "--levels", *levels, "--noise-types", "set_2sigma", "zero",
                       "--storage", str(tmp_path / "out"), "--name", "noise", "--num-cpus", "2"])
    assert code == 0
    noise = pd.read_csv(tmp_path / "out" / "noise" / "noise.csv")
    assert set(noise["network"]) == {"dense", "winning@0.70", "winning@0.80", "winning@0.967"}
    for _, group in noise.groupby("network"):
        assert len(group) == 2 * len(levels)  # every type x level row
    # Level 0 is the clean test set: the dense row matches the accuracy the ticket recorded.
    record = torch.load(imp / "trial_0" / "tickets" / "round_00.pt", weights_only=True)
    clean = noise[(noise["network"] == "dense") & (noise["level"] == 0)]["accuracy"]
    assert clean.tolist() == pytest.approx([record["test_acc"]] * 2)
    controls = pd.read_csv(tmp_path / "out" / "noise_controls" / "noise.csv")
    assert set(controls["network"]) == {"control:dense", "control:weight_sparse"}
    clean_controls = controls[controls["level"] == 0]["accuracy"]
    assert (clean_controls > 0.5).all()  # trained well above chance (0.1)
