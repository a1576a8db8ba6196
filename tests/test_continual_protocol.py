"""The reference protocols' options in a continual run and in the permuted-MNIST sweep:
task 0 unpermuted, the accuracy matrix on the validation split (what searches select on),
SI's options reaching the run, and the paper / Numenta presets per arm."""

import pytest
import torch

from sparsenet.continual.presets import get_preset
from sparsenet.experiments.continual import ContinualConfig, ContinualExperiment
from sweep_helpers import load_sweep


def tiny(**kwargs):
    base = dict(dataset="digits", num_tasks=2, hidden=(16, 16), epochs_per_task=1,
                batch_size=64, lr=2e-3)
    return ContinualExperiment(ContinualConfig(**{**base, **kwargs}), device="cpu")


def test_first_task_identity_leaves_task_zero_unpermuted():
    exp = tiny(first_task_identity=True)
    assert exp.tasks[0].permutation is None and exp.tasks[1].permutation is not None
    x = exp.tasks[0].train_x[:5]
    assert torch.equal(exp.model_transform(0)(x), exp.dataset.normalize(x))
    assert tiny().tasks[0].permutation is not None  # default: every task permuted
    with pytest.raises(ValueError, match="first_task_identity is for stream='permuted'"):
        ContinualConfig(stream="split", first_task_identity=True)


def test_eval_split_val_fills_the_matrix_from_validation_data():
    exp = tiny(eval_split="val", model="mlp", context="none")
    while not exp.done:
        row = exp.step()
    assert row["eval_split"] == "val"
    assert exp.matrix.row(1) == [exp.evaluate_task(i, "val")[0] for i in range(2)]
    with pytest.raises(ValueError, match="eval_split='val' needs val_fraction > 0"):
        ContinualConfig(eval_split="val", val_fraction=0.0)


def test_si_options_reach_the_run():
    exp = tiny(si=True, si_grad="total", si_start_task=2, si_clip=False)
    assert not any("segments" in n for n in exp.si.names)
    assert (exp.si.grad, exp.si.start_task, exp.si.clip) == ("total", 2, False)
    assert any("segments" in n for n in tiny(si=True, si_dendrites=True).si.names)


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
