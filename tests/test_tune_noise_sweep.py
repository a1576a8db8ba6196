"""sweeps/noise_robustness.py: its input checks before Ray, the grid with Numenta's CNN-2
controls, and real runs on a local Ray cluster (tickets of an IMP run plus controls;
Numenta's controls)."""

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from sparsenet.experiments.imp import IMPConfig, IMPExperiment
from sparsenet.experiments.noise import NUMENTA_LEVELS
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


# --- Numenta's CNN-2 controls ----------------------------------------------------------

def control_configs(*argv):
    plan = load_sweep("noise_robustness").build(["--controls", *argv])
    (sweep, args), = plan
    return {(c.control.kind, c.control.seed): c for c in sweep.configs()}, args


def test_numenta_kinds_get_numentas_recipe_next_to_unchanged_mlp_controls():
    configs, args = control_configs("--control-kinds", "dense", "numenta_dense_cnn2",
                                    "numenta_sparse_cnn2", "--numenta-noise", "--seeds", "2")
    assert len(configs) == 6 and args.name == "noise_robustness_controls"
    sparse, dense = configs["numenta_sparse_cnn2", 1], configs["numenta_dense_cnn2", 0]
    mlp = configs["dense", 0].control
    assert (sparse.control.optimizer, sparse.control.lr, sparse.control.momentum,
            sparse.control.first_epoch_batch_size, sparse.control.epochs) == ("sgd", 0.02, 0.0, 4, 15)
    assert (dense.control.lr, dense.control.momentum, dense.control.lr_gamma,
            dense.control.batch_size, dense.control.val_fraction) == (0.01, 0.9, 0.8, 64, 0.0)
    assert (mlp.optimizer, mlp.lr, mlp.batch_size, mlp.epochs) == ("adam", 1.2e-3, 200, 35)
    assert sparse.levels == NUMENTA_LEVELS and sparse.noise_types == ("numenta",)
    assert sparse.control.dataset == "mnist"
    # --epochs and --quick set the Numenta kinds' budget too; explicit noise flags win
    configs, _ = control_configs("--control-kinds", "numenta_sparse_cnn2", "--quick",
                                 "--seeds", "1", "--numenta-noise", "--levels", "0", "0.5")
    (cfg,) = configs.values()
    assert cfg.control.epochs == 4 and cfg.levels == (0.0, 0.5) and cfg.noise_types == ("numenta",)
    assert cfg.control.dataset == "digits"
    # without --numenta-noise the paper's protocol stays the default
    configs, _ = control_configs("--control-kinds", "numenta_dense_cnn2", "--epochs", "3",
                                 "--seeds", "1")
    (cfg,) = configs.values()
    assert cfg.control.epochs == 3 and cfg.levels == (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
    assert "numenta" in cfg.noise_types and "set_2sigma" in cfg.noise_types


@pytest.mark.parametrize("argv, message", [
    (["--numenta-noise", "--levels", "0.2", "1.5"], "noise levels must be in [0, 1]"),
    (["--control-kinds", "numenta_sparse_cnn2", "numenta_sparse_cnn2"], "each kind once"),
    (["--control-kinds", "numenta_cnn3"], "invalid choice"),
])
def test_bad_numenta_input_is_one_line_and_exit_2(tmp_path, argv, message):
    code, err = run_main("noise_robustness", "--controls", "--quick", *argv,
                         "--storage", str(tmp_path))
    assert code == 2 and message in err
    if "invalid choice" not in message:  # argparse prints its usage line first
        assert len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())  # nothing started, nothing written


@pytest.mark.ray
def test_quick_sweep_runs_numentas_controls(tmp_path):
    code = load_sweep("noise_robustness").main([
        "--controls", "--quick", "--seeds", "1", "--epochs", "2", "--numenta-noise",
        "--levels", "0", "0.5", "--control-kinds", "numenta_dense_cnn2", "numenta_sparse_cnn2",
        "--storage", str(tmp_path), "--name", "noise", "--num-cpus", "2"])
    assert code == 0
    exp = tmp_path / "noise_controls"
    noise = pd.read_csv(exp / "noise.csv")
    assert set(noise["network"]) == {"control:numenta_dense_cnn2", "control:numenta_sparse_cnn2"}
    assert set(noise["noise"]) == {"numenta"} and sorted(set(noise["level"])) == [0, 0.5]
    assert (noise[noise["level"] == 0]["accuracy"] > 0.2).all()  # learned (chance 0.1)
    params = {p["control_kind"]: p for p in
              (json.loads(f.read_text()) for f in exp.glob("*/params.json"))}
    assert params["numenta_sparse_cnn2"]["control_lr"] == 0.02
    assert params["numenta_dense_cnn2"]["control_momentum"] == 0.9
    assert params["numenta_sparse_cnn2"]["control_epochs"] == 2
