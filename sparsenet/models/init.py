"""Weight initialisation schemes of the studies being reproduced.

Initialisation is part of what a lottery ticket is (winning tickets rewind to it), so the
IMP networks default to what the paper's code did, and the MLP family to Numenta's
sparsity-aware scheme. Masks are re-applied after every re-initialisation.

- ``torch``: PyTorch's defaults (kaiming-uniform weights, uniform biases).
- ``lth``: the paper's LTH code: ``xavier_normal_`` weights and N(0, 1) biases for every
  Linear and Conv2d.
- ``glorot``: Frankle & Carbin 2019: ``xavier_normal_`` weights, zero biases.
- ``sparse_kaiming`` (MLP family): weights U(-b, b), b = 1 / sqrt(input_density *
  weight_density * fan_in), so a unit's input variance does not shrink with weight
  sparsity or with k-winners on its input (Numenta's "modified" init).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from sparsenet.models.masks import get_mask

INIT_SCHEMES = ("torch", "lth", "glorot", "sparse_kaiming")


def check_init(init: str, allowed: tuple[str, ...]) -> None:
    if init not in allowed:
        raise ValueError(f"unknown init {init!r}; known here: {list(allowed)}")


@torch.no_grad()
def reapply_mask(module: nn.Module) -> None:
    mask = get_mask(module)
    if mask is not None:
        module.weight.mul_(mask)


@torch.no_grad()
def initialize(model: nn.Module, scheme: str) -> None:
    """Re-initialise every Linear / Conv2d of ``model`` (dendrite segments untouched)."""
    check_init(scheme, ("torch", "lth", "glorot"))
    if scheme == "torch":
        return
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_normal_(module.weight)
            if module.bias is not None:
                if scheme == "lth":
                    nn.init.normal_(module.bias)
                else:
                    nn.init.zeros_(module.bias)
            reapply_mask(module)


@torch.no_grad()
def sparse_kaiming_uniform_(layer: nn.Linear, input_density: float = 1.0) -> None:
    """U(-b, b) with b = 1/sqrt(input_density * weight_density * fan_in); bias untouched."""
    mask = get_mask(layer)
    weight_density = 1.0 if mask is None else float(mask.mean())
    fan_in = layer.weight.shape[1]
    bound = 1.0 / math.sqrt(max(input_density * weight_density * fan_in, 1e-12))
    nn.init.uniform_(layer.weight, -bound, bound)
    reapply_mask(layer)
