"""Dendritic CNNs on split CIFAR-100 (claim 4), as a Ray Tune grid.

Defaults are the paper's: 100 classes shuffled by seed into 10 tasks of 10 (labels 0-9, one
shared head), CNN vs sparse CNN vs active-dendrites CNN with the hyper-parameters its grid
search chose, train augmentation, early stopping (patience 30, at most 1000 epochs per
task; selected on a validation split, where the paper used the test set), seeds 0-4.

    python sweeps/dendrites_split_cifar.py --quick                  # synthetic 3x32x32, ~1 min
    python sweeps/dendrites_split_cifar.py --dataset folder:/data/cifar10-jpeg --tasks 5
    python sweeps/dendrites_split_cifar.py --grid --models active_dendrites_cnn

Reference options (docs/fidelity.md, issue 15): ``--label-remap paper`` labels the tasks as
the paper's split-CIFAR-100 code does (its in-place relabelling: some tasks then have fewer
than 10 distinct labels); ``--fc-init {density,dense,paper}`` and ``--mask-layout
{fan_in,layer}`` set the sparse CNNs' FC weights (defaults: density-rescaled init, the same
fan-in for every unit).

``--grid`` runs the paper's searches instead (seed 42): lr {1e-5, 1e-4, 1e-3} x batch
{32, 64, 128}, and weight decay {0, 1e-5, 1e-4} for the CNN or conv k-winners {0.1, 0.2,
0.3} x FC k-winners {0.1, 0.3} x FC weight sparsity {0.3, 0.5, 0.7} for the others; each
model's search is its own experiment folder, NAME_grid_<model>.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

from analysis.headline import finish_sweep
from sparsenet.continual.presets import SPLIT_CIFAR
from sparsenet.experiments.continual import ContinualConfig
from sparsenet.models.registry import model_names
from sparsenet.tune.cli import Plan, Sweep, SweepError, add_common_args, fill_defaults
from sparsenet.tune.flags import FieldFlag, add_field_flags
from sparsenet.tune.plan import sweep_main

CNN_MODELS = model_names(family="cnn", continual=True)  # cnn, sparse_cnn, active_dendrites_cnn
DENDRITIC_MODELS = model_names(takes_context=True)
FULL = dict(dataset="cifar100", seeds=5, tasks=SPLIT_CIFAR.num_tasks,
            patience=SPLIT_CIFAR.patience, max_epochs=SPLIT_CIFAR.max_epochs)
QUICK = dict(dataset="synthetic:3,32,32,10,600,200", seeds=1, tasks=2, patience=2, max_epochs=4)
# Config fields exposed as flags (generated from ContinualConfig's declarations).
FIELD_FLAGS = (
    FieldFlag("num_tasks", flag="--tasks", note=f"default {SPLIT_CIFAR.num_tasks}"),
    FieldFlag("patience", note=f"default {SPLIT_CIFAR.patience}"),
    FieldFlag("max_epochs", note=f"default {SPLIT_CIFAR.max_epochs}"),
    FieldFlag("label_remap", default="correct", config_checks=True),
    FieldFlag("fc_init", default="density", config_checks=True),
    FieldFlag("mask_layout", default="fan_in", config_checks=True),
)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, default_name="dendrites_split_cifar")
    parser.add_argument("--models", nargs="+", default=list(CNN_MODELS), choices=CNN_MODELS)
    parser.add_argument("--task-id-baselines", action="store_true",
                        help="also give the CNN and sparse CNN the one-hot task id as an "
                             "input, so the table compares like with like")
    parser.add_argument("--no-augment", action="store_true", help="turn train augmentation off")
    parser.add_argument("--grid", action="store_true", help="the paper's searches, seed 42")
    add_field_flags(parser, ContinualConfig, FIELD_FLAGS)
    args = parser.parse_args(argv)
    fill_defaults(args, FULL, QUICK)
    if args.epochs is not None:  # a fixed budget per task instead of early stopping
        args.patience, args.max_epochs = 0, args.epochs
    return args


SETTING_KEYS = ("batch_size", "lr", "weight_decay", "conv_kw", "fc_kw", "weight_sparsity",
                "num_segments")


def chosen_setting(model: str, key: str) -> Any:
    """The paper's chosen value of ``key`` for ``model``; the config's default otherwise."""
    default = {f: getattr(ContinualConfig, f) for f in SETTING_KEYS}
    return SPLIT_CIFAR.chosen[model].get(key, default[key])


def context_of(model: str, task_id: bool) -> str:
    return "onehot" if model in DENDRITIC_MODELS or task_id else "none"


def sparse_fc_option(args: argparse.Namespace, model: str, key: str) -> str | None:
    """``fc_init`` / ``mask_layout`` for the sparse models; None for the dense CNN."""
    return None if model == "cnn" else getattr(args, key)


def base_config(args: argparse.Namespace, model: str, task_id: bool, **overrides: Any
                ) -> ContinualConfig:
    fields: dict[str, Any] = dict(
        dataset=args.dataset, stream="split", num_tasks=args.tasks, model=model,
        context=context_of(model, task_id), context_input=task_id,
        augment=not args.no_augment, patience=args.patience, max_epochs=args.max_epochs,
        epochs_per_task=args.epochs or args.max_epochs, seed=0, label_remap=args.label_remap,
        fc_init=sparse_fc_option(args, model, "fc_init"),
        mask_layout=sparse_fc_option(args, model, "mask_layout"),
        **{k: chosen_setting(model, k) for k in SETTING_KEYS})
    fields.update(overrides)
    try:
        return ContinualConfig(**fields)
    except ValueError as err:
        raise SweepError(f"{model}: {err}") from err


def final_sweep(args: argparse.Namespace, models: Sequence[str], task_id: bool) -> Sweep:
    """Models x seeds, each model with the settings the paper chose for it."""
    derived = {key: (lambda flat, key=key: chosen_setting(flat["model"], key))
               for key in SETTING_KEYS}
    derived["context"] = lambda flat: context_of(flat["model"], task_id)
    for key in ("fc_init", "mask_layout"):
        derived[key] = lambda flat, key=key: sparse_fc_option(args, flat["model"], key)
    for model in models:  # every model's options checked before Ray starts
        base_config(args, model, task_id)
    return Sweep(base=base_config(args, models[0], task_id),
                 axes={"model": list(models), "seed": list(range(args.seeds))},
                 derived=derived)


def grid_sweep(args: argparse.Namespace, model: str) -> Sweep:
    """The paper's search for one model: one seed (42), every combination."""
    return Sweep(base=base_config(args, model, False, seed=42),
                 axes={key: list(values) for key, values in SPLIT_CIFAR.grids[model].items()})


def planned_sweeps(args: argparse.Namespace) -> Plan:
    def named(suffix: str) -> argparse.Namespace:
        return argparse.Namespace(**{**vars(args), "name": f"{args.name}{suffix}"})

    if args.grid:
        return [(grid_sweep(args, m), named(f"_grid_{m}")) for m in args.models]
    plan = [(final_sweep(args, args.models, False), args)]
    baselines = [m for m in args.models if m not in DENDRITIC_MODELS]
    if args.task_id_baselines and baselines:
        plan.append((final_sweep(args, baselines, True), named("_task_id")))
    return plan


def build(argv: Sequence[str] | None) -> Plan:
    return planned_sweeps(parse(argv))


def main(argv: Sequence[str] | None = None) -> int:
    return sweep_main(build, argv, after=finish_sweep)


if __name__ == "__main__":
    sys.exit(main())
