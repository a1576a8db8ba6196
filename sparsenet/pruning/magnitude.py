"""Magnitude pruning, one IMP round at a time.

Each round removes a fraction ``p`` (per role) of the *surviving* weights with the smallest
magnitude. The pruner keeps each layer's target density as a float and derives counts as
``round(density * n)``: rounding the survivors round after round would drift (a 10-weight
layer at 12.5% stalls at 4 weights), while this keeps every layer within one weight of
``round((1 - p)^r * n)`` however many rounds run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from sparsenet.models.masks import get_mask
from sparsenet.pruning.layers import PrunableLayer, ensure_masks

SCOPES = ("layer", "global")


@dataclass(frozen=True)
class PruneRates:
    """Fraction of surviving weights removed per round, by layer role."""

    conv: float = 0.0
    hidden: float = 0.2
    output: float = 0.1

    def __post_init__(self) -> None:
        for role in ("conv", "hidden", "output"):
            rate = getattr(self, role)
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"prune rate for {role} layers must be in [0, 1), got {rate}")

    def for_role(self, role: str) -> float:
        return float(getattr(self, role))


def _scores(layer: PrunableLayer) -> torch.Tensor:
    """|w| on survivors, -1 on pruned positions: a pruned weight never comes back."""
    mask = get_mask(layer.module)
    w = layer.weight.detach().abs().flatten()
    return torch.where(mask.flatten() > 0, w, torch.full_like(w, -1.0))


def _keep_top(scores: torch.Tensor, keep: int) -> torch.Tensor:
    mask = torch.zeros_like(scores)
    if keep > 0:
        mask[torch.topk(scores, keep, sorted=False).indices] = 1.0
    return mask


class MagnitudePruner:
    """Computes the next round's masks from the current weights; does not apply them.

    ``scope="layer"``: each layer keeps ``round(d * n)`` (at least one weight, so no layer
    is cut off). ``scope="global"``: layers that share a rate are pooled and the pool keeps
    its ``round(d * N)`` largest weights, wherever they are.
    ``n`` is a layer's survivor count when the pruner was built, so a static random mask
    already on a layer is respected.
    """

    def __init__(self, layers: list[PrunableLayer], rates: PruneRates, scope: str = "layer"):
        if scope not in SCOPES:
            raise ValueError(f"unknown prune scope {scope!r}; known: {', '.join(SCOPES)}")
        ensure_masks(layers)
        self.layers = layers
        self.rates = rates
        self.scope = scope
        self.base = {l.name: int(get_mask(l.module).sum().item()) for l in layers}
        self.density = {l.name: 1.0 for l in layers}
        self.rounds = 0

    def target_counts(self) -> dict[str, int]:
        """Per-layer survivor counts the schedule asks for now (layer scope)."""
        return {l.name: min(self.base[l.name], max(1, round(self.density[l.name] * self.base[l.name])))
                for l in self.layers}

    @torch.no_grad()
    def step(self) -> dict[str, torch.Tensor]:
        """Advance the schedule one round; return {layer name: new mask} (weight-shaped)."""
        self.rounds += 1
        for l in self.layers:
            self.density[l.name] *= 1.0 - self.rates.for_role(l.role)
        if self.scope == "layer":
            keep = self.target_counts()
            return {l.name: _keep_top(_scores(l), keep[l.name]).view_as(l.weight)
                    for l in self.layers}
        return self._global_masks()

    def _global_masks(self) -> dict[str, torch.Tensor]:
        groups: dict[float, list[PrunableLayer]] = {}
        for l in self.layers:
            groups.setdefault(self.rates.for_role(l.role), []).append(l)
        masks: dict[str, torch.Tensor] = {}
        for rate, members in groups.items():
            if rate == 0.0:
                masks.update({l.name: get_mask(l.module).clone() for l in members})
                continue
            scores = torch.cat([_scores(l) for l in members])
            pool = sum(self.base[l.name] for l in members)
            flat = _keep_top(scores, round(self.density[members[0].name] * pool))
            for l, part in zip(members, torch.split(flat, [l.weight.numel() for l in members])):
                masks[l.name] = part.view_as(l.weight).clone()
        return masks

    def state_dict(self) -> dict[str, Any]:
        return {"base": dict(self.base), "density": dict(self.density), "rounds": self.rounds}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.base = {k: int(v) for k, v in state["base"].items()}
        self.density = {k: float(v) for k, v in state["density"].items()}
        self.rounds = int(state["rounds"])
