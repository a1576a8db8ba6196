"""The sweep command-line contract: the common flags, :class:`Sweep`, and :func:`validate`.

Everything a user can get wrong is checked before Ray starts: every grid point is built
as a typed config (so a bad rate or an unknown network fails with one line), the dataset
is loaded once in the driver (so a dataset missing offline fails in seconds), the results
folder must be writable, and an existing experiment is never overwritten without
``--resume``.
"""

from __future__ import annotations

import argparse
import itertools
import os
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from sparsenet.schema import EXPERIMENT_FILE
from sparsenet.storage import Location, StorageError, check_writable, is_uri, location
from sparsenet.tune.resources import address_problem, local_problem
from sparsenet.tune.tracking import TRACKERS, check_tracking


class SweepError(Exception):
    """A problem with the user's input; reported as one line, exit code 2."""


def add_common_args(parser: argparse.ArgumentParser, *, default_name: str) -> None:
    """The flags every sweep accepts. ``--dataset/--seeds/--epochs`` default to None so a
    sweep can fill them from its full or its ``--quick`` defaults (:func:`fill_defaults`)."""
    parser.add_argument("--dataset", default=None, help="dataset name; see sparsenet.data")
    parser.add_argument("--seeds", type=int, default=None, help="replicate seeds 0..N-1")
    parser.add_argument("--seed-list", type=int, nargs="+", default=None, metavar="SEED",
                        help="explicit replicate seeds instead of --seeds (e.g. 42, or seeds "
                             "disjoint from a tuning stage)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per round / per task")
    parser.add_argument("--storage", default="./results", help="results root (default ./results)")
    parser.add_argument("--name", default=default_name,
                        help=f"experiment folder under --storage (default {default_name})")
    parser.add_argument("--address", default=None,
                        help="join an existing Ray cluster ('auto' on a `ray up` cluster); "
                             "default: start a local one")
    parser.add_argument("--cpus-per-trial", type=float, default=1.0)
    parser.add_argument("--gpus-per-trial", type=float, default=0.0,
                        help="fractional values pack trials on one GPU (0.25 = four per GPU)")
    parser.add_argument("--max-concurrent", type=int, default=0,
                        help="cap on trials running at once (0 = as many as resources allow)")
    parser.add_argument("--num-cpus", type=int, default=None,
                        help="CPUs of the local Ray cluster started without --address")
    parser.add_argument("--num-gpus", type=float, default=None,
                        help="GPUs of the local Ray cluster (logical ones work for testing)")
    parser.add_argument("--max-failures", type=int, default=2,
                        help="restarts of a failed trial from its last checkpoint (default 2)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the interrupted experiment in STORAGE/NAME")
    parser.add_argument("--quick", action="store_true",
                        help="tiny budget of the same sweep, offline default dataset")
    parser.add_argument("--data-dir", default=os.environ.get("SPARSENET_DATA"),
                        help="where datasets are looked for / downloaded (env SPARSENET_DATA)")
    parser.add_argument("--dry-run", action="store_true",
                        help="validate and print the grid, start nothing")
    parser.add_argument("--verbose", action="store_true",
                        help="Ray's own status tables and worker logs instead of the compact "
                             "progress display")
    parser.add_argument("--tracking", choices=TRACKERS, default=None,
                        help="also log every trial to MLflow or Weights & Biases (Ray Tune's "
                             "logger callbacks; pip install 'sparsenet[mlflow]' / '[wandb]')")
    parser.add_argument("--tracking-uri", default=None,
                        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else ./mlruns)")
    parser.add_argument("--tracking-project", default=None,
                        help="W&B project (default: --name)")


def fill_defaults(args: argparse.Namespace, full: dict[str, Any], quick: dict[str, Any]) -> None:
    """Options the user left unset take the sweep's ``--quick`` or full-budget value.
    ``--seed-list`` stands in for ``--seeds`` (its length; :func:`validate` swaps the
    values into the sweep's seed axis)."""
    seed_list = getattr(args, "seed_list", None)
    if seed_list is not None and not getattr(args, "_seeds_from_seed_list", False):
        # Idempotent: a sweep may fill its defaults in several passes (e.g. the permuted
        # sweep's config and hyper-parameter defaults); only the user's --seeds conflicts.
        if args.seeds is not None:
            raise SweepError("give --seeds N or --seed-list SEED [SEED ...], not both")
        args.seeds = len(seed_list)
        args._seeds_from_seed_list = True
    chosen = quick if args.quick else full
    for key in set(full) | set(quick):
        if getattr(args, key, None) is None:
            setattr(args, key, chosen.get(key, full.get(key)))


@dataclass
class Sweep:
    """What a sweep script hands to :func:`run_sweep`: a base config, grid axes, and keys
    derived from a grid point (e.g. the context a model needs), so that the grid need not
    be a plain product. ``derived`` functions take and return plain values (flat config).
    The experiment kind is the base config's (``Config.kind``); an older caller's
    ``kind=`` must agree with it."""

    base: Any  # a config dataclass instance of a registered experiment kind
    axes: dict[str, list[Any]] = field(default_factory=dict)
    derived: dict[str, Callable[[dict[str, Any]], Any]] = field(default_factory=dict)
    datasets: tuple[str, ...] = ()
    kind: InitVar[str | None] = None

    def __post_init__(self, kind: str | None) -> None:
        from sparsenet.experiments.registry import experiment_kind

        config_cls, _ = experiment_kind(getattr(self.base, "kind", "")).classes()
        if not isinstance(self.base, config_cls):
            raise ValueError(f"Sweep base must be a {config_cls.__name__}, "
                             f"got {type(self.base).__name__}")
        if kind is not None and kind != self.base.kind:
            raise ValueError(f"Sweep kind {kind!r} but its base is a {self.base.kind!r} config")

    def points(self) -> list[dict[str, Any]]:
        keys = list(self.axes)
        points = []
        for values in itertools.product(*(self.axes[k] for k in keys)):
            flat = {**self.base.to_flat(), **dict(zip(keys, values))}
            flat.update({key: fn(flat) for key, fn in self.derived.items()})
            points.append(flat)
        return points

    def configs(self) -> list[Any]:
        """Every grid point as a validated config (raises ValueError on the first bad one)."""
        return [type(self.base).from_flat(flat) for flat in self.points()]


# The kind, read from the base config (set after the dataclass took ``kind`` as an InitVar).
Sweep.kind = property(lambda self: self.base.kind)  # type: ignore[assignment,misc]

# What a sweep script's ``build(argv)`` returns: one (sweep, args) per experiment folder.
Plan = list[tuple[Sweep, argparse.Namespace]]


# Grid axes that hold replicate seeds (the IMP/continual ``seed``, the noise controls').
SEED_AXES = ("seed", "control_seed")


def _check_seed_list(seed_list: Sequence[int] | None) -> None:
    if seed_list is None:
        return
    negative = [s for s in seed_list if s < 0]
    if negative:
        raise SweepError(f"--seed-list: seeds must be >= 0, got {negative[0]}")
    repeated = sorted({s for s in seed_list if list(seed_list).count(s) > 1})
    if repeated:
        raise SweepError(f"--seed-list: each seed once, got {repeated[0]} more than once")


def _apply_seed_list(sweep: Sweep, seed_list: Sequence[int] | None) -> None:
    """Sweeps build their seed axis as ``range(args.seeds)``; an explicit list replaces it."""
    if seed_list is None:
        return
    for key in SEED_AXES:
        if key in sweep.axes and list(sweep.axes[key]) == list(range(len(seed_list))):
            sweep.axes[key] = list(seed_list)


def _check_positive(args: argparse.Namespace) -> None:
    _check_seed_list(getattr(args, "seed_list", None))
    if args.seeds < 1:
        raise SweepError(f"--seeds must be >= 1, got {args.seeds}")
    if args.epochs is not None and args.epochs < 1:
        raise SweepError(f"--epochs must be >= 1, got {args.epochs}")
    if args.cpus_per_trial <= 0:
        raise SweepError(f"--cpus-per-trial must be > 0, got {args.cpus_per_trial}")
    if args.gpus_per_trial < 0:
        raise SweepError(f"--gpus-per-trial must be >= 0, got {args.gpus_per_trial}")
    if args.max_concurrent < 0:
        raise SweepError(f"--max-concurrent must be >= 0, got {args.max_concurrent}")
    if args.max_failures < 0:
        raise SweepError(f"--max-failures must be >= 0, got {args.max_failures}")


def experiment_dir(args: argparse.Namespace) -> Path | str:
    """STORAGE/NAME: a local Path, or a URI string for object storage (s3://, gs://...)."""
    if is_uri(args.storage):
        return storage_location(args).uri
    return Path(args.storage).expanduser().resolve() / args.name


def storage_location(args: argparse.Namespace) -> Location:
    """STORAGE/NAME as a pyarrow filesystem location (any --storage, local or URI)."""
    try:
        return location(args.storage).child(args.name)
    except StorageError as err:
        raise SweepError(str(err)) from None


def _check_remote_storage(exp: Location, resume: bool) -> None:
    """The same checks as :func:`_check_storage`, through the URI's filesystem."""
    try:
        check_writable(location(args_root(exp)))
        exists = bool(exp.listing())
        record = exp.child(EXPERIMENT_FILE).is_file()
    except StorageError as err:
        raise SweepError(str(err)) from None
    except OSError as err:
        raise SweepError(f"results storage {exp.uri} cannot be reached: "
                         f"{str(err).strip().splitlines()[0]}") from None
    from ray import tune

    if resume:
        if not record or not tune.Tuner.can_restore(exp.path, storage_filesystem=exp.fs):
            raise SweepError(f"--resume: {exp.uri} is not a sparsenet experiment to resume")
    elif exists:
        raise SweepError(f"{exp.uri} already holds results; pass --resume to continue it "
                         f"or choose another --name")


def args_root(exp: Location) -> str:
    """The storage root URI of an experiment location (its parent)."""
    return exp.uri.rsplit("/", 1)[0]


def _check_storage(exp_dir: Path, resume: bool) -> None:
    root = exp_dir.parent
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".sparsenet-write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:
        raise SweepError(f"results folder {root} is not writable: {err.strerror or err}") from err
    from ray import tune  # local import: argument errors above need no Ray

    exists = exp_dir.exists() and any(exp_dir.iterdir())
    if resume:
        if not (exp_dir / EXPERIMENT_FILE).exists() or not tune.Tuner.can_restore(str(exp_dir)):
            raise SweepError(f"--resume: {exp_dir} is not a sparsenet experiment to resume")
    elif exists:
        raise SweepError(f"{exp_dir} already holds results; pass --resume to continue it "
                         f"or choose another --name")


def _check_data(datasets: Sequence[str], data_dir: str | None) -> dict[str, Any]:
    """Loads each dataset once (fails fast offline); returns name -> DatasetInfo."""
    from sparsenet.data import DatasetUnavailable, load_dataset

    infos = {}
    for name in dict.fromkeys(datasets):
        try:
            infos[name] = load_dataset(name, data_dir, val_fraction=0.0).info
        except DatasetUnavailable as err:
            raise SweepError(str(err)) from err
        except (ValueError, FileNotFoundError) as err:
            raise SweepError(f"dataset {name!r}: {err}") from err
    return infos


def _check_configs_against_data(configs: Sequence[Any], infos: dict[str, Any]) -> None:
    """Configs that can only be judged with the data (e.g. a class split) say so here."""
    for config in configs:
        check = getattr(config, "check_dataset", None)
        info = infos.get(getattr(config, "dataset", None))
        if check is not None and info is not None:
            try:
                check(info)
            except ValueError as err:
                raise SweepError(f"{info.name}: {err}") from err


def validate(sweep: Sweep, args: argparse.Namespace) -> list[Any]:
    """All checks that must pass before Ray starts; returns the grid's configs."""
    _check_positive(args)
    if not args.address:  # a local cluster can never grow: refuse what it cannot run
        problem = local_problem(args)
    else:
        problem = address_problem(args.address)
    if problem:
        raise SweepError(problem)
    problem = check_tracking(args)
    if problem:
        raise SweepError(problem)
    _apply_seed_list(sweep, getattr(args, "seed_list", None))
    try:
        configs = sweep.configs()
    except (ValueError, TypeError) as err:
        raise SweepError(str(err)) from err
    datasets = sweep.datasets or tuple({getattr(c, "dataset", None) for c in configs} - {None})
    _check_configs_against_data(configs, _check_data(datasets, args.data_dir))
    if is_uri(args.storage):
        _check_remote_storage(storage_location(args), args.resume)
    else:
        _check_storage(experiment_dir(args), args.resume)
    return configs
