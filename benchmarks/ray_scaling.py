"""A fixed batch of short IMP trials run by the real sweep machinery (run_sweep: local Ray
cluster, Tune, checkpoints, result files), 1 trial at a time vs 2 at once, side by side.

Reported per run: the sweep's wall time (Ray start-up to shut-down), the trials' own
compute (Tune's ``time_total_s``: the seconds inside ``step()``, summed over trials), and
the overhead = wall - compute / concurrency, i.e. Ray start-up, trial processes and their
set-up (imports, data), Tune's bookkeeping (results, checkpoints, experiment state) and
shut-down. The overhead is then projected onto the same sweep with trials of
``--project-trial-s`` seconds each (overhead measured here / (overhead + ideal compute)).

Targets (design notes): on 2 cores, 2 concurrent single-thread trials finish the batch at
least 1.6x faster than 1 at a time; Tune start-up and bookkeeping under 15% of a sweep
whose trials each run a minute. Other load on the machine skews both: the load average is
printed with the table.

    python benchmarks/ray_scaling.py                 # 4 trials of ~20 s each (quiet 2 cores)
    python benchmarks/ray_scaling.py --epochs 20     # shorter trials
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from sparsenet.experiments.imp import IMPConfig
from sparsenet.tune.cli import Sweep, add_common_args
from sparsenet.tune.launch import run_sweep


@contextmanager
def quiet(log_path: Path):
    """Tune's progress tables and Ray's logs go to a file, not the benchmark's output."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "a") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def one_sweep(storage: Path, name: str, concurrency: int, trials: int, epochs: int,
              batch_size: int) -> dict:
    config = IMPConfig.from_preset("bain2022", dataset="digits", rounds=1,
                                   epochs_per_round=epochs, batch_size=batch_size,
                                   rate_hidden=0.5, rate_output=0.5)
    sweep = Sweep(base=config, axes={"seed": list(range(trials))})
    parser = argparse.ArgumentParser()
    add_common_args(parser, default_name=name)
    args = parser.parse_args(["--storage", str(storage), "--name", name, "--num-cpus", "2",
                              "--cpus-per-trial", "1", "--max-concurrent", str(concurrency)])
    args.seeds = trials
    start = time.perf_counter()
    with quiet(storage / "ray.log"):
        _, results = run_sweep(sweep, args, argv=[])
    wall = time.perf_counter() - start
    errors = [r.error for r in results if r.error is not None]
    if errors:
        raise RuntimeError(f"{len(errors)} trials failed; see {storage / 'ray.log'}")
    compute, steps = 0.0, 0
    for path in (storage / name).glob("*/result.json"):
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        compute += rows[-1]["time_total_s"]
        steps += len(rows)
    overhead = wall - compute / concurrency
    return dict(concurrency=concurrency, wall=wall, compute=compute, steps=steps,
                overhead=overhead, share=overhead / wall)


def ray_startup(storage: Path) -> float:
    """Seconds to start and stop a bare local Ray cluster (the fixed part of the overhead)."""
    import ray

    start = time.perf_counter()
    with quiet(storage / "ray.log"):
        ray.init(num_cpus=2, include_dashboard=False)
        ray.shutdown()
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=100,
                        help="epochs per round (2 rounds per trial; 100: ~20 s a trial)")
    parser.add_argument("--batch-size", type=int, default=10,
                        help="small batches make an epoch of 8x8 digits take real time")
    parser.add_argument("--project-trial-s", type=float, default=60.0)
    parser.add_argument("--keep", action="store_true", help="keep the results folder")
    args = parser.parse_args(argv)
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")

    storage = Path(tempfile.mkdtemp(prefix="ray_scaling_"))
    load_before = os.getloadavg()
    try:
        bare = ray_startup(storage)
        runs = [one_sweep(storage, f"c{c}", c, args.trials, args.epochs, args.batch_size)
                for c in (1, 2)]
    finally:
        if not args.keep:
            shutil.rmtree(storage, ignore_errors=True)
    load_after = os.getloadavg()

    print(f"{args.trials} IMP trials (digits, LeNet-300-100, 2 rounds x {args.epochs} epochs, "
          f"batch {args.batch_size}), local Ray cluster of 2 CPUs, 1 CPU and 1 thread a trial; "
          f"{os.cpu_count()} cores")
    print(f"load average (1, 5, 15 min) before: {', '.join(f'{x:.2f}' for x in load_before)}; "
          f"after: {', '.join(f'{x:.2f}' for x in load_after)}\n")
    print("| concurrent trials | sweep wall (s) | trial compute, summed (s) | compute / trial (s) "
          "| steps | overhead (s) | overhead share |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        print(f"| {r['concurrency']} | {r['wall']:.1f} | {r['compute']:.1f} | "
              f"{r['compute'] / args.trials:.1f} | {r['steps']} | {r['overhead']:.1f} | "
              f"{100 * r['share']:.0f}% |")
    one, two = runs
    speedup = one["wall"] / two["wall"]
    # Overhead of the 2-concurrent sweep, projected onto trials of --project-trial-s each.
    ideal = args.trials * args.project_trial_s / 2
    projected = two["overhead"] / (two["overhead"] + ideal)
    per_trial = one["compute"] / args.trials
    print()
    print("| figure | measured | target |")
    print("|---|---:|---:|")
    print(f"| speed-up of 2 concurrent over 1 at a time (sweep wall) | {speedup:.2f}x | >= 1.6x |")
    print(f"| compute-only speed-up (summed compute 1 / 2) | "
          f"{one['compute'] / two['compute'] * 2:.2f}x | (2.0x with no contention) |")
    print(f"| of which a bare Ray start + shut-down | {bare:.1f} s | |")
    print(f"| overhead share, this sweep (~{per_trial:.0f} s trials, 2 concurrent) | "
          f"{100 * two['share']:.0f}% | |")
    print(f"| overhead share projected, {args.trials} trials of {args.project_trial_s:.0f} s "
          f"at 2 concurrent | {100 * projected:.1f}% | < 15% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
