"""Milliseconds per training step: MLP vs ADN with a one-hot and with a 784-wide context.

One step = forward, loss, backward, fused Adam, masks re-applied, at batch 256 on random
28x28 inputs; the ADN and the MLP are the permuted-MNIST study's networks (its presets,
``PMNIST_NETWORKS``: 784-2048-2048-10, k-winners 5%, weight sparsity 0.5, 10 segments per
unit), the ADN's context one row broadcast over the batch as the continual
experiment passes it: a one-hot task id (10 wide) or a prototype (784 wide, segments
2048 x 10 x 784 per layer). Arms are interleaved in blocks of ``--steps`` steps so load
changes hit all alike; the ratio uses median CPU time per step (``time.process_time``),
which a machine busy with other work disturbs less than wall time.

    python benchmarks/dendrites_step_speed.py [--rounds 6] [--steps 5] [--threads 1]
        [--default-malloc]

Runs against any checkout of the package that has ``PMNIST_NETWORKS`` (put it first on
PYTHONPATH) to compare versions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F

from sparsenet.continual.presets import PMNIST_NETWORKS
from sparsenet.engine import setup_torch
from sparsenet.models import build_model
from sparsenet.models.masks import MaskEnforcer

BATCH = 256


def study_model(name: str, **kwargs) -> torch.nn.Module:
    """Network ``name`` as the permuted-MNIST study builds it."""
    return build_model(name, (1, 28, 28), 10, **PMNIST_NETWORKS.model_defaults(name), **kwargs)


def adn(context_dim: int) -> torch.nn.Module:
    return study_model("active_dendrites_mlp", context_dim=context_dim)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per arm and round")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--default-malloc", action="store_true",
                        help="leave glibc's malloc as it is (setup_torch keeps freed memory)")
    args = parser.parse_args()
    if args.default_malloc:
        torch.set_num_threads(args.threads)
        torch.manual_seed(0)
    else:
        setup_torch(args.threads, seed=0, device="cpu")
    arms = {"mlp": (study_model("mlp"), None),
            "adn one-hot (10)": (adn(10), torch.eye(10)[3:4]),
            "adn prototype (784)": (adn(784), torch.randn(1, 784))}
    x, y = torch.randn(BATCH, 1, 28, 28), torch.randint(0, 10, (BATCH,))
    parts = {name: (torch.optim.Adam(m.parameters(), lr=5e-4, fused=True), MaskEnforcer(m),
                    None if c is None else c.expand(BATCH, -1))
             for name, (m, c) in arms.items()}

    def step(name: str) -> None:
        model, (opt, enforce, context) = arms[name][0], parts[name]
        out = model(x) if context is None else model(x, context)
        loss = F.cross_entropy(out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        enforce()

    cpu: dict[str, list[float]] = {name: [] for name in arms}
    wall: dict[str, list[float]] = {name: [] for name in arms}
    load_before = os.getloadavg()[0]
    for _ in range(args.rounds):
        for name in arms:
            step(name)  # warm: allocator, Adam state
            c, w = time.process_time(), time.perf_counter()
            for _ in range(args.steps):
                step(name)
            cpu[name].append((time.process_time() - c) / args.steps * 1e3)
            wall[name].append((time.perf_counter() - w) / args.steps * 1e3)
    base = statistics.median(cpu["mlp"])
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak memory {peak:.2f} GiB; host memory kept: {not args.default_malloc}")
    print(f"batch {BATCH}, {torch.get_num_threads()} thread(s), fused Adam; load average "
          f"{load_before:.2f} -> {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print("| model | CPU ms/step (median) | wall ms/step (median) | x MLP (CPU) |\n|---|---|---|---|")
    for name in arms:
        med = statistics.median(cpu[name])
        print(f"| {name} | {med:.1f} | {statistics.median(wall[name]):.1f} | {med / base:.2f} |")


if __name__ == "__main__":
    main()
