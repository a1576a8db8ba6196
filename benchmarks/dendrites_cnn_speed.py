"""Seconds per training epoch: the dendritic CNN vs the plain CNN at the same batch size.

All models train one epoch over the same 3x32x32 images (by default 10,000 random images,
the size of one split-CIFAR-10 task; ``--dataset folder:PATH`` reads real ones) through the
project's engine (`train_epoch`, masks enforced after every step, fused Adam) at one batch size
(default 128, the paper's batch for the dendritic CNN). Models: the split-CIFAR backbone
`cnn` (ReLU, dense), `sparse_cnn` and `active_dendrites_cnn` with the paper's chosen
settings (10 segments, one-hot context of 5 tasks, broadcast over the batch as the engine
passes it), and the same dendritic CNN with the conv gate computed the old way (output
times gate: `--no-unfolded` leaves it out).

Target (issue 15): dendritic CNN epoch <= 1.5x the plain CNN's (before: about 2.2x per image,
the gate over every (B, C, H, W) output being a third of the extra cost; now it is folded
into the conv weights, see `DendriticLayer`). Epochs are interleaved so load changes hit
every model alike; the ratio uses each model's least disturbed (minimum) CPU time.

    python benchmarks/dendrites_cnn_speed.py [--threads 1] [--repeats 2] [--images 10000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from sparsenet.engine import setup_torch, train_epoch
from sparsenet.models import build_model
from sparsenet.models.layers import DendriticLayer

from interleave import interleaved_epochs

NUM_TASKS = 5
SHAPE = (3, 32, 32)


def build(name: str, classes: int, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    if name == "cnn":
        return build_model("cnn", SHAPE, classes)
    if name == "sparse_cnn":
        return build_model("sparse_cnn", SHAPE, classes)
    model = build_model("active_dendrites_cnn", SHAPE, classes, context_dim=NUM_TASKS)
    if name == "active_dendrites_cnn_unfolded":
        for m in model.modules():
            if isinstance(m, DendriticLayer):
                m.fold = False
    return model


def images(args: argparse.Namespace, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    if args.dataset:
        from sparsenet.data import load_dataset
        ds = load_dataset(args.dataset, None, val_fraction=0.0, seed=0).to(device)
        return ds.normalize(ds.train_x[:args.images]), ds.train_y[:args.images] % 2
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.images, *SHAPE, generator=g)
    return x.to(device), torch.randint(0, 2, (args.images,), generator=g).to(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2, help="timed epochs per model")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--dataset", default=None, help="e.g. folder:/tmp/cifar10-jpeg")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-unfolded", action="store_true",
                        help="skip the dendritic CNN with the old (unfolded) conv gate")
    args = parser.parse_args()

    device = setup_torch(args.threads, seed=0, device=args.device)  # as the experiments run
    x, y = images(args, device)
    names = ["cnn", "sparse_cnn", "active_dendrites_cnn"]
    if not args.no_unfolded:
        names.append("active_dendrites_cnn_unfolded")
    models = {n: build(n, 2).to(device) for n in names}
    optims = {n: torch.optim.Adam(m.parameters(), lr=1e-3, fused=True) for n, m in models.items()}
    context = torch.zeros(1, NUM_TASKS, device=device)
    context[0, 1] = 1.0

    def one_epoch(name: str, xs: torch.Tensor, ys: torch.Tensor, seed: int) -> tuple[float, float]:
        g = torch.Generator().manual_seed(seed)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start, cpu_start = time.perf_counter(), time.process_time()
        train_epoch(models[name], optims[name], xs, ys, batch_size=args.batch_size,
                    generator=g, context=context if "dendrites" in name else None)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - start, time.process_time() - cpu_start

    for name in models:  # warm-up: allocator, kernels, Adam state
        one_epoch(name, x[:512], y[:512], seed=99)
    load_before = os.getloadavg()[0]
    wall, cpu = interleaved_epochs(models, one_epoch, x, y, args.repeats)
    print(f"device {device}, torch threads {torch.get_num_threads()}, {x.shape[0]} images/epoch, "
          f"batch {args.batch_size}, Adam; load average before {load_before:.2f}, "
          f"cores {os.cpu_count()}")
    print(f"{'model':<32} {'wall median s':>14} {'CPU min s':>10} {'ms CPU/image':>13} "
          f"{'x cnn (CPU min)':>16}")
    base = min(cpu["cnn"])
    for name in models:
        print(f"{name:<32} {statistics.median(wall[name]):>14.2f} {min(cpu[name]):>10.2f} "
              f"{1000 * min(cpu[name]) / x.shape[0]:>13.3f} {min(cpu[name]) / base:>16.2f}")
    ratio = min(cpu["active_dendrites_cnn"]) / base
    print(f"ratio dendritic CNN / CNN: {ratio:.2f}x CPU per epoch "
          f"(target <= 1.5x: {'meets' if ratio <= 1.5 else 'misses'})")


if __name__ == "__main__":
    main()
