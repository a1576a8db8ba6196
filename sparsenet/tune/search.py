"""Fair baselines: every arm of a continual comparison gets its own learning rate and epochs.

Two stages in one command, because a baseline trained with another network's settings is
a strawman (an MLP at the ADN's Adam 5e-4 forgets far more than at its own 3e-6):

1. Search, per arm: a Ray Tune grid over ``lr x epochs_per_task`` on a proxy (``tasks``
   tasks, one ``seed``), scored on the *validation* split (the accuracy matrix is filled
   from ``val``; ``eval_split="val"``). ASHA stops grid points that trail after a task;
   only points that finished every proxy task can be chosen (an early stop saw fewer
   tasks, so less forgetting, and would look better than it is).
   ASHA's first rung is after ``grace_tasks`` tasks (default 3): earlier, mean accuracy
   only measures plasticity and would prune the slow, stable settings a continual
   baseline needs (an MLP at Adam 3e-6).
2. Final runs: every arm with its chosen values, the full setting, the test split and
   seeds that the search did not use.

``STORAGE/NAME/search/<arm>/`` holds each arm's Tune experiment, ``STORAGE/NAME/final/``
the final runs (the folder to report on); ``chosen.json`` and ``search_trials.csv`` (also
copied into ``final/``) record the grid, the proxy and the choice; the final rows carry
``arm``, ``lr``, ``epochs_per_task`` and ``hp_source="search"`` as config columns.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import math
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from sparsenet.schema import CHOSEN_FILE, EXPERIMENT_FILE, FINAL_DIR
from sparsenet.schema import SEARCH_TRIALS_FILE as TRIALS_FILE
from sparsenet.tune.cli import Sweep, SweepError, _check_data, _check_positive, experiment_dir
from sparsenet.tune.launch import describe_results, interrupted, run_sweep, start_ray
from sparsenet.tune.resume import check_tuned_resume, write_tuned_record

DEFAULT_LRS = (3e-6, 1e-5, 3e-5, 1e-4, 5e-4, 1e-3)
DEFAULT_EPOCHS = (3, 5)
SCHEDULERS = ("asha", "grid")
SCORE = "search_score"  # mean validation accuracy over the tasks seen so far
TIME = "tasks_done"


@dataclass(frozen=True)
class SearchGrid:
    """The values searched for every arm (the same grid for all arms: that is the point)."""

    lr: tuple[float, ...] = DEFAULT_LRS
    epochs_per_task: tuple[int, ...] = DEFAULT_EPOCHS

    def __post_init__(self) -> None:
        if not self.lr or not self.epochs_per_task:
            raise ValueError("the search grid needs at least one lr and one epochs value")
        bad_lr = [v for v in self.lr if not (math.isfinite(v) and v > 0)]
        if bad_lr:
            raise ValueError(f"--tune-lr values must be > 0, got {bad_lr[0]}")
        bad_epochs = [v for v in self.epochs_per_task if int(v) != v or v < 1]
        if bad_epochs:
            raise ValueError(f"--tune-epochs values must be whole numbers >= 1, "
                             f"got {bad_epochs[0]}")
        if len(set(self.lr)) != len(self.lr) or len(set(self.epochs_per_task)) != len(
                self.epochs_per_task):
            raise ValueError("the search grid has repeated values")

    def points(self) -> list[dict[str, Any]]:
        return [{"lr": lr, "epochs_per_task": e} for lr in self.lr for e in self.epochs_per_task]


@dataclass(frozen=True)
class SearchSettings:
    """The proxy the search runs on and how it prunes."""

    grid: SearchGrid
    tasks: int
    seed: int = 1000
    scheduler: str = "asha"
    # ASHA's first comparison: after one task there is nothing to forget yet, and the
    # fastest learner (the highest lr) wins; after 3, forgetting already counts.
    grace_tasks: int = 3
    reduction_factor: int = 3
    val_fraction: float = 0.1

    def __post_init__(self) -> None:
        if self.tasks < 1:
            raise ValueError(f"--tune-tasks must be >= 1, got {self.tasks}")
        if self.scheduler not in SCHEDULERS:
            raise ValueError(f"unknown --tune-scheduler {self.scheduler!r}; "
                             f"known: {', '.join(SCHEDULERS)}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"--tune-val-fraction must be in (0, 1), got {self.val_fraction}")
        if self.grace_tasks < 1 or self.reduction_factor < 2:
            raise ValueError("--tune-grace-tasks must be >= 1 and reduction_factor >= 2")


@dataclass(frozen=True)
class Arm:
    """One arm: a name and the flat ContinualConfig of its final runs (seed, lr and epochs
    are set by the search)."""

    name: str
    config: dict[str, Any]


def search_config(arm: Arm, settings: SearchSettings, point: dict[str, Any]) -> dict[str, Any]:
    """The flat config of one search trial: proxy tasks, search seed, scored on val."""
    return {**arm.config, **point, "num_tasks": settings.tasks, "seed": settings.seed,
            "eval_split": "val", "val_fraction": settings.val_fraction, "hp_source": "search"}


def final_config(arm: Arm, point: dict[str, Any], seed: int) -> dict[str, Any]:
    return {**arm.config, **point, "seed": seed, "eval_split": "test", "hp_source": "search"}


def validate_plan(arms: Sequence[Arm], settings: SearchSettings, final_seeds: Sequence[int]):
    """Every search trial and every final run any choice could give is a valid config."""
    from sparsenet.experiments.continual import ContinualConfig

    if not arms:
        raise SweepError("--tune needs at least one arm")
    names = [arm.name for arm in arms]
    if len(set(names)) != len(names):
        raise SweepError(f"arms must have distinct names, got {names}")
    if settings.seed in set(final_seeds):
        raise SweepError(f"--tune-seed {settings.seed} is also a final seed; the final runs "
                         "must use seeds the search did not see")
    for arm in arms:
        if settings.tasks > arm.config["num_tasks"]:
            raise SweepError(f"--tune-tasks {settings.tasks} is more than the final runs' "
                             f"{arm.config['num_tasks']} tasks")
        for point in settings.grid.points():
            try:
                ContinualConfig.from_flat(search_config(arm, settings, point))
                ContinualConfig.from_flat(final_config(arm, point, final_seeds[0]))
            except (ValueError, TypeError) as err:
                raise SweepError(f"arm {arm.name}: {err}") from err


def search_trainable():
    """ExperimentTrainable plus the two keys every row needs for ASHA: tasks finished and
    the mean validation accuracy over them (carried between task ends, from the matrix,
    so a restored trial reports the same numbers)."""
    from sparsenet.continual.metrics import mean_accuracy
    from sparsenet.tune.trainable import ExperimentTrainable

    class SearchTrainable(ExperimentTrainable):
        def step(self) -> dict[str, Any]:
            result = super().step()
            done = int(self.experiment.task)
            result[TIME] = done
            result[SCORE] = (mean_accuracy(self.experiment.matrix, done - 1) if done
                             else 0.0)
            return result

    return SearchTrainable


def _scheduler(settings: SearchSettings):
    if settings.scheduler == "grid" or settings.tasks <= settings.grace_tasks:
        return None
    from ray.tune.schedulers import ASHAScheduler

    return ASHAScheduler(time_attr=TIME, max_t=settings.tasks, grace_period=settings.grace_tasks,
                         reduction_factor=settings.reduction_factor)


def _search_arm(arm: Arm, settings: SearchSettings, args: argparse.Namespace,
                search_dir: Path, data_dir: str | None) -> list[dict[str, Any]]:
    """Run (or restore) one arm's grid; returns one record per grid point."""
    from ray import tune

    from sparsenet.experiments.continual import ContinualConfig

    trainable = tune.with_resources(search_trainable(),
                                    {"cpu": args.cpus_per_trial, "gpu": args.gpus_per_trial})
    path = search_dir / arm.name
    if args.resume and path.exists() and tune.Tuner.can_restore(str(path)):
        tuner = tune.Tuner.restore(str(path), trainable=trainable, resume_errored=True)
    else:
        space = {"experiment": ContinualConfig.kind, "data_dir": data_dir,
                 **search_config(arm, settings, settings.grid.points()[0]),
                 "lr": tune.grid_search(list(settings.grid.lr)),
                 "epochs_per_task": tune.grid_search(list(settings.grid.epochs_per_task))}
        tuner = tune.Tuner(
            trainable, param_space=space,
            tune_config=tune.TuneConfig(metric=SCORE, mode="max",
                                        scheduler=_scheduler(settings),
                                        max_concurrent_trials=args.max_concurrent or None,
                                        reuse_actors=False),
            run_config=tune.RunConfig(
                name=arm.name, storage_path=str(search_dir),
                checkpoint_config=tune.CheckpointConfig(num_to_keep=1, checkpoint_at_end=True),
                failure_config=tune.FailureConfig(max_failures=args.max_failures),
                verbose=1))
    grid = tuner.fit()
    started = [r for r in grid if r.config is not None]
    if len(started) < len(settings.grid.points()):
        # Interrupted (Ctrl-C): Tune returns without the grid points it had not started
        # (or lists them without a config); choosing now would pick from a partial grid.
        raise SearchInterrupted(f"the search of arm {arm.name} was interrupted "
                                f"({len(started)} of {len(settings.grid.points())} grid "
                                f"points started); continue it with the same command plus "
                                f"--resume")
    records = []
    for result in started:
        metrics = result.metrics or {}
        records.append({"arm": arm.name, "lr": result.config["lr"],
                        "epochs_per_task": result.config["epochs_per_task"],
                        TIME: metrics.get(TIME), "val_mean_accuracy": metrics.get(SCORE),
                        "error": None if result.error is None else type(result.error).__name__})
    return records


class SearchInterrupted(RuntimeError):
    """A search stopped before every grid point ended; its state is saved for --resume."""


def choose(records: Sequence[dict[str, Any]], tasks: int) -> dict[str, Any]:
    """The best validation score among grid points that finished all ``tasks`` proxy tasks
    (ties: the first in grid order)."""
    finished = [r for r in records if r.get(TIME) == tasks and r.get("error") is None
                and r.get("val_mean_accuracy") is not None]
    if not finished:
        raise RuntimeError("no search trial finished every proxy task; nothing to choose")
    best = max(finished, key=lambda r: r["val_mean_accuracy"])
    return {"lr": best["lr"], "epochs_per_task": int(best["epochs_per_task"]),
            "val_mean_accuracy": best["val_mean_accuracy"]}


def _write_records(exp_dir: Path, records: list[dict[str, Any]], chosen: dict[str, Any],
                   settings: SearchSettings, final_seeds: Sequence[int], final_tasks: int):
    for r in records:
        pick = chosen.get(r["arm"], {})
        r["chosen"] = (r["lr"] == pick.get("lr")
                       and r["epochs_per_task"] == pick.get("epochs_per_task"))
    with open(exp_dir / TRIALS_FILE, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["arm", "lr", "epochs_per_task", TIME,
                                               "val_mean_accuracy", "error", "chosen"])
        writer.writeheader()
        writer.writerows(records)
    record = {"chosen": chosen, "grid": asdict(settings.grid),
              "search": {**{k: v for k, v in asdict(settings).items() if k != "grid"},
                         "split": "val", "score": "mean accuracy over the tasks seen, "
                         "after the last proxy task"},
              "final": {"seeds": list(final_seeds), "num_tasks": final_tasks, "split": "test"}}
    (exp_dir / CHOSEN_FILE).write_text(json.dumps(record, indent=2))


def _final_sweep(arms: Sequence[Arm], chosen: dict[str, Any], seeds: Sequence[int]) -> Sweep:
    from sparsenet.experiments.continual import ContinualConfig

    flats = {arm.name: final_config(arm, {k: chosen[arm.name][k]
                                          for k in ("lr", "epochs_per_task")}, seeds[0])
             for arm in arms}
    first = flats[arms[0].name]
    varying = sorted(k for k in first if k not in ("arm", "seed")
                     and any(f[k] != first[k] for f in flats.values()))

    def value_of(key: str) -> Callable[[dict[str, Any]], Any]:
        return lambda flat: flats[flat["arm"]][key]

    return Sweep(base=ContinualConfig.from_flat(first),
                 axes={"arm": [arm.name for arm in arms], "seed": list(seeds)},
                 derived={key: value_of(key) for key in varying})


def tuned_main(build: Callable[[Sequence[str] | None], tuple[list[Arm], SearchSettings,
                                                              argparse.Namespace]],
               argv: Sequence[str] | None = None,
               after: Callable[[Path], Any] | None = None) -> int:
    """Search per arm, then the final runs; bad input: one line, exit 2, before Ray."""
    try:
        arms, settings, args = build(argv)
        _check_positive(args)
        if "://" in str(args.storage):
            raise SweepError("--tune writes its search and final runs to a folder (local or "
                             "shared); object storage URIs are not supported for --tune yet")
        # --seed-list names the final seeds (e.g. seeds added to an earlier run)
        seed_list = getattr(args, "seed_list", None)
        final_seeds = list(seed_list) if seed_list else list(range(args.seeds))
        validate_plan(arms, settings, final_seeds)
        _check_data(sorted({arm.config["dataset"] for arm in arms}), args.data_dir)
        exp_dir = experiment_dir(args)
        _check_tuned_storage(exp_dir, args.resume)
        if args.resume:
            check_tuned_resume(exp_dir, (arms, settings, args), build)
        n_search = len(arms) * len(settings.grid.points())
        if args.dry_run:
            print(f"{n_search} search trials ({settings.tasks} tasks, seed {settings.seed}, "
                  f"val split) then {len(arms) * len(final_seeds)} final runs (seeds "
                  f"{', '.join(map(str, final_seeds))}) into {exp_dir}")
            return 0
        return _run(arms, settings, args, argv, exp_dir, final_seeds, after)
    except SweepError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _check_tuned_storage(exp_dir: Path, resume: bool) -> None:
    try:
        exp_dir.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SweepError(f"results folder {exp_dir.parent} is not writable: {err}") from err
    exists = exp_dir.exists() and any(exp_dir.iterdir())
    if resume and not (exp_dir / "search").is_dir():
        raise SweepError(f"--resume: {exp_dir} is not a tuned experiment to resume")
    if exists and not resume:
        raise SweepError(f"{exp_dir} already holds results; pass --resume to continue it "
                         "or choose another --name")


def _run(arms, settings, args, argv, exp_dir: Path, final_seeds, after) -> int:
    import ray

    data_dir = str(Path(args.data_dir).expanduser().resolve()) if args.data_dir else None
    search_dir = exp_dir / "search"
    search_dir.mkdir(parents=True, exist_ok=True)
    write_tuned_record(exp_dir, argv if argv is not None else sys.argv[1:])
    records: list[dict[str, Any]] = []
    chosen: dict[str, Any] = {}
    start_ray(args)
    try:
        for arm in arms:
            arm_file = search_dir / f"{arm.name}.json"
            if arm_file.exists():  # a resumed run keeps an arm's finished search
                saved = json.loads(arm_file.read_text())
                arm_records, pick = saved["records"], saved["chosen"]
            else:
                try:
                    arm_records = _search_arm(arm, settings, args, search_dir, data_dir)
                except SearchInterrupted as err:
                    print(f"stopped: {err}", file=sys.stderr)
                    return 130
                try:
                    pick = choose(arm_records, settings.tasks)
                except RuntimeError as err:
                    print(f"error: arm {arm.name}: {err}", file=sys.stderr)
                    return 1
                arm_file.write_text(json.dumps({"records": arm_records, "chosen": pick}))
            records += arm_records
            chosen[arm.name] = pick
            print(f"search {arm.name}: lr={pick['lr']:g} epochs_per_task="
                  f"{pick['epochs_per_task']} (val mean accuracy "
                  f"{pick['val_mean_accuracy']:.4f})")
    finally:
        ray.shutdown()
    _write_records(exp_dir, records, chosen, settings, final_seeds,
                   arms[0].config["num_tasks"])
    if getattr(args, "tune_search_only", False):
        print(f"search done, choices in {exp_dir / CHOSEN_FILE}; the final runs: the same "
              "command without --tune-search-only, with --resume")
        return 0

    final_args = copy.copy(args)
    final_args.storage, final_args.name = str(exp_dir), FINAL_DIR
    final_args.resume = bool(args.resume and (exp_dir / FINAL_DIR / EXPERIMENT_FILE).exists())
    final_dir, results = run_sweep(_final_sweep(arms, chosen, final_seeds), final_args, argv)
    for name in (CHOSEN_FILE, TRIALS_FILE):
        shutil.copy(exp_dir / name, final_dir / name)
    if after is not None:
        after(final_dir)
    print(describe_results(final_dir, results))
    if interrupted(results, len(arms) * len(final_seeds)):
        print(f"stopped: the final runs in {final_dir} were interrupted; the same command "
              "with --resume continues them", file=sys.stderr)
        return 130
    return 1 if any(r.error is not None for r in results) else 0
