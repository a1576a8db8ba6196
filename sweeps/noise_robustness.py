"""Noise robustness of lottery tickets and of controls (claim 2), as Ray Tune grids.

Evaluates the tickets of a finished (or running) IMP experiment, dense (round 0) and the
rounds nearest the chosen pruned fractions, on test images under every noise type x
level; ``--controls`` also trains the networks the hypothesis needs: dense, weight-sparse
only, activation-sparse only (k-winners) and both, at a matched size. The control kinds
``numenta_dense_cnn2`` / ``numenta_sparse_cnn2`` are Numenta's CNN-2 networks trained with
Numenta's recipe (15 epochs unless --epochs or --quick say otherwise); ``--numenta-noise``
evaluates with Numenta's protocol (noise type ``numenta``, levels 0 to 0.5 step 0.05).

    python sweeps/noise_robustness.py --imp-results results/imp_sparsity --controls
    python sweeps/noise_robustness.py --controls --dataset fashion_mnist --seeds 3
    python sweeps/noise_robustness.py --controls --numenta-noise --dataset mnist \
        --control-kinds numenta_dense_cnn2 numenta_sparse_cnn2 --seeds 10

Ticket evaluations land in STORAGE/NAME, controls in STORAGE/NAME_controls.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from analysis.headline import finish_sweep
from sparsenet.data.noise import NOISE_TYPES
from sparsenet.experiments.common import choices_of
from sparsenet.schema import PARAMS_FILE, ticket_file
from sparsenet.experiments.noise import (CONTROL_KINDS, DEFAULT_LEVELS, NUMENTA_KINDS,
                                         NUMENTA_LEVELS, NUMENTA_NOISE_TYPES, ControlConfig,
                                         NoiseConfig, numenta_recipe)
from sparsenet.pruning import get_preset
from sparsenet.storage import StorageError, is_uri, location
from sparsenet.tune.cli import Plan, Sweep, SweepError, add_common_args, fill_defaults
from sparsenet.tune.flags import FIELD_DEFAULT, FieldFlag, add_field_flags
from sparsenet.tune.plan import sweep_main

FULL = dict(dataset="mnist", seeds=7, epochs=get_preset("bain2022").epochs_per_round)
QUICK = dict(dataset="digits", seeds=2, epochs=4)


# Config fields exposed as flags (generated from NoiseConfig's and ControlConfig's
# declarations).
NOISE_FLAGS = (FieldFlag("pruned_fractions", flag="--pruned", default=FIELD_DEFAULT),
               FieldFlag("levels", note=f"default {list(DEFAULT_LEVELS)}"),
               FieldFlag("noise_types", note="default: all"))
CONTROL_FLAGS = (
    FieldFlag("weight_sparsity", flag="--control-weight-sparsity", default=FIELD_DEFAULT),
    FieldFlag("kw_fraction", flag="--control-kw", default=FIELD_DEFAULT),
    FieldFlag("hidden", flag="--control-hidden", default=FIELD_DEFAULT),
)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, default_name="noise_robustness")
    parser.add_argument("--imp-results", default=None,
                        help="an IMP experiment folder (STORAGE/NAME of sweeps/imp_sparsity.py)")
    parser.add_argument("--controls", action="store_true",
                        help="also train and evaluate the control networks")
    add_field_flags(parser, NoiseConfig, NOISE_FLAGS)
    parser.add_argument("--numenta-noise", action="store_true",
                        help="Numenta's protocol: noise type numenta (mean + 2 sigma), levels "
                             "0 to 0.5 step 0.05, unless --levels / --noise-types are given")
    parser.add_argument("--control-kinds", nargs="+", default=list(CONTROL_KINDS),
                        choices=choices_of(ControlConfig, "kind"),
                        help=f"default: the MLP controls; {', '.join(NUMENTA_KINDS)} are "
                             f"Numenta's CNN-2 networks, trained with Numenta's recipe")
    add_field_flags(parser, ControlConfig, CONTROL_FLAGS)
    args = parser.parse_args(argv)
    if args.imp_results is None and not args.controls:
        raise SweepError("nothing to do: give --imp-results DIR and/or --controls")
    if len(set(args.control_kinds)) != len(args.control_kinds):
        raise SweepError(f"--control-kinds: each kind once, got {args.control_kinds}")
    if args.levels is None:
        args.levels = list(NUMENTA_LEVELS if args.numenta_noise else DEFAULT_LEVELS)
    if args.noise_types is None:
        args.noise_types = list(NUMENTA_NOISE_TYPES if args.numenta_noise else NOISE_TYPES)
    return args


def imp_trials(imp_results: str) -> tuple[list[str], dict]:
    """Trial folders of an IMP experiment that hold tickets, and one trial's config."""
    if is_uri(imp_results):  # object storage: trials are read where they are, by URI
        return remote_imp_trials(imp_results)
    root = Path(imp_results).expanduser().resolve()
    trials = sorted(str(p.parent.parent) for p in root.glob(f"*/{ticket_file(0)}"))
    if not trials:
        raise SweepError(f"--imp-results: no IMP tickets under {root} "
                         f"(expected */{ticket_file(0)})")
    params = json.loads((Path(trials[0]) / PARAMS_FILE).read_text())
    return trials, params


def remote_imp_trials(imp_results: str) -> tuple[list[str], dict]:
    """:func:`imp_trials` for an IMP experiment in object storage (s3://, gs://...)."""
    try:
        root = location(imp_results)
        trials = sorted(root.child(info.base_name).uri for info in root.listing()
                        if root.child(info.base_name, *ticket_file(0).split("/")).is_file())
        params = json.loads(location(trials[0]).child(PARAMS_FILE).read_text()) \
            if trials else None
    except (StorageError, OSError) as err:
        raise SweepError(f"--imp-results: {str(err).splitlines()[0]}") from None
    if not trials:
        raise SweepError(f"--imp-results: no IMP tickets under {root.uri} "
                         f"(expected */{ticket_file(0)})")
    return trials, params


def noise_fields(args: argparse.Namespace) -> dict:
    return dict(pruned_fractions=tuple(args.pruned), levels=tuple(args.levels),
                noise_types=tuple(args.noise_types))


def ticket_sweep(args: argparse.Namespace) -> Sweep:
    trials, params = imp_trials(args.imp_results)
    try:
        base = NoiseConfig(imp_dir=trials[0], **noise_fields(args))
    except ValueError as err:
        raise SweepError(str(err)) from err
    return Sweep(base=base, axes={"imp_dir": trials},
                 datasets=(params["dataset"],))


def numenta_derived(kinds: Sequence[str], epochs: int | None) -> dict:
    """Per-trial training fields of the Numenta kinds (their recipe; other kinds keep the
    base values). ``epochs`` None keeps Numenta's 15."""
    if not set(kinds) & set(NUMENTA_KINDS):
        return {}

    def field(name: str):
        def value(flat: dict):
            kind = flat["control_kind"]
            if kind not in NUMENTA_KINDS:
                return flat[f"control_{name}"]
            if name == "epochs" and epochs is not None:
                return epochs
            return numenta_recipe(kind)[name]
        return value

    return {f"control_{name}": field(name) for name in numenta_recipe(NUMENTA_KINDS[0])}


def control_sweep(args: argparse.Namespace, dataset: str, epochs_given: bool = True) -> Sweep:
    try:
        control = ControlConfig(kind=args.control_kinds[0], dataset=dataset, seed=0,
                                hidden=tuple(args.control_hidden),
                                weight_sparsity=args.control_weight_sparsity,
                                kw_fraction=args.control_kw, epochs=args.epochs)
        base = NoiseConfig(control=control, **noise_fields(args))
    except ValueError as err:
        raise SweepError(str(err)) from err
    axes = {"control_kind": list(args.control_kinds), "control_seed": list(range(args.seeds))}
    derived = numenta_derived(args.control_kinds, args.epochs if epochs_given else None)
    return Sweep(base=base, axes=axes, derived=derived)


def build(argv: Sequence[str] | None) -> Plan:
    """Ticket evaluation in NAME and/or controls in NAME_controls."""
    args = parse(argv)
    dataset_given = args.dataset is not None
    epochs_given = args.epochs is not None or args.quick
    fill_defaults(args, FULL, QUICK)
    plan: Plan = []
    if args.imp_results is not None:
        sweep = ticket_sweep(args)
        plan.append((sweep, args))
        if not dataset_given:  # controls train on the tickets' dataset
            args.dataset = sweep.datasets[0]
    if args.controls:
        plan.append((control_sweep(args, args.dataset, epochs_given),
                     argparse.Namespace(**{**vars(args), "name": f"{args.name}_controls"})))
    return plan


def main(argv: Sequence[str] | None = None) -> int:
    return sweep_main(build, argv, after=finish_sweep)


if __name__ == "__main__":
    sys.exit(main())
