"""Seconds per training epoch: active dendrites MLP vs a plain MLP of the same width.

Both train one epoch of Fashion-MNIST (60k 28x28 images, batch 256, Adam) through the
project's engine (`train_epoch`, masks enforced after every step). Both are the permuted-MNIST
study's networks (its presets, ``PMNIST_NETWORKS``). The ADN: 784-2048-2048-10, k-winners
5%, weight sparsity 0.5 (static mask), 10 dendritic segments per hidden unit, one-hot task context (dim 10) or, with ``--contexts onehot
prototype``, also Numenta's 784-wide prototype context (segments 2048 x 10 x 784 per
layer), broadcast over the batch as the continual experiment passes it. The plain MLP has
the same widths, ReLU, dense weights, no context. Every model uses the fused Adam and the
host-memory setting the experiments use (``setup_torch``).

Target (design notes): ADN epoch <= 1.3x the MLP's (a naive implementation: about 1.6x).
Epochs of the two models are interleaved so a change in machine load hits both alike;
the table shows every epoch, the median and the minimum (least disturbed) per model.

    python benchmarks/dendrites_speed.py [--threads 2] [--repeats 2] [--device cpu]
        [--contexts onehot prototype] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from sparsenet.continual.presets import PMNIST_NETWORKS
from sparsenet.data import load_dataset
from sparsenet.engine import resolve_device, setup_torch, train_epoch
from sparsenet.models import build_model

from interleave import interleaved_epochs

NUM_TASKS = 10


def build(name: str, shape, classes: int, context_dim: int = NUM_TASKS,
          seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    if name == "mlp":
        return build_model("mlp", shape, classes, **PMNIST_NETWORKS.model_defaults("mlp"))
    return build_model("active_dendrites_mlp", shape, classes, context_dim=context_dim,
                       **PMNIST_NETWORKS.model_defaults("active_dendrites_mlp"))


def task_context(kind: str, x: torch.Tensor) -> torch.Tensor:
    """One task's context: a one-hot id, or the mean input of the task (a prototype)."""
    if kind == "onehot":
        context = torch.zeros(1, NUM_TASKS, device=x.device)
        context[0, 3] = 1.0
        return context
    return x.flatten(1).mean(0, keepdim=True)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="timed epochs per model")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--dataset", default="fashion_mnist", help="any 28x28 dataset (mnist)")
    parser.add_argument("--limit", type=int, default=0,
                        help="use only the first N training images (0: all 60k)")
    parser.add_argument("--contexts", nargs="+", choices=("onehot", "prototype"),
                        default=["onehot"], help="ADN arms by task context (default onehot)")
    args = parser.parse_args()

    device = setup_torch(args.threads, seed=0, device=args.device)
    ds = load_dataset(args.dataset, args.data_dir, val_fraction=0.0, seed=0).to(device)
    x = ds.normalize(ds.train_x)
    y = ds.train_y
    if args.limit:
        x, y = x[:args.limit], y[:args.limit]
    shape, classes = tuple(ds.info.shape), ds.info.num_classes
    models = {"mlp": build("mlp", shape, classes).to(device)}
    contexts: dict[str, torch.Tensor | None] = {"mlp": None}
    for kind in args.contexts:
        name = f"adn_{kind}"
        contexts[name] = task_context(kind, x)
        models[name] = build("adn", shape, classes, contexts[name].shape[1]).to(device)
    optims = {name: torch.optim.Adam(m.parameters(), lr=5e-4, fused=True)
              for name, m in models.items()}

    def one_epoch(name: str, xs: torch.Tensor, ys: torch.Tensor, seed: int) -> tuple[float, float]:
        """(wall seconds, CPU seconds of this process): CPU time is less load-sensitive."""
        g = torch.Generator().manual_seed(seed)
        sync(device)
        start, cpu_start = time.perf_counter(), time.process_time()
        train_epoch(models[name], optims[name], xs, ys, batch_size=args.batch_size,
                    generator=g, context=contexts[name])
        sync(device)
        return time.perf_counter() - start, time.process_time() - cpu_start

    for name in models:  # warm-up: allocator, kernels, Adam state
        one_epoch(name, x[:2048], y[:2048], seed=99)

    load_before = os.getloadavg()
    times, cpu = interleaved_epochs(models, one_epoch, x, y, args.repeats)
    load_after = os.getloadavg()

    print(f"device {device}, torch threads {torch.get_num_threads()}, "
          f"{x.shape[0]} images/epoch, batch {args.batch_size}, fused Adam")
    print(f"load average (1/5/15 min) before {load_before[0]:.2f}/{load_before[1]:.2f}/"
          f"{load_before[2]:.2f}, after {load_after[0]:.2f}/{load_after[1]:.2f}/"
          f"{load_after[2]:.2f}; cores {os.cpu_count()}")
    print(f"{'model':<24} {'wall s per epoch':<28} {'median s':>9} {'min s':>8} "
          f"{'CPU s (min)':>12}")
    for name, ts in times.items():
        epochs = ", ".join(f"{t:.2f}" for t in ts)
        print(f"{name:<24} {epochs:<28} {statistics.median(ts):>9.2f} {min(ts):>8.2f} "
              f"{min(cpu[name]):>12.2f}")
    for name in models:
        if name == "mlp":
            continue
        ratio_med = statistics.median(times[name]) / statistics.median(times["mlp"])
        ratio_min = min(times[name]) / min(times["mlp"])
        ratio_cpu = min(cpu[name]) / min(cpu["mlp"])
        print(f"ratio {name} / MLP: wall median {ratio_med:.2f}x, wall min {ratio_min:.2f}x, "
              f"CPU min {ratio_cpu:.2f}x")

if __name__ == "__main__":
    main()
