"""Lottery tickets by iterative magnitude pruning (claim 1), as a Ray Tune grid.

Default: the paper's setting, LeNet-300-100 on MNIST, winning and random tickets,
7 seeds, preset bain2022 (12.5% of FC weights per round, 35 rounds of 35 epochs).

    python sweeps/imp_sparsity.py --quick                       # ~1 minute, offline
    python sweeps/imp_sparsity.py --dataset fashion_mnist --seeds 3 --prune-rate 0.2 \\
        --rounds 16 --epochs 3 --name imp_fashion
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from analysis.headline import finish_sweep
from sparsenet.experiments.common import choices_of
from sparsenet.experiments.imp import IMPConfig
from sparsenet.tune.cli import Plan, Sweep, SweepError, add_common_args, fill_defaults
from sparsenet.tune.flags import FieldFlag, add_field_flags, given_fields
from sparsenet.tune.plan import sweep_main

FULL = dict(dataset="mnist", seeds=7)  # rounds, rate and epochs come from the preset
QUICK = dict(dataset="digits", seeds=1, epochs=4, rounds=5, prune_rate=0.5)


# Config fields exposed as flags (generated: name, type, choices, range and help come from
# IMPConfig); a flag left out keeps the preset's value.
FIELD_FLAGS = (FieldFlag("rounds", note="preset's"),
               FieldFlag("rate_conv", flag="--prune-rate-conv"),
               FieldFlag("scope"), FieldFlag("rewind_iter", note="preset's"))
PROTOCOL_FLAGS = (FieldFlag("rewind_scope", note="preset's"), "alias_biases", "save_network",
                  "eval_before_epoch", "val_fraction")


def build(argv: Sequence[str] | None) -> Plan:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, default_name="imp_sparsity")
    parser.add_argument("--arch", nargs="+", default=["lenet300_100"],
                        help="networks (grid axis); e.g. lenet300_100 mnist_conv conv2")
    parser.add_argument("--tickets", nargs="+", default=["winning", "random"],
                        choices=choices_of(IMPConfig, "ticket"),
                        help="ticket kinds (grid axis)")
    parser.add_argument("--preset", default="bain2022", choices=choices_of(IMPConfig, "preset"))
    parser.add_argument("--prune-rate", type=float, default=None,
                        help="fraction of surviving FC weights pruned per round, hidden and "
                             "output alike (preset's)")
    specs = add_field_flags(parser, IMPConfig, FIELD_FLAGS)
    protocol = parser.add_argument_group(
        "protocol", "the paper's code differs from sparsenet's defaults here (docs/fidelity.md); "
        "--preset bain2022_code sets all of these to the paper's code")
    specs += add_field_flags(protocol, IMPConfig, PROTOCOL_FLAGS)
    args = parser.parse_args(argv)
    fill_defaults(args, FULL, QUICK)
    overrides = {"dataset": args.dataset, "arch": args.arch[0], "ticket": args.tickets[0],
                 **given_fields(args, specs)}
    if args.epochs is not None:
        overrides["epochs_per_round"] = args.epochs
    if args.prune_rate is not None:
        overrides.update(rate_hidden=args.prune_rate, rate_output=args.prune_rate)
    try:
        base = IMPConfig.from_preset(args.preset, **overrides)
    except ValueError as err:
        raise SweepError(str(err)) from err
    axes = {"seed": list(range(args.seeds)), "ticket": list(args.tickets)}
    if len(args.arch) > 1:
        axes["arch"] = list(args.arch)
    return [(Sweep(base=base, axes=axes), args)]


def main(argv: Sequence[str] | None = None) -> int:
    return sweep_main(build, argv, after=finish_sweep)


if __name__ == "__main__":
    sys.exit(main())
