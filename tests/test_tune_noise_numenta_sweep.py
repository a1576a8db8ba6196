"""sweeps/noise_robustness.py with Numenta's CNN-2 controls: the grid, bad input, a real run."""

import json

import pandas as pd
import pytest

from sparsenet.experiments.noise import NUMENTA_LEVELS

from sweep_helpers import load_sweep, run_main


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
