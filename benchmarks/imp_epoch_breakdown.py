"""Where one IMP epoch's time goes, and how close the engine is to the machine's matmul floor.

One epoch of LeNet-300-100 at the paper's batch 200 (the claim-1 budget is ~1,000 such epochs
per trial), timed phase by phase on the same in-memory tensors IMP uses:

- forward + backward, optimizer step (plain vs fused Adam), mask re-application, and the
  per-epoch evaluation of the validation and test sets;
- the floor: the same epoch's matrix products alone (forward, weight-gradient and
  input-gradient ``torch.mm`` of every layer and batch, no autograd, no optimizer), and its
  FLOPs divided by that time (what the machine sustains on these shapes).

    python benchmarks/imp_epoch_breakdown.py [--dataset mnist] [--data-dir DIR] [--threads 1]

Uses any dataset `load_dataset` knows (MNIST with --data-dir pointing at its idx files,
fashion_mnist from the Debian package, or `synthetic` anywhere).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from sparsenet.data import load_dataset
from sparsenet.engine import evaluate
from sparsenet.models import build_model
from sparsenet.models.masks import MaskEnforcer, random_mask, set_mask


@dataclass
class Phases:
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, dt: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + dt


def masked_lenet(shape, classes, sparsity: float):
    model = build_model("lenet300_100", shape, classes, seed=0)
    g = torch.Generator().manual_seed(0)
    for _, module, _ in model.prunable_layers("fc"):
        set_mask(module, random_mask(module.weight.shape, sparsity, g))
    return model


def timed_epoch(model, x, y, batch: int, fused: bool) -> Phases:
    """One training epoch as IMP runs it, with a timer around each phase."""
    opt = torch.optim.Adam(model.parameters(), lr=1.2e-3, weight_decay=1e-4, fused=fused or None)
    enforce = MaskEnforcer(model)
    order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0))
    p = Phases()
    model.train()
    for start in range(0, x.shape[0], batch):
        t0 = time.perf_counter()
        idx = order[start:start + batch]
        loss = F.cross_entropy(model(x.index_select(0, idx)), y.index_select(0, idx))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t1 = time.perf_counter()
        opt.step()
        t2 = time.perf_counter()
        enforce()
        t3 = time.perf_counter()
        p.add("forward + backward", t1 - t0)
        p.add("optimizer step", t2 - t1)
        p.add("mask re-application", t3 - t2)
    return p


def matmul_floor(model, n: int, batch: int) -> tuple[float, float]:
    """(seconds, FLOPs) of the epoch's matrix products alone, same shapes and order."""
    weights = [m.weight.detach() for _, m, _ in model.prunable_layers("fc")]
    dims = [weights[0].shape[1]] + [w.shape[0] for w in weights]
    flops = 0.0
    inputs = {b: (torch.randn(b, dims[0]), torch.randn(b, dims[-1]))  # made before timing
              for b in {min(batch, n - b0) for b0 in range(0, n, batch)}}
    start = time.perf_counter()
    for b0 in range(0, n, batch):
        b = min(batch, n - b0)
        acts = [inputs[b][0]]
        for w in weights:  # forward
            acts.append(torch.mm(acts[-1], w.t()))
        grad = inputs[b][1]
        for i in reversed(range(len(weights))):  # weight grads, then input grads but the first
            torch.mm(grad.t(), acts[i])
            if i > 0:
                grad = torch.mm(grad, weights[i])
        for i, w in enumerate(weights):
            flops += 2.0 * b * w.numel() * (3 if i > 0 else 2)
    return time.perf_counter() - start, flops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--sparsity", type=float, default=0.0,
                        help="mask sparsity of the FC layers (0: the dense round 0)")
    parser.add_argument("--repeats", type=int, default=3, help="best of N epochs")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ds = load_dataset(args.dataset, args.data_dir, val_fraction=0.1, seed=0)
    x, y = ds.normalize(ds.train_x), ds.train_y
    vx, tx = ds.normalize(ds.val_x), ds.normalize(ds.test_x)

    rows: dict[str, float] = {}
    for fused in (False, True):
        best = None
        for _ in range(args.repeats):
            model = masked_lenet(ds.info.shape, ds.info.num_classes, args.sparsity)
            p = timed_epoch(model, x, y, args.batch_size, fused)
            if best is None or sum(p.seconds.values()) < sum(best.seconds.values()):
                best = p
        label = "fused Adam" if fused else "plain Adam"
        for name, sec in best.seconds.items():
            rows[f"{name} ({label})" if name == "optimizer step" else name] = sec
        rows[f"training total ({label})"] = sum(best.seconds.values())
    model = masked_lenet(ds.info.shape, ds.info.num_classes, args.sparsity)
    t0 = time.perf_counter()
    evaluate(model, vx, ds.val_y, batch_size=1000)
    evaluate(model, tx, ds.test_y, batch_size=1000)
    rows["evaluation (validation + test)"] = time.perf_counter() - t0
    floor_s, flops = min(matmul_floor(model, x.shape[0], args.batch_size)
                         for _ in range(args.repeats))
    rows["matmul floor (same products, no autograd)"] = floor_s

    engine = rows["training total (fused Adam)"] + rows["evaluation (validation + test)"]
    print(f"LeNet-300-100, {args.dataset} {x.shape[0]} training images, batch "
          f"{args.batch_size}, {args.threads} thread(s), best of {args.repeats}")
    print("| phase | s/epoch |\n|---|---|")
    for name, sec in rows.items():
        print(f"| {name} | {sec:.3f} |")
    print(f"\nIMP epoch as run (fused Adam + evaluation): {engine:.2f} s; matmul floor "
          f"{floor_s:.2f} s ({flops / floor_s / 1e9:.1f} GFLOP/s sustained by torch.mm): "
          f"the engine is {engine / floor_s:.2f}x the floor.")


if __name__ == "__main__":
    main()
