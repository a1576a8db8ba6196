"""Weight masks shared by static sparsity and pruning.

A mask is a buffer named ``weight_mask`` on the module that owns ``weight``. Keeping the
mask on the module (not in a side table) means it travels with ``state_dict()``,
``.to(device)`` and checkpoints. Masks are enforced by multiplying weights in place
after every optimizer step: Adam moments and weight decay would otherwise revive pruned
weights (a bug the peer code bases had).
"""

from __future__ import annotations

from typing import Iterator

import torch
from torch import nn

MASK_NAME = "weight_mask"


def set_mask(module: nn.Module, mask: torch.Tensor) -> None:
    """Attach (or replace) ``module.weight_mask`` and zero the masked weights now."""
    weight = module.weight
    if mask.shape != weight.shape:
        raise ValueError(f"mask shape {tuple(mask.shape)} != weight shape {tuple(weight.shape)}")
    mask = mask.to(device=weight.device, dtype=weight.dtype)
    if hasattr(module, MASK_NAME) and MASK_NAME in module._buffers:
        module._buffers[MASK_NAME].copy_(mask)
    else:
        module.register_buffer(MASK_NAME, mask.clone())
    with torch.no_grad():
        weight.mul_(module._buffers[MASK_NAME])


def get_mask(module: nn.Module) -> torch.Tensor | None:
    return module._buffers.get(MASK_NAME)


def masked_modules(model: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    for name, module in model.named_modules():
        if MASK_NAME in module._buffers:
            yield name, module


def random_mask(shape: torch.Size | tuple[int, ...], sparsity: float,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Exactly ``round(sparsity * n)`` zeros placed uniformly at random."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    n = 1
    for s in shape:
        n *= int(s)
    num_zero = int(round(sparsity * n))
    order = torch.randperm(n, generator=generator)
    mask = torch.ones(n)
    mask[order[:num_zero]] = 0.0
    return mask.view(*shape)


MASK_LAYOUTS = ("fan_in", "layer")


def fan_in_mask(shape: torch.Size | tuple[int, ...], sparsity: float,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Every output unit (row of dim 0) keeps exactly ``round((1 - sparsity) * fan_in)`` inputs.

    Numenta's ``SparseWeights`` / ``SparseWeights2d`` (and the paper's copy) draw each unit's
    inputs separately, so no unit is starved or favoured; :func:`random_mask` draws over the
    whole layer, so fan-ins vary (binomially) from unit to unit.
    """
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    out_units, fan_in = int(shape[0]), 1
    for s in shape[1:]:
        fan_in *= int(s)
    keep = int(round((1.0 - sparsity) * fan_in))
    keys = torch.rand(out_units, fan_in, generator=generator)
    idx = keys.topk(keep, dim=1, sorted=False).indices
    mask = torch.zeros(out_units, fan_in).scatter_(1, idx, 1.0)
    return mask.view(*[int(s) for s in shape])


def static_mask(shape: torch.Size | tuple[int, ...], sparsity: float, layout: str = "layer",
                generator: torch.Generator | None = None) -> torch.Tensor:
    """A random static mask: ``layout`` "layer" (:func:`random_mask`) or "fan_in"."""
    if layout not in MASK_LAYOUTS:
        raise ValueError(f"unknown mask layout {layout!r}; known: {', '.join(MASK_LAYOUTS)}")
    if layout == "fan_in":
        return fan_in_mask(shape, sparsity, generator)
    return random_mask(shape, sparsity, generator)


class MaskEnforcer:
    """Re-applies every mask of a model; built once, called after each optimizer step.

    Collecting (weight, mask) pairs up front keeps the per-step cost to one fused
    multiply per masked layer, with no module traversal on the hot path.
    """

    def __init__(self, model: nn.Module):
        self.refresh(model)

    def refresh(self, model: nn.Module) -> None:
        """Call again after masks are added or replaced (e.g. after a pruning round)."""
        self._pairs = [(m.weight, m._buffers[MASK_NAME]) for _, m in masked_modules(model)]

    @torch.no_grad()
    def __call__(self) -> None:
        for weight, mask in self._pairs:
            weight.mul_(mask)

    def __len__(self) -> int:
        return len(self._pairs)
