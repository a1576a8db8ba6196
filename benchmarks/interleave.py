"""Epochs of several models interleaved, so that a change in machine load hits all alike.

Shared by the speed benchmarks (run as scripts: ``benchmarks/`` is on their import path).
"""

from __future__ import annotations

import os
from typing import Callable, Sequence


def interleaved_epochs(models: Sequence[str], one_epoch: Callable[..., tuple[float, float]],
                       x, y, repeats: int) -> tuple[dict[str, list[float]],
                                                    dict[str, list[float]]]:
    """``repeats`` rounds of one epoch per model (``one_epoch(name, x, y, seed=r)`` returns
    wall and CPU seconds); prints every epoch; returns wall and CPU seconds per model."""
    wall: dict[str, list[float]] = {name: [] for name in models}
    cpu: dict[str, list[float]] = {name: [] for name in models}
    for r in range(repeats):
        for name in models:
            w, c = one_epoch(name, x, y, seed=r)
            wall[name].append(w)
            cpu[name].append(c)
            print(f"  epoch {r + 1}/{repeats} {name}: {w:.2f} s wall, {c:.2f} s CPU "
                  f"(load {os.getloadavg()[0]:.2f})", flush=True)
    return wall, cpu
