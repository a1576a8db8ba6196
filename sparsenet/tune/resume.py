"""Honest ``--resume``: a flag that would not take effect is refused before Ray starts.

``Tuner.restore`` continues the recorded experiment: its trials keep their recorded configs
and Tune restores its own settings (resources, concurrency, failures, callbacks) from the
first run. So a resume compares what the given flags build with what the recorded flags
(the record's ``argv``, rebuilt by the same sweep script) built:

- the grid (every trial's flat config): any difference is refused, naming the flags that
  differ (``--epochs 3 → 1``), or the config fields where no flag differs (the code
  changed);
- :data:`KEPT_BY_TUNE`: flags Tune restores from the first run; a different value is
  refused even where the grid is the same;
- :data:`FREE_ON_RESUME`: flags that act in the driver before Tune, so the given value
  applies (where to run, how loud) or that locate the experiment; they may differ.

Flags that differ without changing the grid (``--seeds 3`` vs ``--seed-list 0 1 2``, a
default given explicitly) are accepted: nothing the user asked for is lost.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from sparsenet.schema import EXPERIMENT_FILE, FINAL_DIR, TUNED_RECORD_FILE
from sparsenet.tune.cli import Plan, Sweep, SweepError, _apply_seed_list, storage_location
from sparsenet.tune.record import read_record

# Driver-side flags, applied as given on a resume (or naming the experiment itself).
# --tune-search-only: the final runs are "the same command without it, with --resume".
FREE_ON_RESUME = frozenset({"resume", "dry_run", "address", "num_cpus", "num_gpus", "verbose",
                            "storage", "name", "tune_search_only"})
# Restored by Tune from the first run (tune/run config, trial resources, trial data_dir).
KEPT_BY_TUNE = frozenset({"cpus_per_trial", "gpus_per_trial", "max_concurrent",
                          "max_failures", "tracking", "tracking_uri", "tracking_project",
                          "data_dir"})


def check_resume(plan: Plan, build: Callable[[Sequence[str] | None], Plan]) -> None:
    """Raise :class:`SweepError` (one line) where a resumed experiment of ``plan`` was
    recorded with settings the given flags change; say so on stderr where the record
    cannot be rebuilt (then the recorded settings apply, as Tune restores them)."""
    for sweep, args in plan:
        if not args.resume:
            continue
        record = read_record(storage_location(args))
        if record is None:  # validate() says what is missing
            continue
        _apply_seed_list(sweep, getattr(args, "seed_list", None))  # as validate() does
        recorded = _recorded_experiment(record, build, args.name)
        if isinstance(recorded, str):
            print(f"warning: --resume {args.name}: {recorded}; the recorded settings apply, "
                  "flags given now that differ from them do not", file=sys.stderr)
            continue
        problem = resume_problem(recorded, (sweep, args))
        if problem:
            raise SweepError(f"--resume {args.name}: {problem}; give the recorded flags, or "
                             "choose another --name for a new experiment")


def _recorded_experiment(record: dict[str, Any], build, name: str):
    """The recorded (sweep, args) of experiment ``name``, or why it cannot be had."""
    argv = record.get("argv")
    if not isinstance(argv, list):
        return "its record has no flags to compare with"
    quiet = io.StringIO()
    try:
        with contextlib.redirect_stderr(quiet), contextlib.redirect_stdout(quiet):
            plan = build([str(a) for a in argv])
    except SystemExit:  # argparse: a recorded flag this sweep no longer knows
        lines = quiet.getvalue().strip().splitlines()
        return f"its recorded flags no longer parse ({lines[-1] if lines else 'argparse'})"
    except (SweepError, ValueError, TypeError) as err:
        return f"its recorded flags no longer build a grid ({err})"
    for sweep, args in plan:
        if args.name == name:
            _apply_seed_list(sweep, getattr(args, "seed_list", None))
            return sweep, args
    return f"its recorded flags build no experiment named {name}"


def resume_problem(recorded: tuple[Sweep, argparse.Namespace],
                   given: tuple[Sweep, argparse.Namespace]) -> str | None:
    """What differs between a recorded and a given experiment that a resume cannot apply
    (one clause, ``--flag recorded → given`` per flag), or None."""
    (old_sweep, old_args), (new_sweep, new_args) = recorded, given
    return _problem(_grid(old_sweep) == _grid(new_sweep), old_args, new_args,
                    lambda: "the grid differs from the recorded one: "
                    + _grid_difference(old_sweep, new_sweep))


def _problem(same_grid: bool, old_args: argparse.Namespace, new_args: argparse.Namespace,
             grid_difference: Callable[[], str]) -> str | None:
    flags = _differing_flags(old_args, new_args)
    if same_grid:
        flags = [(key, old, new) for key, old, new in flags if key in KEPT_BY_TUNE]
        if not flags:
            return None
    elif not flags:  # the same flags built another grid: the code changed since
        return grid_difference()
    return "recorded with other settings: " + ", ".join(
        f"--{key.replace('_', '-')} {_show(old)} → {_show(new)}" for key, old, new in flags)


def write_tuned_record(exp_dir: Path, argv: Sequence[str]) -> None:
    """A ``--tune`` run's flags, kept from its first start (its final runs' record comes
    only after the search)."""
    path = exp_dir / TUNED_RECORD_FILE
    if not path.exists():
        path.write_text(json.dumps({"sweep": Path(sys.argv[0]).name, "argv": list(argv)},
                                   indent=2))


def check_tuned_resume(exp_dir: Path, given: tuple[Any, Any, argparse.Namespace],
                       build: Callable[[Sequence[str] | None], Any]) -> None:
    """The resume rule for a ``--tune`` run: its arms and search settings are its grid."""
    record = None
    for path in (exp_dir / TUNED_RECORD_FILE, exp_dir / FINAL_DIR / EXPERIMENT_FILE):
        if record is None and path.is_file():
            try:
                record = json.loads(path.read_text())
            except ValueError:
                pass
    name = given[2].name
    if record is None or not isinstance(record.get("argv"), list):
        print(f"warning: --resume {name}: no record of its flags (started before they were "
              "recorded); the recorded settings apply, flags given now that differ from "
              "them do not", file=sys.stderr)
        return
    quiet = io.StringIO()
    try:
        with contextlib.redirect_stderr(quiet), contextlib.redirect_stdout(quiet):
            old = build([str(a) for a in record["argv"]])
    except (SystemExit, SweepError, ValueError, TypeError):
        print(f"warning: --resume {name}: its recorded flags no longer parse; the recorded "
              "settings apply, flags given now that differ from them do not", file=sys.stderr)
        return

    def grid(plan) -> str:
        arms, settings, _ = plan
        return json.dumps([[dataclasses.asdict(a) for a in arms], dataclasses.asdict(settings)],
                          sort_keys=True, default=str)

    problem = _problem(grid(old) == grid(given), old[2], given[2],
                       lambda: "its arms or search settings differ from the recorded ones")
    if problem:
        raise SweepError(f"--resume {name}: {problem}; give the recorded flags, or choose "
                         "another --name for a new experiment")


def _differing_flags(old: argparse.Namespace, new: argparse.Namespace):
    a, b = vars(old), vars(new)
    out = []
    for key in sorted(set(a) | set(b)):
        if key.startswith("_") or key in FREE_ON_RESUME:
            continue
        x, y = a.get(key), b.get(key)
        if key == "data_dir":
            x, y = _path(x), _path(y)
        if x != y:
            out.append((key, x, y))
    return out


def _path(value: Any) -> Any:
    return str(Path(value).expanduser().resolve()) if isinstance(value, str) else value


def _grid(sweep: Sweep) -> tuple[str, str]:
    """The kind and every grid point, as canonical JSON (NaN equals NaN)."""
    return sweep.kind, json.dumps(sweep.points(), sort_keys=True, default=str)


def _grid_difference(old: Sweep, new: Sweep) -> str:
    a, b = old.points(), new.points()
    if old.kind != new.kind:
        return f"kind {old.kind} → {new.kind}"
    if len(a) != len(b):
        return f"{len(a)} trials → {len(b)}"
    for x, y in zip(a, b):  # the first point that differs, field by field
        fields = sorted(k for k in set(x) | set(y)
                        if json.dumps(x.get(k), default=str) != json.dumps(y.get(k), default=str))
        if fields:
            return ", ".join(f"{k} {_show(x.get(k))} → {_show(y.get(k))}" for k in fields)
    return "the order of its trials"


def _show(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return str(value)
