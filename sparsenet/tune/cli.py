"""The sweep command-line contract and the one function that runs a sweep with Ray Tune.

Everything a user can get wrong is checked before Ray starts: every grid point is built
as a typed config (so a bad rate or an unknown network fails with one line), the dataset
is loaded once in the driver (so a dataset missing offline fails in seconds), the results
folder must be writable, and an existing experiment is never overwritten without
``--resume``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from sparsenet.schema import ERROR_FILE, EXPERIMENT_FILE, PARAMS_FILE, RESULT_FILE
from sparsenet.storage import Location, StorageError, check_writable, is_uri, location
from sparsenet.tune.resources import cluster_warning, local_problem
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
    if getattr(args, "seed_list", None) is not None:
        if args.seeds is not None:
            raise SweepError("give --seeds N or --seed-list SEED [SEED ...], not both")
        args.seeds = len(args.seed_list)
    chosen = quick if args.quick else full
    for key in set(full) | set(quick):
        if getattr(args, key, None) is None:
            setattr(args, key, chosen.get(key, full.get(key)))


@dataclass
class Sweep:
    """What a sweep script hands to :func:`run_sweep`: a base config, grid axes, and keys
    derived from a grid point (e.g. the context a model needs), so that the grid need not
    be a plain product. ``derived`` functions take and return plain values (flat config)."""

    kind: str
    base: Any  # a config dataclass instance
    axes: dict[str, list[Any]] = field(default_factory=dict)
    derived: dict[str, Callable[[dict[str, Any]], Any]] = field(default_factory=dict)
    datasets: tuple[str, ...] = ()

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


def _param_space(sweep: Sweep, data_dir: str | None) -> dict[str, Any]:
    from ray import tune

    space: dict[str, Any] = {"experiment": sweep.kind, "data_dir": data_dir}
    space.update(sweep.base.to_flat())
    for key, values in sweep.axes.items():
        space[key] = tune.grid_search(list(values))
    for key, fn in sweep.derived.items():
        space[key] = tune.sample_from(functools.partial(_derive, fn))
    return space


def _derive(fn: Callable[[dict[str, Any]], Any], spec: Any) -> Any:
    """Tune resolves grid axes first, then calls this with the trial's spec."""
    return fn(dict(spec.config))


def _start_ray(args: argparse.Namespace) -> None:
    import logging

    import ray

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    verbose = getattr(args, "verbose", False)
    # Quiet by default: no worker output or INFO logs on the console (all of it is still in
    # Ray's session logs and the trial folders); --verbose brings them back.
    quiet = dict(log_to_driver=verbose, logging_level=logging.INFO if verbose else logging.WARNING)
    if not verbose:
        logging.getLogger("ray.tune").setLevel(logging.WARNING)
        logging.getLogger("ray.train").setLevel(logging.WARNING)
    if args.address:
        ray.init(address=args.address, **quiet)
        warning = cluster_warning(args, ray.cluster_resources())
        if warning:
            print(warning, file=sys.stderr)
    else:
        ray.init(num_cpus=args.num_cpus, num_gpus=args.num_gpus, include_dashboard=False,
                 **quiet)


def _write_experiment_file(exp: Location, sweep: Sweep, argv: Sequence[str],
                           n_trials: int) -> None:
    """The experiment record, through the storage's filesystem (a folder or an object)."""
    exp.fs.create_dir(exp.path, recursive=True)
    path = exp.child(EXPERIMENT_FILE)
    record = {"kind": sweep.kind, "sweep": Path(sys.argv[0]).name, "argv": list(argv),
              "trials": n_trials, "axes": {k: list(v) for k, v in sweep.axes.items()},
              "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if path.is_file():  # a resume keeps the first record and notes the new start
        old = json.loads(path.read_text())
        old.setdefault("resumed", []).append(record["started"])
        record = old
    path.write_text(json.dumps(record, indent=2, default=str))


def run_sweep(sweep: Sweep, args: argparse.Namespace, argv: Sequence[str] | None = None,
              configs: list[Any] | None = None):
    """Validate (unless ``configs`` says it was done), start (or join) Ray, run the grid
    with Tune; returns ``(exp_dir, ResultGrid)`` (``None`` results for ``--dry-run``)."""
    if configs is None:
        configs = validate(sweep, args)
    exp_dir = experiment_dir(args)
    data_dir = str(Path(args.data_dir).expanduser().resolve()) if args.data_dir else None
    if args.dry_run:
        print(f"{len(configs)} trials of {sweep.kind} would run into {exp_dir}")
        return exp_dir, None

    import ray
    from ray import tune

    from sparsenet.tune.console import ConsoleProgress
    from sparsenet.tune.tracking import tracking_callbacks
    from sparsenet.tune.trainable import ExperimentTrainable

    exp = storage_location(args)
    remote_fs = exp.fs if is_uri(args.storage) else None  # local: Tune's own default
    _write_experiment_file(exp, sweep, argv if argv is not None else sys.argv[1:], len(configs))
    trainable = tune.with_resources(ExperimentTrainable,
                                    {"cpu": args.cpus_per_trial, "gpu": args.gpus_per_trial})
    verbose = getattr(args, "verbose", False)
    callbacks = [] if verbose else [ConsoleProgress(sweep.kind, len(configs), list(sweep.axes))]
    callbacks += tracking_callbacks(args)
    _start_ray(args)
    try:
        if args.resume:
            tuner = tune.Tuner.restore(exp.path, trainable=trainable, resume_errored=True,
                                       storage_filesystem=remote_fs)
        else:
            tuner = tune.Tuner(
                trainable,
                param_space=_param_space(sweep, data_dir),
                tune_config=tune.TuneConfig(max_concurrent_trials=args.max_concurrent or None,
                                            reuse_actors=False),
                run_config=tune.RunConfig(
                    name=args.name,
                    storage_path=exp.path.rsplit("/", 1)[0],
                    storage_filesystem=remote_fs,
                    checkpoint_config=tune.CheckpointConfig(num_to_keep=2,
                                                            checkpoint_at_end=True),
                    failure_config=tune.FailureConfig(max_failures=args.max_failures),
                    sync_config=tune.SyncConfig(sync_artifacts=True),
                    callbacks=callbacks,
                    verbose=1 if verbose else 0,
                ),
            )
        with _quiet_tune(verbose):
            results = tuner.fit()
    finally:
        ray.shutdown()
    return exp_dir, results


# Tune's settings that make it quiet: its older console reporter (silent at verbose=0; the
# newer one prints a configuration box at any level) and no snapshot-frequency warnings.
_QUIET_TUNE = {"RAY_AIR_NEW_OUTPUT": "0",
               "TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S": "0"}


@contextlib.contextmanager
def _quiet_tune(verbose: bool):
    """Set :data:`_QUIET_TUNE` in the environment for one ``fit()`` (unless ``--verbose``)."""
    saved = {key: os.environ.get(key) for key in _QUIET_TUNE}
    if not verbose:
        for key, value in _QUIET_TUNE.items():
            os.environ.setdefault(key, value)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


Plan = list[tuple[Sweep, argparse.Namespace]]


def sweep_main(build: Callable[[Sequence[str] | None], Plan],
               argv: Sequence[str] | None = None,
               after: Callable[[Path], Any] | None = None) -> int:
    """The body of every sweep script: build its experiments, validate them all, then run
    each, write its tidy files and say where the results are.

    ``build`` returns one ``(sweep, args)`` per experiment folder (``args.name`` differs).
    ``after(exp_dir)`` writes the tidy CSVs (the sweep passes analysis's writer; this
    package may not import analysis). A :class:`SweepError` becomes one line and exit 2;
    trials that errored give exit 1.
    """
    try:
        plan = build(argv)
        validated = [(sweep, args, validate(sweep, args)) for sweep, args in plan]
        outputs, errored = [], False
        for sweep, args, configs in validated:
            exp_dir, results = run_sweep(sweep, args, argv, configs=configs)
            if results is None:  # --dry-run
                continue
            with local_view(exp_dir) as local_dir:  # object storage: a local mirror
                if after is not None:
                    after(local_dir)
                print(describe_results(exp_dir, results))
                print_headline(local_dir)
            outputs.append(str(exp_dir))
            errored = errored or any(r.error is not None for r in results)
    except SweepError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if len(outputs) > 1:
        print(f"report (all): python -m analysis report {' '.join(outputs)} --out "
              f"{Path(outputs[0]).parent}/{plan[0][1].name}_report")
    return 1 if errored else 0


# Files a sweep's end reads back (the tidy writer and the headline): not checkpoints/tickets.
def _analysis_file(relative: str) -> bool:
    name = relative.rsplit("/", 1)[-1]
    return relative.count("/") == 0 or (relative.count("/") == 1 and name in (
        PARAMS_FILE, RESULT_FILE, ERROR_FILE))


@contextlib.contextmanager
def local_view(exp_dir: Path | str):
    """A local folder standing for the experiment: itself, or for a URI a temporary mirror
    of the files analysis reads whose new or changed top-level files are uploaded after."""
    if not is_uri(str(exp_dir)):
        yield Path(exp_dir)
        return
    import tempfile

    exp = location(str(exp_dir))
    with tempfile.TemporaryDirectory(prefix="sparsenet-") as tmp:
        local = exp.download(Path(tmp) / exp.name, keep=_analysis_file)
        before = {p.name: p.stat().st_mtime_ns for p in local.iterdir() if p.is_file()}
        yield local
        for path in local.iterdir():
            if path.is_file() and before.get(path.name) != path.stat().st_mtime_ns:
                exp.child(path.name).upload(path)


def print_headline(exp_dir: Path) -> None:
    """The sweep's answer (from its folder, through analysis); never fails the sweep."""
    from sparsenet.tune.headline import headline_lines

    try:
        lines = headline_lines(exp_dir)
    except Exception as err:  # noqa: BLE001 - the results are safe; the report can say more
        lines = [f"(no headline: {type(err).__name__}: {err})"]
    print("\n".join(lines))


def describe_results(exp_dir: Path, results) -> str:
    """Where the results are and the one command that turns them into the report."""
    lines = [f"results: {exp_dir}"]
    if results is not None:
        errors = sum(1 for r in results if r.error is not None)
        lines.append(f"trials: {len(results)} ({errors} errored)")
    lines.append(f"report:  python -m analysis report {exp_dir} --out {exp_dir}/report")
    return "\n".join(lines)

