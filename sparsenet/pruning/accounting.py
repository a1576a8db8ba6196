"""Exact counts of what survives: per layer, of the prunable weights, of all parameters.

Counts come from the masks (not from ``weight == 0``), so a surviving weight that happens
to be zero is still counted as remaining and nothing depends on float comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from sparsenet.models.masks import get_mask, masked_modules
from sparsenet.pruning.layers import PrunableLayer


@dataclass(frozen=True)
class SparsityStats:
    layers: dict[str, tuple[int, int]]  # name -> (remaining, dense count)
    remaining: int  # surviving prunable weights
    prunable: int  # dense count of prunable weights
    params_remaining_count: int
    params_total: int

    @property
    def weights_remaining(self) -> float:
        """Fraction of the prunable weights that survive."""
        return self.remaining / self.prunable

    @property
    def params_remaining(self) -> float:
        """Fraction of all parameters (biases, unpruned layers included) that survive."""
        return self.params_remaining_count / self.params_total

    @property
    def compression(self) -> float:
        """Dense / remaining prunable weights (the paper's "33x")."""
        return self.prunable / self.remaining if self.remaining else float("inf")


def layer_remaining(layer: PrunableLayer) -> int:
    mask = get_mask(layer.module)
    return layer.weight.numel() if mask is None else int(mask.sum().item())


def sparsity_stats(model: nn.Module, layers: list[PrunableLayer]) -> SparsityStats:
    per_layer = {l.name: (layer_remaining(l), l.weight.numel()) for l in layers}
    total = sum(p.numel() for p in model.parameters())
    masked_out = sum(int((m == 0).sum().item()) for m in
                     (mod._buffers["weight_mask"] for _, mod in masked_modules(model)))
    return SparsityStats(layers=per_layer,
                         remaining=sum(r for r, _ in per_layer.values()),
                         prunable=sum(n for _, n in per_layer.values()),
                         params_remaining_count=total - masked_out,
                         params_total=total)
