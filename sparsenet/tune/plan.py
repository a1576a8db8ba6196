"""A sweep script's whole body: its plan of experiment folders checked, run side by side on
one Ray cluster, and each folder finished (tidy files, headline) by the ``after`` hook.

Side by side: one Tuner per experiment folder (each keeps its own folder, record, trial
state and tidy CSV, exactly as when run alone), all fitted at once in threads of the driver,
so the cluster's cores take trials from every experiment and none idles while a trial of
the plan waits. Ctrl-C stops them all as Tune stops one (state saved, ``fit()`` returns);
the same command with ``--resume`` restores every folder. A plan of one experiment runs in
the main thread as before.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from sparsenet.schema import EXPERIMENT_FILE
from sparsenet.tune.cli import (Plan, Sweep, SweepError, experiment_dir, storage_location,
                                validate)
from sparsenet.tune.launch import (build_tuner, describe_results, dry_run_line, interrupted,
                                   local_view, quiet_tune, start_ray)
from sparsenet.tune.resume import check_resume

Validated = list[tuple[Sweep, argparse.Namespace, list[Any]]]


def sweep_main(build: Callable[[Sequence[str] | None], Plan],
               argv: Sequence[str] | None = None,
               after: Callable[[Path], Any] | None = None, *,
               side_by_side: bool = True) -> int:
    """Build the plan, validate every experiment (and a ``--resume`` against its record),
    then run them side by side and hand each finished folder to ``after(exp_dir)`` (the
    sweep scripts pass analysis's end-of-sweep step; this package may not import
    analysis). A :class:`SweepError` becomes one line and exit 2, before Ray starts;
    trials that errored give exit 1; a Ctrl-C gives 130. ``side_by_side=False`` runs the
    experiments one after the other (the benchmark's other arm)."""
    try:
        plan = build(argv)
        _start_unstarted(plan)
        validated = [(sweep, args, validate(sweep, args)) for sweep, args in plan]
        check_resume(plan, build)
        if plan[0][1].dry_run:
            for sweep, args, configs in validated:
                print(dry_run_line(sweep, configs, experiment_dir(args)))
            return 0
        outputs, stopped, errored = [], [], False
        for exp_dir, results, expected in run_plan(validated, argv, side_by_side=side_by_side):
            print(describe_results(exp_dir, results))
            if after is not None:
                with local_view(exp_dir) as local_dir:  # object storage: a local mirror
                    after(local_dir)
            if interrupted(results, expected):
                stopped.append(str(exp_dir))
                continue
            outputs.append(str(exp_dir))
            errored = errored or any(r.error is not None for r in results)
    except SweepError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if stopped:
        print(f"stopped: {', '.join(f'{d} was interrupted' for d in stopped)}; the same "
              "command with --resume continues the plan", file=sys.stderr)
        return 130
    if len(outputs) > 1:
        print(f"report (all): python -m analysis report {' '.join(outputs)} --out "
              f"{Path(outputs[0]).parent}/{plan[0][1].name}_report")
    return 1 if errored else 0


def run_plan(validated: Validated, argv: Sequence[str] | None, *,
             side_by_side: bool = True) -> Iterator[tuple[Any, Any, int]]:
    """Start (or join) Ray once, run the plan, yield ``(exp_dir, ResultGrid, trials)`` per
    experiment in plan order. One after the other, an interrupted experiment is the last
    (the later ones must not start)."""
    import ray

    first = validated[0][1]
    start_ray(first)
    try:
        with quiet_tune(getattr(first, "verbose", False)):
            if side_by_side and len(validated) > 1 and _interrupt_hook() is not None:
                yield from _side_by_side(validated, argv)
                return
            for sweep, args, configs in validated:
                results = build_tuner(sweep, args, argv, configs).fit()
                yield experiment_dir(args), results, len(configs)
                if interrupted(results, len(configs)):
                    return
    finally:
        ray.shutdown()


def _interrupt_hook():
    """Tune's function that makes the event its run loop stops on (a SIGINT handler in the
    main thread only); None where this Ray lacks it (then the plan runs one at a time)."""
    module = importlib.import_module("ray.tune.tune")
    return getattr(module, "_setup_signal_catching", None)


def _side_by_side(validated: Validated, argv) -> Iterator[tuple[Any, Any, int]]:
    """Every experiment's ``Tuner.fit()`` in its own thread. Tune installs its Ctrl-C
    handler only in the main thread, so here one handler sets one event that every fit's
    loop stops on (Tune's own graceful stop: state saved, results returned); an
    exception in one fit stops the others the same way, then is raised."""
    tune_module = importlib.import_module("ray.tune.tune")
    stop = threading.Event()
    tuners = [build_tuner(sweep, args, argv, configs, bar=False, name=args.name)
              for sweep, args, configs in validated]

    def on_sigint(signum, frame):
        print("stopping every experiment of the plan (their state is saved) ...",
              file=sys.stderr, flush=True)
        stop.set()
        signal.signal(signal.SIGINT, previous)  # a second Ctrl-C stops at once

    original = tune_module._setup_signal_catching
    previous = signal.signal(signal.SIGINT, on_sigint)
    tune_module._setup_signal_catching = lambda: stop
    registry = importlib.import_module("ray.tune.registry")._global_registry
    registry.register = _serialized(registry.register)  # its flush is not thread-safe
    try:
        with ThreadPoolExecutor(len(tuners), thread_name_prefix="sparsenet-plan") as pool:
            futures = [pool.submit(tuner.fit) for tuner in tuners]
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
                if any(f.exception() is not None for f in done):
                    stop.set()
    finally:
        tune_module._setup_signal_catching = original
        del registry.register  # the class's own method again
        if signal.getsignal(signal.SIGINT) is on_sigint:
            signal.signal(signal.SIGINT, previous)
    for (sweep, args, configs), future in zip(validated, futures):
        yield experiment_dir(args), future.result(), len(configs)


def _serialized(fn: Callable[..., Any]) -> Callable[..., Any]:
    lock = threading.Lock()

    def locked(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return fn(*args, **kwargs)
    return locked


def _start_unstarted(plan: Plan) -> None:
    """``--resume`` of a plan stopped before some of its experiments began: those start
    fresh (the first must exist: a mistyped ``--name`` still fails)."""
    for _, args in plan[1:]:
        if args.resume and not storage_location(args).child(EXPERIMENT_FILE).exists():
            args.resume = False
