"""Active dendrites vs catastrophic forgetting on permuted MNIST (claim 3), as a Tune grid.

Defaults are the paper's: 10 tasks, ADN (784-2048-2048-10, k-winners 5%, weight sparsity
0.5, 10 segments, one-hot task context) vs a plain MLP of the same width, Adam lr 5e-4,
batch 256, 3 epochs per task, 5 seeds (the numbers live in sparsenet/continual/presets.py:
``PAPER_PMNIST``, the networks ``PMNIST_NETWORKS``). Any 28x28 dataset can be permuted.

``--preset paper|numenta`` takes a reference code's whole protocol (context, segment init,
task 0 unpermuted, all 60k training images, and per arm its learning rate and epochs; see
sparsenet/continual/presets.py). ``--tune`` gives every arm its own learning rate and
epochs per task: a Ray Tune search on the validation split, then final runs on the test
split with other seeds (sparsenet/tune/search.py).

    python sweeps/dendrites_pmnist.py --quick                            # offline, ~1 min
    python sweeps/dendrites_pmnist.py --dataset fashion_mnist --seeds 3
    python sweeps/dendrites_pmnist.py --preset numenta --models active_dendrites_mlp mlp
    python sweeps/dendrites_pmnist.py --preset paper --tune --models active_dendrites_mlp mlp
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

from analysis.headline import finish_sweep
from analysis.tidy import write_tidy
from sparsenet.continual.presets import PAPER_PMNIST, PMNIST_NETWORKS, PRESETS, get_preset
from sparsenet.experiments.continual import ContinualConfig
from sparsenet.models.registry import model_names
from sparsenet.tune.cli import Plan, Sweep, SweepError, add_common_args, fill_defaults
from sparsenet.tune.flags import FieldFlag, add_field_flags
from sparsenet.tune.plan import sweep_main
from sparsenet.tune.search import (DEFAULT_EPOCHS, DEFAULT_LRS, Arm, SearchGrid,
                                   SearchSettings, tuned_main)

MLP_MODELS = model_names(family="mlp", continual=True)  # mlp, sparse, dendrites, ADN
DENDRITIC_MODELS = model_names(takes_context=True)
FULL = dict(dataset="mnist", seeds=5, tasks=[PAPER_PMNIST.num_tasks],
            batch_size=PAPER_PMNIST.batch_size)
# digits has 1.2k training images: smaller batches and a larger step make 3 epochs count.
QUICK = dict(dataset="digits", seeds=1, tasks=[3], hidden=[256, 256], batch_size=32)
FULL_HP = dict(lr=PAPER_PMNIST.adn.lr, epochs=PAPER_PMNIST.adn.epochs_per_task)
QUICK_HP = dict(lr=2e-3, epochs=3)
SI_AXIS = {"off": [False], "on": [True], "both": [False, True]}
# Config fields a grid point's arm (model, SI, number of tasks) may set.
ARM_KEYS = ("context", "context_infer", "context_input", "num_segments", "context_density",
            "lr", "epochs_per_task", "reset_optimizer", "batch_size", "hidden",
            "hidden_input_density",
            "first_task_identity", "val_fraction", "si_c", "si_xi", "si_grad",
            "si_start_task", "si_dendrites", "hp_source", "arm")


_ADN = PMNIST_NETWORKS.model_defaults("active_dendrites_mlp")


# Config fields exposed as flags (generated from ContinualConfig's declarations); a flag
# left out keeps the preset's (or these defaults') value per arm.
CONTEXT_FLAGS = (
    FieldFlag("context", choices=("onehot", "prototype"), note="default onehot"),
    FieldFlag("context_infer"),
    FieldFlag("context_density", note="presets: their reference's"),
    FieldFlag("context_input", store_true=True),
)
FIELD_FLAGS = (
    FieldFlag("si_dendrites"),
    FieldFlag("first_task_identity", note="presets: on"),
    FieldFlag("val_fraction", note="presets: 0, train on all; otherwise 0.1"),
    FieldFlag("reset_optimizer", note="numenta preset: on"),
    FieldFlag("hidden", note=f"default {' '.join(map(str, _ADN['hidden']))}; --quick "
                             f"{' '.join(map(str, QUICK['hidden']))}"),
    FieldFlag("num_segments", flag="--segments", note=f"default {_ADN['num_segments']}"),
    FieldFlag("lr", note=f"every arm; default {PAPER_PMNIST.adn.lr:g}, a preset's per-arm "
                         "values"),
    FieldFlag("batch_size", note=f"default {PAPER_PMNIST.batch_size}"),
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, default_name="dendrites_pmnist")
    parser.add_argument("--tasks", type=int, nargs="+", default=None,
                        help="numbers of permuted tasks (grid axis; default 10)")
    parser.add_argument("--models", nargs="+", default=["active_dendrites_mlp", "mlp"],
                        choices=MLP_MODELS, help="networks (grid axis)")
    parser.add_argument("--preset", choices=tuple(PRESETS), default=None,
                        help="a reference protocol: paper (one-hot, 3 epochs, Adam 5e-4) or "
                             "numenta (nearest prototype, their epochs / lr per arm)")
    add_field_flags(parser, ContinualConfig, CONTEXT_FLAGS)
    parser.add_argument("--si", choices=tuple(SI_AXIS), default="off",
                        help="synaptic intelligence (c=0.1, damping 0.1): off, on, or both")
    add_field_flags(parser, ContinualConfig, FIELD_FLAGS)
    tune = parser.add_argument_group("fair baselines (--tune)")
    tune.add_argument("--tune", action="store_true",
                      help="search lr x epochs per arm on the validation split, then run "
                           "the final seeds with each arm's chosen values")
    tune.add_argument("--tune-lr", type=float, nargs="+", default=None,
                      help=f"learning rates searched (default {' '.join(map(str, DEFAULT_LRS))})")
    tune.add_argument("--tune-epochs", type=int, nargs="+", default=None,
                      help=f"epochs per task searched (default "
                           f"{' '.join(map(str, DEFAULT_EPOCHS))})")
    tune.add_argument("--tune-tasks", type=int, default=None,
                      help="tasks of the search runs (a cheaper proxy; default: --tasks)")
    tune.add_argument("--tune-seed", type=int, default=1000,
                      help="seed of the search runs (must not be a final seed; default 1000)")
    tune.add_argument("--tune-scheduler", choices=("asha", "grid"), default="asha",
                      help="asha stops poor grid points after each task; grid runs all")
    tune.add_argument("--tune-grace-tasks", type=int, default=3,
                      help="tasks every grid point trains before ASHA compares (default 3)")
    tune.add_argument("--tune-search-only", action="store_true",
                      help="stop after the search (choices in chosen.json); the same command "
                           "without this flag, with --resume, then runs the final seeds")
    tune.add_argument("--tune-val-fraction", type=float, default=0.1,
                      help="validation split of the search runs (default 0.1)")
    return parser


def _arm_values(args: argparse.Namespace, model: str, si: bool, num_tasks: int,
                user: dict[str, Any]) -> dict[str, Any]:
    """Every ARM_KEYS value of one grid point: preset, then the user's explicit flags."""
    dendritic = model in DENDRITIC_MODELS
    uses_context = dendritic or args.context_input
    out: dict[str, Any] = {
        "context": args.context if uses_context else "none",
        "context_input": bool(args.context_input and not dendritic),
        "context_density": None, "lr": args.lr, "epochs_per_task": args.epochs,
        "reset_optimizer": False, "batch_size": args.batch_size,
        "hidden": list(args.hidden) if args.hidden else None, "hidden_input_density": None,
        "first_task_identity": False, "val_fraction": 0.1, "si_c": 0.1, "si_xi": 0.1,
        "si_grad": "task", "si_start_task": 1, "si_dendrites": False,
        "hp_source": "", "arm": model + ("_si" if si else ""),
    }
    if args.preset:
        preset = get_preset(args.preset)
        out.update(preset.overrides(model, si, num_tasks, need_hp=not args.tune))
        if isinstance(out.get("hidden"), tuple):
            out["hidden"] = list(out["hidden"])
    if dendritic and user["context_density"] is not None:
        out["context_density"] = user["context_density"]
    for key in ("lr", "batch_size", "hidden", "first_task_identity", "val_fraction",
                "reset_optimizer", "si_dendrites"):
        if user[key] is not None:
            out[key] = user[key]
    if user["epochs"] is not None:
        out["epochs_per_task"] = user["epochs"]
    if user["lr"] is not None or user["epochs"] is not None:
        out["hp_source"] = "cli"
    out["context_infer"] = args.context_infer if out["context"] == "prototype" else "oracle"
    segments = args.segments
    if segments is None and args.preset and get_preset(args.preset).segments_per_task:
        segments = num_tasks
    out["num_segments"] = segments if dendritic else None
    return out


def _parse(argv: Sequence[str] | None) -> tuple[argparse.Namespace, dict[str, Any]]:
    args = _parser().parse_args(argv)
    user = {key: getattr(args, key) for key in (
        "lr", "epochs", "batch_size", "hidden", "first_task_identity", "val_fraction",
        "reset_optimizer", "si_dendrites", "context_density")}
    if user["hidden"]:
        user["hidden"] = list(user["hidden"])
    preset = get_preset(args.preset) if args.preset else None
    args.context = args.context or (preset.context if preset else "onehot")
    args.context_infer = args.context_infer or (preset.context_infer if preset else "oracle")
    fill_defaults(args, FULL, QUICK)
    fill_defaults(args, FULL_HP, QUICK_HP)
    return args, user


def _base_and_points(args: argparse.Namespace, user: dict[str, Any]):
    """The base config and, per (model, si, num_tasks), its arm values (all validated)."""
    points = {}
    for model in args.models:
        for si in SI_AXIS[args.si]:
            for tasks in args.tasks:
                try:
                    points[(model, si, tasks)] = _arm_values(args, model, si, tasks, user)
                except ValueError as err:
                    raise SweepError(str(err)) from err
    first = points[(args.models[0], SI_AXIS[args.si][0], args.tasks[0])]
    try:
        base = ContinualConfig(
            dataset=args.dataset, stream="permuted", num_tasks=args.tasks[0],
            model=args.models[0], si=SI_AXIS[args.si][0], **first)
    except ValueError as err:
        raise SweepError(str(err)) from err
    return base, points


def build(argv: Sequence[str] | None) -> Plan:
    args, user = _parse(argv)
    if args.tune_search_only:
        raise SweepError("--tune-search-only goes with --tune")
    base, points = _base_and_points(args, user)

    def value_of(key: str):
        return lambda flat: points[(flat["model"], flat["si"], flat["num_tasks"])][key]

    axes = {"model": list(args.models), "num_tasks": list(args.tasks),
            "si": SI_AXIS[args.si], "seed": list(range(args.seeds))}
    derived = {key: value_of(key) for key in ARM_KEYS}
    return [(Sweep(base=base, axes=axes, derived=derived), args)]


def build_tuned(argv: Sequence[str] | None):
    """``--tune``: one arm per (model, si) at the first --tasks value, and the search."""
    args, user = _parse(argv)
    if len(args.tasks) != 1:
        raise SweepError("--tune takes one --tasks value (the final runs' number of tasks)")
    if user["lr"] is not None or user["epochs"] is not None:
        raise SweepError("--tune chooses lr and epochs per arm: drop --lr / --epochs, "
                         "set --tune-lr / --tune-epochs instead")
    _, points = _base_and_points(args, user)
    arms = []
    for (model, si, tasks), values in points.items():
        flat = {**ContinualConfig().to_flat(), "dataset": args.dataset, "stream": "permuted",
                "num_tasks": tasks, "model": model, "si": si, **values, "hp_source": "search"}
        arms.append(Arm(name=values["arm"], config=flat))
    try:
        grid = SearchGrid(lr=tuple(args.tune_lr or DEFAULT_LRS),
                          epochs_per_task=tuple(args.tune_epochs or DEFAULT_EPOCHS))
        settings = SearchSettings(grid=grid, tasks=args.tune_tasks or args.tasks[0],
                                  seed=args.tune_seed, scheduler=args.tune_scheduler,
                                  grace_tasks=args.tune_grace_tasks,
                                  val_fraction=args.tune_val_fraction)
    except ValueError as err:
        raise SweepError(str(err)) from err
    return arms, settings, args


def main(argv: Sequence[str] | None = None) -> int:
    if "--tune" in (sys.argv[1:] if argv is None else argv):
        return tuned_main(build_tuned, argv, after=write_tidy)
    return sweep_main(build, argv, after=finish_sweep)


if __name__ == "__main__":
    sys.exit(main())
