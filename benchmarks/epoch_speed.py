"""Seconds per training epoch of LeNet-300-100 on Fashion-MNIST, three ways, side by side.

(a) sparsenet's engine: in-memory tensors, index-sliced batches, masks re-applied per step;
(b) a bare PyTorch loop over the same tensors (no masks): the floor;
(c) the paper's style: a torchvision dataset with per-sample transforms, a DataLoader, and
    gradient masking through numpy on the CPU after every backward pass.

Targets (design notes): (a) at least 5x faster than (c), and within 1.25x of (b).

    python benchmarks/epoch_speed.py [--threads 1] [--repeats 2] [--batch-size 60]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from sparsenet.data import load_dataset
from sparsenet.engine import train_epoch
from sparsenet.models import build_model
from sparsenet.models.masks import random_mask, set_mask

from paper_style import DEBIAN_FASHION, torchvision_root



def masked_lenet(shape, classes, sparsity: float, seed: int = 0):
    torch.manual_seed(seed)
    model = build_model("lenet300_100", shape, classes)
    g = torch.Generator().manual_seed(seed)
    for _, module, _ in model.prunable_layers("fc"):
        set_mask(module, random_mask(module.weight.shape, sparsity, g))
    return model


def time_engine(ds, x, y, args) -> float:
    model = masked_lenet(ds.info.shape, ds.info.num_classes, args.sparsity)
    opt = torch.optim.Adam(model.parameters(), lr=1.2e-3)
    g = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    train_epoch(model, opt, x, y, batch_size=args.batch_size, generator=g)
    return time.perf_counter() - start


def time_bare(ds, x, y, args) -> float:
    model = masked_lenet(ds.info.shape, ds.info.num_classes, args.sparsity)
    opt = torch.optim.Adam(model.parameters(), lr=1.2e-3)
    g = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    model.train()
    order = torch.randperm(x.shape[0], generator=g)
    for i in range(0, x.shape[0], args.batch_size):
        idx = order[i:i + args.batch_size]
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def time_paper_style(ds, args, root: Path) -> float:
    from torchvision import datasets, transforms

    transform = transforms.Compose([transforms.ToTensor(),
                                    transforms.Normalize(ds.info.mean, ds.info.std)])
    train = datasets.FashionMNIST(str(root), train=True, download=False, transform=transform)
    loader = torch.utils.data.DataLoader(train, batch_size=args.batch_size, shuffle=True,
                                         num_workers=0)
    model = masked_lenet(ds.info.shape, ds.info.num_classes, args.sparsity)
    opt = torch.optim.Adam(model.parameters(), lr=1.2e-3)
    weights = [m.weight for _, m, _ in model.prunable_layers("fc")]
    start = time.perf_counter()
    model.train()
    for xb, yb in loader:
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        # The paper's code: move every weight and gradient to numpy, zero the gradient of
        # pruned weights, move it back (with abs() fixed; the original compared w < eps).
        for weight in weights:
            w = weight.data.cpu().numpy()
            grad = weight.grad.data.cpu().numpy()
            grad = np.where(np.abs(w) < 1e-6, 0, grad)
            weight.grad.data = torch.from_numpy(grad).to(weight.device)
        opt.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2, help="best of N epochs per method")
    parser.add_argument("--batch-size", type=int, default=60)
    parser.add_argument("--sparsity", type=float, default=0.8, help="mask sparsity of FC layers")
    args = parser.parse_args()
    if not DEBIAN_FASHION.exists():
        raise SystemExit("needs Fashion-MNIST offline: apt-get install dataset-fashion-mnist")
    torch.set_num_threads(args.threads)
    ds = load_dataset("fashion_mnist", val_fraction=0.0)
    x, y = ds.normalize(ds.train_x), ds.train_y
    root = torchvision_root()
    try:
        timings = {
            "(a) sparsenet engine": min(time_engine(ds, x, y, args) for _ in range(args.repeats)),
            "(b) bare PyTorch loop": min(time_bare(ds, x, y, args) for _ in range(args.repeats)),
            "(c) paper-style loop": min(time_paper_style(ds, args, root) for _ in range(args.repeats)),
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)
    a, b, c = timings.values()
    print(f"LeNet-300-100, fashion_mnist 60k, batch {args.batch_size}, Adam, "
          f"{args.threads} thread(s), best of {args.repeats}")
    print("| loop | s/epoch |\n|---|---|")
    for name, seconds in timings.items():
        print(f"| {name} | {seconds:.2f} |")
    print(f"\n(c)/(a) = {c / a:.1f}x faster (target >= 5x); (a)/(b) = {a / b:.2f} (target <= 1.25)")


if __name__ == "__main__":
    main()
