"""A plan's experiments side by side vs one after the other: wall time of the same plan.

The plan: split CIFAR with its task-id baselines (``sweeps/dendrites_split_cifar.py
--task-id-baselines``, two experiment folders, 5 trials of unequal length) at a small
budget on a local cluster of ``--num-cpus`` CPUs. Both arms run in this process, on the
same machine, interleaved (A B B A ...), each into fresh folders; one Ray cluster per arm
run (started and stopped by the plan runner).

    python benchmarks/plan_parallel.py [--num-cpus 2] [--pairs 1] [--warmup] [--models cnn]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def split_sweep():
    spec = importlib.util.spec_from_file_location(
        "dendrites_split_cifar", ROOT / "sweeps" / "dendrites_split_cifar.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def one_run(side_by_side: bool, args: argparse.Namespace, storage: Path) -> float:
    from analysis.headline import finish_sweep
    from sparsenet.tune.plan import sweep_main

    sweep = split_sweep()
    argv = ["--quick", "--task-id-baselines", "--dataset", args.dataset, "--tasks",
            str(args.tasks), "--epochs", str(args.epochs), "--no-augment",
            "--models", *args.models,
            "--num-cpus", str(args.num_cpus), "--storage", str(storage), "--name", "plan"]
    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = sweep_main(sweep.build, argv, after=finish_sweep, side_by_side=side_by_side)
    wall = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"the plan failed (exit {code}):\n{out.getvalue()[-2000:]}")
    return wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-cpus", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=1, help="A/B pairs, interleaved")
    parser.add_argument("--dataset", default="synthetic:3,32,32,10,600,200")
    parser.add_argument("--tasks", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2, help="per task")
    parser.add_argument("--models", nargs="+", default=["cnn", "sparse_cnn",
                                                        "active_dendrites_cnn"],
                        help="the plan's models (the baselines: those without dendrites)")
    parser.add_argument("--warmup", action="store_true",
                        help="one untimed run first (imports, caches)")
    args = parser.parse_args(argv)
    times: dict[str, list[float]] = {"side by side": [], "one after the other": []}
    order = []
    for pair in range(args.pairs):
        arms = [True, False] if pair % 2 == 0 else [False, True]
        order += arms
    with tempfile.TemporaryDirectory(prefix="sparsenet-plan-bench-") as tmp:
        if args.warmup:
            print(f"warm-up: {one_run(True, args, Path(tmp) / 'warmup'):.1f} s", flush=True)
        for i, side in enumerate(order):
            label = "side by side" if side else "one after the other"
            wall = one_run(side, args, Path(tmp) / f"run{i}")
            times[label].append(wall)
            print(f"run {i + 1}/{len(order)}: {label}: {wall:.1f} s", flush=True)
    a, b = statistics.mean(times["side by side"]), statistics.mean(times["one after the other"])
    trials = len(args.models) + len([m for m in args.models if "dendrites" not in m])
    print(f"plan: split CIFAR + task-id baselines ({trials} trials), {args.dataset}, {args.tasks} "
          f"tasks x {args.epochs} epochs, {args.num_cpus} CPUs, {args.pairs} pair(s)")
    print(f"side by side:        {a:.1f} s (mean)")
    print(f"one after the other: {b:.1f} s (mean)")
    print(f"ratio: {a / b:.2f} (side by side / one after the other)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
