"""Seconds to evaluate one LeNet-300-100 on the 10k Fashion-MNIST test images under
4 noise types x 6 levels, two ways, side by side in one run.

(a) sparsenet: noise added to the whole raw test set as tensors (exact pixel counts,
    seeded generator), normalized per evaluation batch (``evaluate_under_noise``);
(b) the paper's style: a torchvision dataset whose per-sample transform turns each image
    into a tensor, picks its noisy pixels with numpy and replaces them, then normalizes;
    a DataLoader batches the images; one pass per (type, level).

Target (design notes): (a) at least 10x faster than (b).

    python benchmarks/noise_speed.py [--threads 1] [--repeats 2] [--batch-size 1000]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from sparsenet.data import load_dataset
from sparsenet.experiments.noise import evaluate_under_noise
from sparsenet.models import build_model

from paper_style import DEBIAN_FASHION, torchvision_root

NOISES = ("set_2sigma", "zero", "abs_gaussian", "uniform")  # the paper's four
LEVELS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


class PerSampleNoise:
    """The paper's transform: numpy picks round(level * H * W) pixels of one image."""

    def __init__(self, kind: str, level: float, std: float, seed: int = 0):
        self.kind, self.level, self.std = kind, level, std
        self.rng = np.random.default_rng(seed)

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        a = img.numpy().copy()
        c, h, w = a.shape
        k = round(self.level * h * w)
        if k == 0:
            return torch.from_numpy(a)
        idx = self.rng.choice(h * w, k, replace=False)
        flat = a.reshape(c, h * w)
        if self.kind == "set_2sigma":
            flat[:, idx] = 2 * self.std
        elif self.kind == "zero":
            flat[:, idx] = 0.0
        elif self.kind == "abs_gaussian":
            flat[:, idx] = np.abs(self.rng.normal(0.0, self.std, size=(c, k)))
        else:  # uniform
            flat[:, idx] = self.rng.uniform(0.0, 2 * self.std, size=(c, k))
        return torch.from_numpy(a)


def time_batched(model, ds, args) -> tuple[float, dict]:
    start = time.perf_counter()
    out = evaluate_under_noise(model, ds.test_x, ds.test_y, normalize=ds.normalize,
                               mean=ds.info.mean, std=ds.info.std, noise_types=NOISES,
                               levels=LEVELS, noise_seed=0, batch_size=args.batch_size)
    return time.perf_counter() - start, out


@torch.no_grad()
def time_per_sample(model, ds, args, root: Path) -> tuple[float, dict]:
    from torchvision import datasets, transforms

    model.eval()
    out = {}
    start = time.perf_counter()
    for kind in NOISES:
        for level in LEVELS:
            transform = transforms.Compose([
                transforms.ToTensor(), PerSampleNoise(kind, level, ds.info.std[0]),
                transforms.Normalize(ds.info.mean, ds.info.std)])
            test = datasets.FashionMNIST(str(root), train=False, download=False,
                                         transform=transform)
            loader = torch.utils.data.DataLoader(test, batch_size=args.batch_size,
                                                 shuffle=False, num_workers=0)
            correct = 0
            for xb, yb in loader:
                correct += int((model(xb).argmax(1) == yb).sum())
            out[f"acc/{kind}/{level:g}"] = correct / len(test)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2, help="best of N runs per method")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--train-epochs", type=int, default=2,
                        help="train the net briefly first so accuracies mean something")
    args = parser.parse_args()
    if not DEBIAN_FASHION.exists():
        raise SystemExit("needs Fashion-MNIST offline: apt-get install dataset-fashion-mnist")
    torch.set_num_threads(args.threads)
    ds = load_dataset("fashion_mnist", val_fraction=0.0)
    model = build_model("lenet300_100", ds.info.shape, ds.info.num_classes, seed=0)
    if args.train_epochs:
        from sparsenet.engine import train_epoch
        opt = torch.optim.Adam(model.parameters(), lr=1.2e-3)
        g = torch.Generator().manual_seed(0)
        x = ds.normalize(ds.train_x)
        for _ in range(args.train_epochs):
            train_epoch(model, opt, x, ds.train_y, batch_size=200, generator=g)
    root = torchvision_root()
    try:
        a_runs = [time_batched(model, ds, args) for _ in range(args.repeats)]
        b_runs = [time_per_sample(model, ds, args, root) for _ in range(args.repeats)]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    a, acc_a = min(a_runs, key=lambda t: t[0])
    b, acc_b = min(b_runs, key=lambda t: t[0])
    n = len(NOISES) * len(LEVELS)
    print(f"LeNet-300-100, fashion_mnist 10k test images, {len(NOISES)} noise types x "
          f"{len(LEVELS)} levels = {n} passes, eval batch {args.batch_size}, "
          f"{args.threads} thread(s), best of {args.repeats}")
    print("| method | seconds | ms per 10k pass |\n|---|---|---|")
    print(f"| (a) sparsenet batched tensors | {a:.2f} | {1000 * a / n:.0f} |")
    print(f"| (b) per-sample transform + DataLoader | {b:.2f} | {1000 * b / n:.0f} |")
    print(f"\n(b)/(a) = {b / a:.1f}x faster (target >= 10x)")
    print("\naccuracy (a) vs (b) (different random pixels, same noise law):")
    for kind in NOISES:
        pairs = "  ".join(f"{lv:g}: {acc_a[f'acc/{kind}/{lv:g}']:.3f}/{acc_b[f'acc/{kind}/{lv:g}']:.3f}"
                          for lv in LEVELS)
        print(f"  {kind:13s} {pairs}")


if __name__ == "__main__":
    main()
