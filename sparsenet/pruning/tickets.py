"""What a network restarts from after a pruning round: the three ticket kinds.

- ``winning``: the pruned mask on the rewind point (the original init when k = 0, else the
  weights after k optimizer steps of round 0); biases and buffers are rewound too.
- ``random``: a random mask with the same per-layer survivor count, drawn afresh each
  round, on the same rewind point (tests whether the *mask* matters).
- ``reinit``: the learned mask on a fresh random init (tests whether the *init* matters).
"""

from __future__ import annotations

import torch
from torch import nn

from sparsenet.models.masks import MASK_NAME, random_mask, set_mask
from sparsenet.pruning.layers import PrunableLayer

TICKET_KINDS = ("winning", "random", "reinit")
# What a rewind restores: "all" parameters and buffers (sparsenet), the "prunable" layers'
# weights and biases only, or "prunable+biases": prunable weights and every bias, conv
# weights keep training across rounds (bainro/LTH main.py, original_initialization).
REWIND_SCOPES = ("all", "prunable", "prunable+biases")
WeightSnapshot = dict[str, torch.Tensor]


def snapshot(model: nn.Module) -> WeightSnapshot:
    """A detached copy of every parameter and buffer except the masks."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()
            if not k.endswith(MASK_NAME)}


@torch.no_grad()
def restore(model: nn.Module, snap: WeightSnapshot) -> None:
    """Copy ``snap`` into the model in place, then zero what the masks prune."""
    current = model.state_dict()
    missing = [k for k in current if not k.endswith(MASK_NAME) and k not in snap]
    if missing:
        raise KeyError(f"snapshot lacks {missing[:3]}")
    for key, value in snap.items():
        current[key].copy_(value)
    for module in model.modules():
        mask = module._buffers.get(MASK_NAME)
        if mask is not None:
            module.weight.mul_(mask)


def rewind_target(model: nn.Module, rewind_to: WeightSnapshot, layers: list[PrunableLayer],
                  scope: str = "all", keep_biases: bool = False) -> WeightSnapshot:
    """The snapshot a rewind restores: ``rewind_to`` for the keys in ``scope``, the live
    values elsewhere. ``keep_biases`` keeps every bias as trained (the paper's aliasing bug:
    its saved initial biases *are* the live tensors after the first rewind)."""
    if scope not in REWIND_SCOPES:
        raise ValueError(f"unknown rewind scope {scope!r}; known: {', '.join(REWIND_SCOPES)}")
    live = snapshot(model)
    prunable = {f"{layer.name}.{p}" for layer in layers for p in ("weight", "bias")}

    def rewound(key: str) -> bool:
        is_bias = key.endswith(".bias")
        if keep_biases and is_bias:
            return False
        if scope == "all":
            return True
        return key in prunable or (scope == "prunable+biases" and is_bias)

    return {k: (rewind_to[k] if rewound(k) else v) for k, v in live.items()}


def random_masks_like(masks: dict[str, torch.Tensor],
                      generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Same survivor count per layer, positions uniform at random."""
    out = {}
    for name, mask in masks.items():
        n, keep = mask.numel(), int(mask.sum().item())
        if keep == 0:
            out[name] = torch.zeros_like(mask)
        else:
            out[name] = random_mask(mask.shape, (n - keep) / n, generator).to(mask)
    return out


def apply_ticket(kind: str, layers: list[PrunableLayer], masks: dict[str, torch.Tensor], *,
                 model: nn.Module, rewind_to: WeightSnapshot,
                 fresh_init: WeightSnapshot | None = None,
                 generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Set the next round's masks and weights per ticket kind; returns the masks applied."""
    if kind not in TICKET_KINDS:
        raise ValueError(f"unknown ticket kind {kind!r}; known: {', '.join(TICKET_KINDS)}")
    if kind == "random":
        if generator is None:
            raise ValueError("random tickets need a generator")
        masks = random_masks_like(masks, generator)
    for layer in layers:
        set_mask(layer.module, masks[layer.name])
    if kind == "reinit":
        if fresh_init is None:
            raise ValueError("reinit tickets need a fresh init snapshot")
        restore(model, fresh_init)
    else:
        restore(model, rewind_to)
    return masks
