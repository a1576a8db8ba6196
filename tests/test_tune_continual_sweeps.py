"""The continual-learning sweeps (sweeps/dendrites_pmnist.py, sweeps/dendrites_split_cifar.py):
their input checks before Ray, the paper / Numenta presets per arm of the permuted sweep, the
split-CIFAR sweep's reference flags per model, and both end to end on a real local Ray
cluster."""

import pandas as pd
import pytest

from sparsenet.continual.presets import get_preset
from sweep_helpers import load_sweep, run_main


@pytest.mark.parametrize("name, args, message", [
    ("dendrites_pmnist", ["--models", "resnet"], "invalid choice"),
    ("dendrites_pmnist", ["--tasks", "0"], "num_tasks must be >= 1"),
    ("dendrites_pmnist", ["--dataset", "nope"], "unknown dataset"),
    ("dendrites_split_cifar", ["--tasks", "3"], "do not split evenly into 3 tasks"),
    ("dendrites_split_cifar", ["--dataset", "cifar100", "--data-dir", "/nonexistent"],
     "offline alternatives"),
])
def test_bad_input_fails_with_one_line_before_ray(tmp_path, name, args, message):
    code, err = run_main(name, "--quick", "--storage", str(tmp_path), *args)
    assert code == 2
    assert message in err
    assert not any(tmp_path.iterdir())


@pytest.mark.ray
def test_pmnist_quick_sweep_fills_the_accuracy_matrix(tmp_path):
    code, _ = run_main("dendrites_pmnist", "--quick", "--tasks", "2", "--storage", str(tmp_path),
                       "--name", "pm", "--num-cpus", "2")
    assert code == 0
    matrix = pd.read_csv(tmp_path / "pm" / "continual.csv")
    assert set(matrix["model"]) == {"mlp", "active_dendrites_mlp"}
    assert set(matrix[matrix["model"] == "active_dendrites_mlp"]["context"]) == {"onehot"}
    assert set(matrix[matrix["model"] == "mlp"]["context"]) == {"none"}
    for _, trial in matrix.groupby("trial_id"):  # R[t, i] for i <= t: 1 + 2 rows
        assert sorted(zip(trial["task_trained"], trial["task_evaluated"])) == [(0, 0), (1, 0), (1, 1)]
    assert matrix["accuracy"].max() > 0.5


@pytest.mark.ray
def test_split_cifar_quick_sweep_runs_all_variants_and_task_id_baselines(tmp_path):
    code, _ = run_main("dendrites_split_cifar", "--quick", "--epochs", "1", "--task-id-baselines",
                       "--dataset", "synthetic:3,32,32,4,160,80", "--no-augment",
                       "--storage", str(tmp_path), "--name", "sc", "--num-cpus", "2")
    assert code == 0
    main = pd.read_csv(tmp_path / "sc" / "continual.csv")
    assert set(main["model"]) == {"cnn", "sparse_cnn", "active_dendrites_cnn"}
    # each model ran with the settings the paper chose for it
    batch = main.groupby("model")["batch_size"].first().to_dict()
    assert batch == {"cnn": 64, "sparse_cnn": 32, "active_dendrites_cnn": 128}
    baselines = pd.read_csv(tmp_path / "sc_task_id" / "continual.csv")
    assert set(baselines["model"]) == {"cnn", "sparse_cnn"}
    assert set(baselines["context"]) == {"onehot"} and baselines["context_input"].all()


# --- dendrites_pmnist: the presets per arm ---------------------------------------------

def points(*args):
    (sweep, _), = load_sweep("dendrites_pmnist").build(["--quick", *args])
    sweep.configs()  # every grid point is a valid config
    return {(p["model"], p["si"]): p for p in sweep.points()}


def test_numenta_preset_gives_each_arm_its_reference_values():
    grid = points("--preset", "numenta", "--tasks", "10", "--si", "both",
                  "--models", "active_dendrites_mlp", "mlp")
    adn, adn_si = grid[("active_dendrites_mlp", False)], grid[("active_dendrites_mlp", True)]
    mlp = grid[("mlp", False)]
    assert (adn["lr"], adn["epochs_per_task"], adn["reset_optimizer"]) == (5e-4, 3, True)
    assert (adn["context"], adn["context_infer"], adn["context_density"]) == (
        "prototype", "nearest", 0.1)
    assert adn["num_segments"] == 10 and adn["first_task_identity"] and adn["val_fraction"] == 0
    assert (mlp["lr"], mlp["epochs_per_task"], mlp["hidden_input_density"]) == (3e-6, 5, 0.5)
    assert (mlp["context"], mlp["context_infer"], mlp["num_segments"]) == ("none", "oracle", None)
    assert (adn_si["epochs_per_task"], adn_si["reset_optimizer"], adn_si["hidden"]) == (
        20, False, [2000, 2000])
    assert (adn_si["si_grad"], adn_si["si_start_task"], adn_si["si_dendrites"]) == (
        "total", 2, False)
    assert {p["hp_source"] for p in grid.values()} == {"preset:numenta"}


def test_paper_preset_and_explicit_flags():
    grid = points("--preset", "paper", "--tasks", "10", "--models", "active_dendrites_mlp",
                  "mlp", "--epochs", "2")
    adn, mlp = grid[("active_dendrites_mlp", False)], grid[("mlp", False)]
    assert (adn["context"], adn["context_density"], adn["reset_optimizer"]) == (
        "onehot", 0.05, False)
    assert adn["lr"] == mlp["lr"] == 5e-4
    assert adn["epochs_per_task"] == mlp["epochs_per_task"] == 2  # the flag wins
    assert adn["hp_source"] == "cli"


def test_a_preset_without_values_for_a_task_count_says_so():
    with pytest.raises(ValueError, match="no mlp values for 25 tasks; known: 10, 100"):
        get_preset("numenta").overrides("mlp", False, 25)


# --- dendrites_split_cifar: the reference flags per model ------------------------------

SPLIT_CIFAR_SYNTH = ["--quick", "--dataset", "synthetic:3,32,32,4,160,80"]


def configs(*argv):
    sweep = load_sweep("dendrites_split_cifar")
    return [c for s, _ in sweep.build([*SPLIT_CIFAR_SYNTH, *argv]) for c in s.configs()]


def test_defaults_reach_the_sparse_models_only():
    cfgs = configs("--task-id-baselines")
    assert len(cfgs) == 5
    for c in cfgs:
        assert c.label_remap == "correct"
        if c.model == "cnn":
            assert c.fc_init is None and c.mask_layout is None
        else:
            assert (c.fc_init, c.mask_layout) == ("density", "fan_in")


def test_paper_flags_reach_every_config():
    cfgs = configs("--label-remap", "paper", "--fc-init", "paper", "--mask-layout", "layer",
                   "--task-id-baselines")
    assert {c.label_remap for c in cfgs} == {"paper"}
    sparse = [c for c in cfgs if c.model != "cnn"]
    assert len(sparse) == 3 and {(c.fc_init, c.mask_layout) for c in sparse} == {("paper", "layer")}


@pytest.mark.parametrize("args, message", [
    (["--label-remap", "buggy"], "unknown label_remap 'buggy'"),
    (["--fc-init", "xavier"], "unknown fc_init 'xavier'"),
    (["--mask-layout", "rows"], "unknown mask_layout 'rows'"),
])
def test_bad_values_fail_with_one_line_before_ray(tmp_path, args, message):
    code, err = run_main("dendrites_split_cifar", *SPLIT_CIFAR_SYNTH, "--storage", str(tmp_path), *args)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0]
    assert not any(tmp_path.iterdir())


def test_ray_resolves_the_derived_values_as_the_sweep_does():
    """What Tune's variant generator makes of the param space is what Sweep.configs() says,
    and it resolves the derived values without falling back to the deprecated spec call."""
    import logging

    from ray.tune.search.variant_generator import generate_variants

    from sparsenet.tune.launch import _param_space

    sweep = load_sweep("dendrites_split_cifar")
    plans = [plan for plan, _ in sweep.build([*SPLIT_CIFAR_SYNTH, "--task-id-baselines", "--fc-init",
                                              "paper"])]
    expected = sorted((c.model, c.context, c.fc_init) for p in plans for c in p.configs())
    warnings: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warnings.append(record.getMessage())
    ray_sampling = logging.getLogger("ray.tune.search.sample")  # Ray's loggers do not propagate
    ray_sampling.addHandler(handler)
    try:
        resolved = [cfg for p in plans for _, cfg in generate_variants(_param_space(p, None))]
    finally:
        ray_sampling.removeHandler(handler)
    assert sorted((r["model"], r["context"], r["fc_init"]) for r in resolved) == expected
    assert not [w for w in warnings if "deprecated" in w]
