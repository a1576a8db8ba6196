"""What every sparsenet network shares: the context contract and ``prunable_layers``.

Networks take ``forward(x, context=None)``. ``uses_context`` says whether a network reads
the context at all (dendrites, or a baseline with ``context_input=True``); networks that
do not use it ignore one passed in, so a continual run can hand every model the task id.
"""

from __future__ import annotations

import torch
from torch import nn

PRUNE_POLICIES = ("fc", "all")
ROLES = ("conv", "hidden", "output")


class Network(nn.Module):
    """Base class: subclasses set ``self.output`` (the classifier layer) and context fields."""

    uses_context: bool = False
    context_dim: int | None = None
    output: nn.Linear

    def prunable_layers(self, policy: str = "fc") -> list[tuple[str, nn.Module, str]]:
        """(name, module, role) of the layers IMP may prune, in forward order.

        ``fc``: every fully connected layer incl. the output (the paper); ``all``: conv
        layers too. Roles: ``conv``, ``hidden``, ``output``. Only ``weight`` is ever pruned
        (biases never); dendritic segments are not returned.
        """
        if policy not in PRUNE_POLICIES:
            raise ValueError(f"unknown prune policy {policy!r}; known: {list(PRUNE_POLICIES)}")
        layers: list[tuple[str, nn.Module, str]] = []
        for name, module in self.named_modules():
            if isinstance(module, nn.Conv2d):
                if policy == "all":
                    layers.append((name, module, "conv"))
            elif isinstance(module, nn.Linear):
                layers.append((name, module, "output" if module is self.output else "hidden"))
        return layers

    def _context(self, context: torch.Tensor | None, batch: int) -> torch.Tensor:
        """Validate the context and return it as (batch, context_dim).

        A single context ((D,) or (1, D)) is expanded with stride 0, which the dendrite
        layers recognise and compute once for the whole batch.
        """
        name = type(self).__name__
        if context is None:
            raise ValueError(f"{name} needs a context tensor of shape (batch, {self.context_dim}) "
                             f"(e.g. the one-hot task id); got None")
        if context.dim() == 1:
            context = context.unsqueeze(0)
        if context.dim() != 2 or context.shape[1] != self.context_dim:
            raise ValueError(f"{name} expects a context of shape (batch, {self.context_dim}), "
                             f"got {tuple(context.shape)}")
        if context.shape[0] == batch:
            return context
        if context.shape[0] == 1:
            return context.expand(batch, -1)
        raise ValueError(f"{name}: context has {context.shape[0]} rows for a batch of {batch}")


def check_fraction(name: str, value: float | None, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if value is None or not 0.0 < float(value) <= 1.0:
        raise ValueError(f"{name} must be in (0, 1], got {value}")


def check_sparsity(name: str, value: float) -> None:
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")


def check_context_dim(model: str, context_dim: int | None, why: str) -> int:
    if context_dim is None:
        raise ValueError(f"{model} needs context_dim ({why})")
    if int(context_dim) < 1:
        raise ValueError(f"{model}: context_dim must be >= 1, got {context_dim}")
    return int(context_dim)
