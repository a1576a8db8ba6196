"""Launching one validated experiment: Ray started or joined, its Tuner built (new or
restored) and run, the experiment record written, and where its results are.

The flags and every check that runs before Ray starts live in :mod:`sparsenet.tune.cli`;
a plan of several experiments is run by :mod:`sparsenet.tune.plan`.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from sparsenet.schema import ERROR_FILE, PARAMS_FILE, RESULT_FILE
from sparsenet.storage import is_uri, location
from sparsenet.tune.cli import (Sweep, SweepError, experiment_dir, storage_location,
                                validate)
from sparsenet.tune.record import write_record
from sparsenet.tune.resources import cluster_warning


def _param_space(sweep: Sweep, data_dir: str | None) -> dict[str, Any]:
    from ray import tune

    space: dict[str, Any] = {"experiment": sweep.kind, "data_dir": data_dir}
    space.update(sweep.base.to_flat())
    for key, values in sweep.axes.items():
        space[key] = tune.grid_search(list(values))
    for key, fn in sweep.derived.items():
        space[key] = tune.sample_from(functools.partial(_derive, fn))
    return space


def _derive(fn: Callable[[dict[str, Any]], Any], config: dict[str, Any]) -> Any:
    """Tune resolves grid axes first, then calls this with the trial's config (taking the
    older spec argument instead makes Ray log a deprecation warning per trial and resume)."""
    return fn(dict(config))


def start_ray(args: argparse.Namespace) -> None:
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
        # after a Ctrl-C, Ray lists every trial that never started as "Failed to fetch
        # metrics ... FileNotFoundError"; the sweep's own summary says what is missing
        logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
    if args.address:
        try:
            ray.init(address=args.address, **quiet)
        except ConnectionError as err:  # 'auto' with no cluster on this machine
            raise SweepError(f"--address {args.address}: {err}") from err
        warning = cluster_warning(args, ray.cluster_resources())
        if warning:
            print(warning, file=sys.stderr)
    else:
        ray.init(num_cpus=args.num_cpus, num_gpus=args.num_gpus, include_dashboard=False,
                 **quiet)


def run_sweep(sweep: Sweep, args: argparse.Namespace, argv: Sequence[str] | None = None,
              configs: list[Any] | None = None):
    """Validate (unless ``configs`` says it was done), start (or join) Ray, run the grid
    with Tune; returns ``(exp_dir, ResultGrid)`` (``None`` results for ``--dry-run``)."""
    if configs is None:
        configs = validate(sweep, args)
    exp_dir = experiment_dir(args)
    if args.dry_run:
        print(dry_run_line(sweep, configs, exp_dir))
        return exp_dir, None

    import ray

    start_ray(args)
    try:
        tuner = build_tuner(sweep, args, argv, configs)
        with quiet_tune(getattr(args, "verbose", False)):
            results = tuner.fit()
    finally:
        ray.shutdown()
    return exp_dir, results


def dry_run_line(sweep: Sweep, configs: Sequence[Any], exp_dir: Path | str) -> str:
    return f"{len(configs)} trials of {sweep.kind} would run into {exp_dir}"


def build_tuner(sweep: Sweep, args: argparse.Namespace, argv: Sequence[str] | None,
                configs: Sequence[Any], *, bar: bool | None = None, name: str | None = None):
    """The Tuner of one experiment folder, on the Ray cluster already started: a new one,
    or with ``--resume`` the recorded one restored. Writes the experiment record (only
    once Ray runs: a cluster that cannot be joined leaves no folder to --resume).
    ``bar=False`` keeps the console to plain lines and ``name`` heads each of them
    (several experiments side by side)."""
    from ray import tune

    from sparsenet.tune.console import ConsoleProgress
    from sparsenet.tune.tracking import tracking_callbacks
    from sparsenet.tune.trainable import ExperimentTrainable

    data_dir = str(Path(args.data_dir).expanduser().resolve()) if args.data_dir else None
    exp = storage_location(args)
    remote_fs = exp.fs if is_uri(args.storage) else None  # local: Tune's own default
    trainable = tune.with_resources(ExperimentTrainable,
                                    {"cpu": args.cpus_per_trial, "gpu": args.gpus_per_trial})
    verbose = getattr(args, "verbose", False)
    callbacks = [] if verbose else [ConsoleProgress(sweep.kind, len(configs), list(sweep.axes),
                                                    bar=bar, name=name)]
    callbacks += tracking_callbacks(args)
    write_record(exp, sweep.kind, sweep.axes, argv if argv is not None else sys.argv[1:],
                 len(configs))
    if args.resume:
        # the grid again: derived values are functions, which Tune cannot save, so trials
        # that had not started would otherwise get placeholders instead of values
        return tune.Tuner.restore(exp.path, trainable=trainable, resume_errored=True,
                                  param_space=_param_space(sweep, data_dir),
                                  storage_filesystem=remote_fs)
    return tune.Tuner(
        trainable,
        param_space=_param_space(sweep, data_dir),
        tune_config=tune.TuneConfig(max_concurrent_trials=args.max_concurrent or None,
                                    reuse_actors=False),
        run_config=tune.RunConfig(
            name=args.name,
            storage_path=exp.path.rsplit("/", 1)[0],
            storage_filesystem=remote_fs,
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2, checkpoint_at_end=True),
            failure_config=tune.FailureConfig(max_failures=args.max_failures),
            sync_config=tune.SyncConfig(sync_artifacts=True),
            callbacks=callbacks,
            verbose=1 if verbose else 0,
        ),
    )


# Tune's settings that make it quiet: its older console reporter (silent at verbose=0; the
# newer one prints a configuration box at any level) and no snapshot-frequency warnings.
_QUIET_TUNE = {"RAY_AIR_NEW_OUTPUT": "0",
               "TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S": "0"}


@contextlib.contextmanager
def quiet_tune(verbose: bool):
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


def describe_results(exp_dir: Path, results) -> str:
    """Where the results are and the one command that turns them into the report."""
    lines = [f"results: {exp_dir}"]
    if results is not None:
        errors = sum(1 for r in results if r.error is not None)
        lines.append(f"trials: {len(results)} ({errors} errored)")
    lines.append(f"report:  python -m analysis report {exp_dir} --out {exp_dir}/report")
    return "\n".join(lines)



def interrupted(results, expected: int) -> bool:
    """Tune returns normally after Ctrl-C: fewer than ``expected`` trials then ended (last
    result ``done``) or errored; the ones never started are not even in ``results``."""
    ended = sum(1 for r in results if r.error is not None or (r.metrics or {}).get("done"))
    return ended < expected
