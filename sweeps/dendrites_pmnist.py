"""Active dendrites vs catastrophic forgetting on permuted MNIST (claim 3), as a Tune grid.

Defaults are the paper's: 10 tasks, ADN (784-2048-2048-10, k-winners 5%, weight sparsity
0.5, 10 segments, one-hot task context) vs a plain MLP of the same width, Adam lr 5e-4,
batch 256, 3 epochs per task, 5 seeds. Any 28x28 dataset can be permuted.

    python sweeps/dendrites_pmnist.py --quick                            # offline, ~1 min
    python sweeps/dendrites_pmnist.py --dataset fashion_mnist --seeds 3
    python sweeps/dendrites_pmnist.py --models active_dendrites_mlp --si on --tasks 10 50
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

from analysis.tidy import write_tidy
from sparsenet.experiments.continual import DENDRITIC_MODELS, ContinualConfig
from sparsenet.tune.cli import Plan, Sweep, SweepError, add_common_args, fill_defaults, sweep_main

MLP_MODELS = ("mlp", "sparse_mlp", "dendrites_mlp", "active_dendrites_mlp")
FULL = dict(dataset="mnist", seeds=5, epochs=3, tasks=[10], lr=5e-4, batch_size=256)
# digits has 1.2k training images: smaller batches and a larger step make 3 epochs count.
QUICK = dict(dataset="digits", seeds=1, epochs=3, tasks=[3], hidden=[256, 256], lr=2e-3,
             batch_size=32)
SI_AXIS = {"off": [False], "on": [True], "both": [False, True]}


def build(argv: Sequence[str] | None) -> Plan:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, default_name="dendrites_pmnist")
    parser.add_argument("--tasks", type=int, nargs="+", default=None,
                        help="numbers of permuted tasks (grid axis; default 10)")
    parser.add_argument("--models", nargs="+", default=["active_dendrites_mlp", "mlp"],
                        choices=MLP_MODELS, help="networks (grid axis)")
    parser.add_argument("--context", choices=("onehot", "prototype"), default="onehot",
                        help="context of dendritic networks (the paper: onehot task id; "
                             "Numenta: prototype)")
    parser.add_argument("--context-infer", choices=("oracle", "nearest"), default="oracle",
                        help="prototype at test time: the task's own or the nearest to the input")
    parser.add_argument("--context-input", action="store_true",
                        help="give non-dendritic baselines the same context as an input")
    parser.add_argument("--si", choices=tuple(SI_AXIS), default="off",
                        help="synaptic intelligence (c=0.1, damping 0.1): off, on, or both")
    parser.add_argument("--hidden", type=int, nargs="+", default=None,
                        help="hidden widths (default 2048 2048; --quick 256 256)")
    parser.add_argument("--segments", type=int, default=None, help="dendritic segments (10)")
    parser.add_argument("--lr", type=float, default=None, help="Adam step (5e-4)")
    parser.add_argument("--batch-size", type=int, default=None, help="batch size (256)")
    args = parser.parse_args(argv)
    fill_defaults(args, FULL, QUICK)

    def context_of(flat: dict[str, Any]) -> str:
        if flat["model"] in DENDRITIC_MODELS or args.context_input:
            return args.context
        return "none"

    def segments_of(flat: dict[str, Any]) -> int | None:
        return args.segments if flat["model"] in DENDRITIC_MODELS else None

    try:
        base = ContinualConfig(
            dataset=args.dataset, stream="permuted", num_tasks=args.tasks[0],
            model=args.models[0], hidden=tuple(args.hidden) if args.hidden else None,
            context=args.context if args.models[0] in DENDRITIC_MODELS else "none",
            context_infer=args.context_infer, lr=args.lr, batch_size=args.batch_size,
            epochs_per_task=args.epochs)
    except ValueError as err:
        raise SweepError(str(err)) from err
    axes = {"model": list(args.models), "num_tasks": list(args.tasks),
            "si": SI_AXIS[args.si], "seed": list(range(args.seeds))}
    derived = {"context": context_of, "context_input": lambda flat: bool(
        args.context_input and flat["model"] not in DENDRITIC_MODELS)}
    if args.segments is not None:
        derived["num_segments"] = segments_of
    return [(Sweep(kind="continual", base=base, axes=axes, derived=derived), args)]


def main(argv: Sequence[str] | None = None) -> int:
    return sweep_main(build, argv, after=write_tidy)


if __name__ == "__main__":
    sys.exit(main())
