"""Which layers IMP prunes, and with which role.

Networks of ``sparsenet.models`` say it themselves (``prunable_layers(policy)``); for any
other ``nn.Module`` (a user's own net, the tiny nets of the tests) the same answer is
derived from its Linear/Conv2d layers, so the pruning code has one input shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from sparsenet.models.masks import get_mask, set_mask

ROLES = ("conv", "hidden", "output")
# "fc": fully connected layers incl. the output layer (the paper); "all": conv layers too.
POLICIES = ("fc", "all")


@dataclass(frozen=True)
class PrunableLayer:
    name: str
    module: nn.Module
    role: str

    @property
    def weight(self) -> torch.Tensor:
        return self.module.weight


def _generic_layers(model: nn.Module, policy: str) -> list[tuple[str, nn.Module, str]]:
    linears = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    out: list[tuple[str, nn.Module, str]] = []
    if policy == "all":
        out += [(n, m, "conv") for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    for i, (n, m) in enumerate(linears):
        out.append((n, m, "output" if i == len(linears) - 1 else "hidden"))
    return out


def prunable_layers(model: nn.Module, policy: str = "fc") -> list[PrunableLayer]:
    """(name, module, role) of every layer IMP may prune under ``policy``."""
    if policy not in POLICIES:
        raise ValueError(f"unknown prune policy {policy!r}; known: {', '.join(POLICIES)}")
    raw = (model.prunable_layers(policy) if hasattr(model, "prunable_layers")
           else _generic_layers(model, policy))
    layers = [PrunableLayer(n, m, r) for n, m, r in raw]
    for layer in layers:
        if layer.role not in ROLES:
            raise ValueError(f"layer {layer.name!r} has role {layer.role!r}; known: {ROLES}")
    if not layers:
        raise ValueError(f"model has no prunable layers under policy {policy!r}")
    return layers


def ensure_masks(layers: list[PrunableLayer]) -> None:
    """Attach an all-ones mask where none exists; an existing (static) mask is kept."""
    for layer in layers:
        if get_mask(layer.module) is None:
            set_mask(layer.module, torch.ones_like(layer.weight))
