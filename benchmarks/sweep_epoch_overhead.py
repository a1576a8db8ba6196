"""Where an IMP epoch inside a sweep spends more than the same epoch alone.

Prints, in one run and on the same data (LeNet-300-100, batch 200, 1 thread):

1. the bare epoch (``train_epoch`` + validation/test evaluation, what
   ``imp_epoch_breakdown.py`` calls "as run"), interleaved with
2. the experiment's epoch (``IMPExperiment.step()``: the same plus its bookkeeping), split
   into ordinary epochs and round ends (pruning, rewinding, writing the round's ticket),
   and the checkpoint a sweep writes at every round end (``state_dict`` + ``torch.save``);
3. with ``--pair``: the bare epoch's CPU time when a second process runs the same epochs
   at the same moment (two trials on two cores share caches and memory bandwidth),
   against its CPU time alone, alternated so load changes hit both.

CPU seconds (``time.process_time``) are reported beside wall seconds: on a machine busy
with other work they measure what this process itself spent.

    python benchmarks/sweep_epoch_overhead.py --dataset mnist --data-dir DIR [--rounds 2]
        [--epochs 3] [--pair] [--limit N]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import tempfile
import time
from pathlib import Path

import torch

from sparsenet.data import load_dataset
from sparsenet.engine import evaluate, setup_torch, train_epoch
from sparsenet.experiments.imp import IMPConfig, IMPExperiment
from sparsenet.models.masks import MaskEnforcer


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> tuple[float, float]:
    return time.perf_counter() - start[0], time.process_time() - start[1]


def bare_epoch(exp: IMPExperiment, model: torch.nn.Module, optimizer, seed: int) -> None:
    """The engine's epoch on the experiment's tensors, without the experiment around it."""
    c = exp.config
    train_epoch(model, optimizer, exp.train_x, exp.train_y, batch_size=c.batch_size,
                generator=torch.Generator().manual_seed(seed), enforcer=MaskEnforcer(model))
    evaluate(model, exp.val_x, exp.val_y, batch_size=c.eval_batch_size)
    evaluate(model, exp.test_x, exp.test_y, batch_size=c.eval_batch_size)


def _pair_worker(args: argparse.Namespace, start, done) -> None:
    setup_torch(1, seed=1, device="cpu")
    exp = _experiment(args, None)
    model = exp.model
    opt = torch.optim.Adam(model.parameters(), lr=1.2e-3, fused=True)
    start.wait()
    while not done.is_set():
        bare_epoch(exp, model, opt, seed=7)


def _experiment(args: argparse.Namespace, artifact_dir: Path | None) -> IMPExperiment:
    cfg = IMPConfig.from_preset("bain2022", dataset=args.dataset, rounds=args.rounds,
                                epochs_per_round=args.epochs)
    exp = IMPExperiment(cfg, data_dir=args.data_dir, device="cpu", artifact_dir=artifact_dir)
    if args.limit:
        exp.train_x, exp.train_y = exp.train_x[:args.limit], exp.train_y[:args.limit]
    return exp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per round")
    parser.add_argument("--limit", type=int, default=0, help="first N training images only")
    parser.add_argument("--pair", action="store_true", help="also time two processes at once")
    args = parser.parse_args()
    setup_torch(1, seed=0, device="cpu")

    with tempfile.TemporaryDirectory() as tmp:
        exp = _experiment(args, Path(tmp))
        twin = _experiment(args, None).model
        twin_opt = torch.optim.Adam(twin.parameters(), lr=1.2e-3, fused=True)
        bare_epoch(exp, twin, twin_opt, seed=99)  # warm-up
        rows: dict[str, list[tuple[float, float]]] = {
            "bare epoch (train + evaluation)": [], "experiment epoch (ordinary)": [],
            "experiment epoch (round end: prune, rewind, ticket)": [],
            "checkpoint at round end (state_dict + torch.save)": []}
        r = 0
        while not exp.done:
            t = clock()
            row = exp.step()
            key = ("experiment epoch (round end: prune, rewind, ticket)" if row["round_end"]
                   else "experiment epoch (ordinary)")
            rows[key].append(since(t))
            if row["round_end"]:
                t = clock()
                torch.save(exp.state_dict(), Path(tmp) / "checkpoint.pt")
                rows["checkpoint at round end (state_dict + torch.save)"].append(since(t))
            t = clock()
            bare_epoch(exp, twin, twin_opt, seed=r)
            rows["bare epoch (train + evaluation)"].append(since(t))
            r += 1

    print(f"IMP LeNet-300-100 (bain2022 preset), {args.dataset}, {exp.train_x.shape[0]} "
          f"training images, batch {exp.config.batch_size}, 1 thread; "
          f"{args.rounds + 1} rounds x {args.epochs} epochs")
    print("| what | n | wall s (median) | CPU s (median) |\n|---|---|---|---|")
    for name, values in rows.items():
        if values:
            print(f"| {name} | {len(values)} | {statistics.median(v[0] for v in values):.3f} | "
                  f"{statistics.median(v[1] for v in values):.3f} |")

    if args.pair:
        alone, paired = [], []
        ctx = mp.get_context("spawn")
        for _ in range(2):
            t = clock()
            bare_epoch(exp, twin, twin_opt, seed=5)
            alone.append(since(t))
            start, done = ctx.Event(), ctx.Event()
            proc = ctx.Process(target=_pair_worker, args=(args, start, done))
            proc.start()
            start.set()
            time.sleep(2.0)  # let the twin get past its set-up
            t = clock()
            bare_epoch(exp, twin, twin_opt, seed=5)
            paired.append(since(t))
            done.set()
            proc.join()
        print(f"| bare epoch, alone | {len(alone)} | {statistics.median(a[0] for a in alone):.3f}"
              f" | {statistics.median(a[1] for a in alone):.3f} |")
        print(f"| bare epoch, a second process training at once | {len(paired)} | "
              f"{statistics.median(p[0] for p in paired):.3f} | "
              f"{statistics.median(p[1] for p in paired):.3f} |")


if __name__ == "__main__":
    main()
