"""Does ``torch.compile`` speed up the IMP training step on this machine? Compile time too.

LeNet-300-100 at batch 200 on MNIST (or any dataset ``load_dataset`` knows), masks at 50%,
fused Adam. Two arms trained side by side in one process, epochs interleaved, CPU time
per epoch (``time.process_time``): eager, and compiled (one compiled function for forward
+ loss + backward; with ``--compile-update`` a second one for the Adam step + masks).
Compile time is the wall and CPU time of the first two compiled steps (what one trial
pays once; the compile workers' CPU is not in this process's CPU time).

    python benchmarks/compile_probe.py --dataset mnist --data-dir DIR [--limit 20000]
        [--compile-update] [--repeats 4]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from sparsenet.data import load_dataset
from sparsenet.engine import setup_torch
from sparsenet.models import build_model
from sparsenet.models.masks import MaskEnforcer, random_mask, set_mask


def lenet(shape):
    model = build_model("lenet300_100", shape, 10, seed=0)
    g = torch.Generator().manual_seed(0)
    for _, module, _ in model.prunable_layers("fc"):
        set_mask(module, random_mask(module.weight.shape, 0.5, g))
    opt = torch.optim.Adam(model.parameters(), lr=1.2e-3, weight_decay=1e-4, fused=True)
    return model, opt, MaskEnforcer(model)


def make_step(model, opt, enforce, compiled: bool, compile_update: bool):
    def forward_backward(xb, yb):
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        return loss.detach()

    def update():
        opt.step()
        enforce()

    if compiled:
        forward_backward = torch.compile(forward_backward)
        if compile_update:
            update = torch.compile(update)

    def step(xb, yb):
        opt.zero_grad(set_to_none=True)
        loss = forward_backward(xb, yb)
        update()
        return loss
    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--limit", type=int, default=20000, help="training images per epoch")
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--compile-update", action="store_true")
    args = parser.parse_args()
    setup_torch(1, seed=0, device="cpu")
    ds = load_dataset(args.dataset, args.data_dir, val_fraction=0.1, seed=0)
    x, y = ds.normalize(ds.train_x)[:args.limit], ds.train_y[:args.limit]
    shape = tuple(ds.info.shape)
    eager = make_step(*lenet(shape), compiled=False, compile_update=False)
    wall, cpu = time.perf_counter(), time.process_time()
    compiled = make_step(*lenet(shape), compiled=True, compile_update=args.compile_update)
    for _ in range(2):
        compiled(x[:200], y[:200])
    print(f"compile: {time.perf_counter() - wall:.1f} s wall, {time.process_time() - cpu:.1f} s "
          f"CPU in this process")

    def epoch(step, seed: int) -> float:
        order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))
        start = time.process_time()
        for s in range(0, x.shape[0], 200):
            idx = order[s:s + 200]
            step(x.index_select(0, idx), y.index_select(0, idx))
        return time.process_time() - start

    times: dict[str, list[float]] = {"eager": [], "compiled": []}
    for r in range(args.repeats):
        times["eager"].append(epoch(eager, r))
        times["compiled"].append(epoch(compiled, r))
    for name, ts in times.items():
        print(f"{name}: CPU s per epoch {', '.join(f'{t:.2f}' for t in ts)}; "
              f"median {statistics.median(ts):.3f}")
    gain = statistics.median(times["eager"]) / statistics.median(times["compiled"])
    print(f"eager / compiled: {gain:.3f}x ({x.shape[0]} images per epoch)")


if __name__ == "__main__":
    main()
