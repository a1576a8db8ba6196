"""Sweep flags generated from config fields (sparsenet/tune/flags.py): a new field is a new
flag, every generated flag reaches the config, and the documented commands still parse to
the configs their flags state."""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass

import pytest

from sparsenet.experiments.common import Config, Range, option
from sparsenet.tune.flags import FIELD_DEFAULT, FieldFlag, add_field_flags, given_fields
from sweep_helpers import load_sweep


@dataclass
class ToyConfig(Config):
    """A config as an experiment declares one: each field's help beside its choices/range."""

    width: int = option(8, range=Range(low=1), help="units per layer")
    rate: float = option(0.5, range=Range(0, 1), help="fraction pruned")
    mode: str = option("a", choices=("a", "b"), help="which mode")
    sizes: tuple[int, ...] | None = option(None, help="layer sizes")
    fast: bool = option(False, help="take the fast path")


def parse(items, argv):
    parser = argparse.ArgumentParser(exit_on_error=False)
    specs = add_field_flags(parser, ToyConfig, items)
    return parser, specs, parser.parse_args(argv)


def test_a_new_field_is_a_new_flag_with_its_declared_help():
    """Adding an option is one field: its flag, type, choices and help come from it."""
    parser, specs, args = parse(["width", "rate", "mode", "sizes", "fast"],
                                ["--width", "3", "--sizes", "4", "5", "--mode", "b", "--fast"])
    assert given_fields(args, specs) == {"width": 3, "sizes": [4, 5], "mode": "b", "fast": True}
    text = parser.format_help()
    for phrase in ("units per layer (>= 1)", "fraction pruned (in [0, 1])", "{a,b}",
                   "--fast, --no-fast", "layer sizes"):
        assert phrase in " ".join(text.split()), phrase
    with pytest.raises(argparse.ArgumentError, match="invalid choice"):
        parser.parse_args(["--mode", "c"])


def test_flags_left_out_are_not_given_and_falsy_values_are():
    """A value the user gave always applies, 0 and --no-x included (catches a mutation of
    ``given_fields`` that skips falsy values: ``--val-fraction 0`` or ``--no-alias-biases``
    over a preset that sets them would silently not apply)."""
    _, specs, args = parse(["width", "rate", "fast", "sizes"], [])
    assert given_fields(args, specs) == {}
    _, specs, args = parse(["rate", "fast"], ["--rate", "0", "--no-fast"])
    assert given_fields(args, specs) == {"rate": 0.0, "fast": False}


def test_renamed_defaulted_and_config_checked_flags():
    parser, specs, args = parse(
        [FieldFlag("width", flag="--units", default=FIELD_DEFAULT),
         FieldFlag("mode", config_checks=True, default="a"),
         FieldFlag("fast", store_true=True)], ["--mode", "z"])
    assert (args.units, args.mode, args.fast) == (8, "z", False)  # the config rejects "z"
    assert given_fields(args, specs) == {"width": 8, "mode": "z"}
    assert "--no-fast" not in parser.format_help()
    with pytest.raises(KeyError, match="no field 'depth'"):
        parse(["depth"], [])


# (sweep, argv, arm, field, value): each generated flag of each sweep, set to a value that
# differs from what the sweep would choose itself, must reach every config of that arm.
EVERY_FLAG = [
    ("imp_sparsity", "--rounds 3", "lenet300_100", "rounds", 3),
    ("imp_sparsity", "--prune-rate-conv 0.3 --arch mnist_conv", "mnist_conv", "rate_conv", 0.3),
    ("imp_sparsity", "--scope global", "lenet300_100", "scope", "global"),
    ("imp_sparsity", "--rewind-iter 7", "lenet300_100", "rewind_iter", 7),
    ("imp_sparsity", "--rewind-scope prunable", "lenet300_100", "rewind_scope", "prunable"),
    ("imp_sparsity", "--preset bain2022_code --no-alias-biases", "lenet300_100",
     "alias_biases", False),
    ("imp_sparsity", "--alias-biases", "lenet300_100", "alias_biases", True),
    ("imp_sparsity", "--save-network best_val", "lenet300_100", "save_network", "best_val"),
    ("imp_sparsity", "--eval-before-epoch", "lenet300_100", "eval_before_epoch", True),
    ("imp_sparsity", "--val-fraction 0", "lenet300_100", "val_fraction", 0.0),
    ("dendrites_pmnist", "--context prototype", "active_dendrites_mlp", "context",
     "prototype"),
    ("dendrites_pmnist", "--context prototype --context-infer nearest",
     "active_dendrites_mlp", "context_infer", "nearest"),
    ("dendrites_pmnist", "--context-density 0.2", "active_dendrites_mlp",
     "context_density", 0.2),
    ("dendrites_pmnist", "--context-input", "mlp", "context_input", True),
    ("dendrites_pmnist", "--si on --si-dendrites", "active_dendrites_mlp", "si_dendrites", True),
    ("dendrites_pmnist", "--first-task-identity", "mlp", "first_task_identity", True),
    ("dendrites_pmnist", "--preset paper --val-fraction 0.2", "mlp", "val_fraction", 0.2),
    ("dendrites_pmnist", "--reset-optimizer", "mlp", "reset_optimizer", True),
    ("dendrites_pmnist", "--preset numenta --no-reset-optimizer", "mlp", "reset_optimizer",
     False),
    ("dendrites_pmnist", "--hidden 64 32", "mlp", "hidden", [64, 32]),
    ("dendrites_pmnist", "--segments 4", "active_dendrites_mlp", "num_segments", 4),
    ("dendrites_pmnist", "--lr 0.01", "mlp", "lr", 0.01),
    ("dendrites_pmnist", "--batch-size 16", "mlp", "batch_size", 16),
    ("dendrites_split_cifar", "--tasks 5", "cnn", "num_tasks", 5),
    ("dendrites_split_cifar", "--patience 4", "cnn", "patience", 4),
    ("dendrites_split_cifar", "--max-epochs 9", "cnn", "max_epochs", 9),
    ("dendrites_split_cifar", "--label-remap paper", "cnn", "label_remap", "paper"),
    ("dendrites_split_cifar", "--fc-init paper", "sparse_cnn", "fc_init", "paper"),
    ("dendrites_split_cifar", "--mask-layout layer", "sparse_cnn", "mask_layout", "layer"),
    ("noise_robustness", "--controls --pruned 0.5", "dense", "pruned_fractions", [0.5]),
    ("noise_robustness", "--controls --levels 0 0.25", "dense", "levels", [0.0, 0.25]),
    ("noise_robustness", "--controls --noise-types zero", "dense", "noise_types", ["zero"]),
    ("noise_robustness", "--controls --control-weight-sparsity 0.5", "dense",
     "control_weight_sparsity", 0.5),
    ("noise_robustness", "--controls --control-kw 0.2", "dense", "control_kw_fraction", 0.2),
    ("noise_robustness", "--controls --control-hidden 20 10", "dense", "control_hidden",
     [20, 10]),
]


def points(sweep: str, command: str) -> list[dict]:
    plan = load_sweep(sweep).build(shlex.split(command))
    return [point for s, _ in plan for point in s.points()]


def arm(point: dict) -> str:
    return point.get("model") or point.get("control_kind") or point.get("arch")


@pytest.mark.parametrize("sweep, command, arm_name, field, value", EVERY_FLAG,
                         ids=[f"{r[0]}:{r[1]}" for r in EVERY_FLAG])
def test_every_generated_flag_reaches_the_config(sweep, command, arm_name, field, value):
    """Catches a generated flag dropped from a sweep's build (its value never copied into
    the configs) and a flag whose value a preset overrides."""
    mine = [p for p in points(sweep, command) if arm(p) == arm_name]
    assert mine
    for point in mine:
        assert point[field] == value, (field, point[field])


def test_every_sweep_field_flag_is_in_the_table_above():
    """A flag added to a sweep's FIELD_FLAGS gets a row in EVERY_FLAG (so it is checked)."""
    named = {(sweep, token) for sweep, command, *_ in EVERY_FLAG
             for token in command.split() if token.startswith("--")}
    for sweep, lists in {"imp_sparsity": ("FIELD_FLAGS", "PROTOCOL_FLAGS"),
                         "dendrites_pmnist": ("CONTEXT_FLAGS", "FIELD_FLAGS"),
                         "dendrites_split_cifar": ("FIELD_FLAGS",),
                         "noise_robustness": ("NOISE_FLAGS", "CONTROL_FLAGS")}.items():
        module = load_sweep(sweep)
        for name in lists:
            for item in getattr(module, name):
                spec = item if isinstance(item, FieldFlag) else FieldFlag(item)
                assert (sweep, spec.name) in named, f"{sweep} {spec.name} is not tested"


def test_readme_commands_build_the_configs_their_flags_state():
    """Commands from the README: the base config equals one built directly from the preset
    with the same values (a config built from the same flags)."""
    from sparsenet.experiments.imp import IMPConfig

    plan = load_sweep("imp_sparsity").build(shlex.split(
        "--dataset fashion_mnist --seeds 3 --prune-rate 0.2 --rounds 16 --epochs 5 "
        "--name imp_fashion"))
    (sweep, args), = plan
    assert sweep.base == IMPConfig.from_preset(
        "bain2022", dataset="fashion_mnist", arch="lenet300_100", ticket="winning",
        rate_hidden=0.2, rate_output=0.2, rounds=16, epochs_per_round=5)
    assert (sweep.axes["seed"], args.name) == ([0, 1, 2], "imp_fashion")

    (sweep, _), = load_sweep("imp_sparsity").build(shlex.split(
        "--dataset mnist --data-dir ~/data --preset bain2022_code --seeds 3 --rounds 28 "
        "--name imp_mnist_code"))
    assert sweep.base == IMPConfig.from_preset("bain2022_code", dataset="mnist",
                                               arch="lenet300_100", ticket="winning",
                                               rounds=28)

    from sparsenet.experiments.continual import ContinualConfig

    (sweep, _), = load_sweep("dendrites_pmnist").build(shlex.split(
        "--dataset fashion_mnist --seeds 3 --hidden 512 512 --models active_dendrites_mlp "
        "--si on --name pmnist_fashion_w512_si"))
    (point,) = [p for p in sweep.points() if p["seed"] == 0]
    assert ContinualConfig.from_flat(point) == ContinualConfig(
        dataset="fashion_mnist", model="active_dendrites_mlp", si=True, hidden=(512, 512),
        arm="active_dendrites_mlp_si")

    (sweep, args), (baselines, named) = load_sweep("dendrites_split_cifar").build(shlex.split(
        "--dataset folder:PATH/cifar10-jpeg --tasks 5 --seeds 3 --max-epochs 2 --patience 0 "
        "--task-id-baselines --name split_cifar10_jpeg"))
    assert (named.name, baselines.axes["model"]) == ("split_cifar10_jpeg_task_id",
                                                     ["cnn", "sparse_cnn"])
    cnn = [p for p in sweep.points() if p["model"] == "cnn" and p["seed"] == 2]
    assert ContinualConfig.from_flat(cnn[0]) == ContinualConfig(
        dataset="folder:PATH/cifar10-jpeg", stream="split", num_tasks=5, model="cnn",
        context="none", augment=True, patience=0, max_epochs=2, epochs_per_task=2, seed=2,
        batch_size=64, lr=1e-3, weight_decay=1e-5)
