"""Training and evaluation loops over in-memory tensors.

Why not a DataLoader: every dataset here fits in memory, so a batch is an index slice of
a seeded permutation of tensors already on the device. That removes per-sample Python,
collation and host-to-device copies, which dominated the paper's loops. Masks are
enforced after each optimizer step so pruned and statically sparse weights stay exactly
zero whatever the optimizer (Adam moments and weight decay included).
"""

from __future__ import annotations

import os
import random
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sparsenet.host_memory import keep_freed_memory
from sparsenet.models.masks import MaskEnforcer

BatchTransform = Callable[[torch.Tensor], torch.Tensor]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` means CUDA when torch sees a GPU, else the CPU."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but torch sees no CUDA device")
    return torch.device(device)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def setup_torch(num_threads: int = 1, seed: int = 0,
                device: str | torch.device = "auto") -> torch.device:
    """Thread count from the CPUs a trial was given (oversubscription otherwise), seeds, device.

    Also keeps freed host memory for reuse (:mod:`sparsenet.host_memory`): large tensors
    allocated every step then cost no page faults.
    """
    if num_threads < 1:
        raise ValueError(f"num_threads must be >= 1, got {num_threads}")
    keep_freed_memory()
    torch.set_num_threads(int(num_threads))
    os.environ["OMP_NUM_THREADS"] = str(int(num_threads))
    seed_everything(seed)
    return resolve_device(device)


def model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def _context_for(context: torch.Tensor | None, idx: torch.Tensor | slice,
                 n_total: int, batch: int) -> torch.Tensor | None:
    """Per-sample contexts are sliced with the batch; a single context is broadcast."""
    if context is None:
        return None
    if context.dim() == 1:
        context = context.unsqueeze(0)
    if context.shape[0] == n_total and n_total != 1:
        return context[idx]
    if context.shape[0] != 1:
        raise ValueError(f"context has {context.shape[0]} rows; expected 1 or {n_total}")
    return context.expand(batch, -1)


def train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer,
                x: torch.Tensor, y: torch.Tensor, *, batch_size: int,
                generator: torch.Generator | None = None,
                context: torch.Tensor | None = None,
                batch_transform: BatchTransform | None = None,
                extra_loss: Callable[[], torch.Tensor] | None = None,
                after_step: Callable[[], None] | None = None,
                enforcer: MaskEnforcer | None = None) -> float:
    """One pass over ``x`` in a seeded random order; returns the mean training loss.

    ``extra_loss`` adds a regulariser (e.g. synaptic intelligence) to each batch's loss;
    ``after_step`` runs after the masks are re-applied (e.g. to update path integrals).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    model.train()
    enforcer = enforcer if enforcer is not None else MaskEnforcer(model)
    n = x.shape[0]
    order = torch.randperm(n, generator=generator).to(x.device)
    total = torch.zeros((), device=x.device)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        xb = x.index_select(0, idx)
        if batch_transform is not None:
            xb = batch_transform(xb)
        ctx = _context_for(context, idx, n, xb.shape[0])
        out = model(xb) if ctx is None else model(xb, ctx)
        loss = F.cross_entropy(out, y.index_select(0, idx))
        total += loss.detach() * xb.shape[0]
        if extra_loss is not None:
            loss = loss + extra_loss()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        enforcer()
        if after_step is not None:
            after_step()
    return float(total) / max(n, 1)


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, *, batch_size: int = 1000,
            context: torch.Tensor | None = None,
            x_transform: BatchTransform | None = None) -> torch.Tensor:
    """Predicted class per row of ``x`` (eval mode)."""
    model.eval()
    n = x.shape[0]
    preds = []
    for start in range(0, n, batch_size):
        sl = slice(start, start + batch_size)
        xb = x[sl]
        if x_transform is not None:
            xb = x_transform(xb)
        ctx = _context_for(context, sl, n, xb.shape[0])
        out = model(xb) if ctx is None else model(xb, ctx)
        preds.append(out.argmax(dim=1))
    if not preds:
        return torch.empty(0, dtype=torch.long, device=x.device)
    return torch.cat(preds)


def count_correct(model: nn.Module, x: torch.Tensor, y: torch.Tensor, **kwargs) -> int:
    return int((predict(model, x, **kwargs) == y).sum())


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 1000,
             context: torch.Tensor | None = None,
             x_transform: BatchTransform | None = None) -> float:
    """Accuracy as a fraction in [0, 1]; NaN for an empty set."""
    if x.shape[0] == 0:
        return float("nan")
    correct = count_correct(model, x, y, batch_size=batch_size, context=context,
                            x_transform=x_transform)
    return correct / x.shape[0]
