"""Fully connected networks: LeNet-300-100 and the permuted-MNIST family.

One class covers plain, sparse, dendritic and active-dendrites MLPs so that the ablations
differ only in the options that name them (Numenta's ablation table), not in code paths.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from sparsenet.models.base import (Network, check_context_dim, check_fraction,
                                   check_sparsity)
from sparsenet.models.init import check_init, initialize, sparse_kaiming_uniform_
from sparsenet.models.layers import DendriticLayer, KWinners, sparse_linear


def flat_size(input_shape: Sequence[int]) -> int:
    n = 1
    for s in input_shape:
        n *= int(s)
    return n


class MLP(Network):
    """flatten -> hidden layers (Linear or dendritic Linear, then ReLU or k-winners) -> output.

    - ``hidden``: the widths, no default (a study's presets choose them; the permuted-MNIST
      study's: ``PMNIST_NETWORKS`` in sparsenet/continual/presets.py). The other options'
      defaults are neutral: dense, ReLU, no segments.
    - ``weight_sparsity``: random static mask on every hidden layer (output stays dense).
    - ``kw_fraction``: k-winners instead of ReLU after each hidden layer (None = ReLU).
    - ``num_segments`` > 0: each hidden unit gated by dendritic segments of the context.
    - ``context_input``: concatenate the context to the input (baselines given the task id).
    - ``sparse_output``: the output layer gets ``weight_sparsity`` too (Numenta's DendriticMLP).
    - ``init``: ``sparse_kaiming`` (Numenta's sparsity-aware uniform init; identical in
      distribution to PyTorch's default for a dense ReLU MLP) or ``torch``.
    - ``context_density``: density of the context the dendrites see, for their init bound
      (1/num_tasks for a one-hot task id; see ``DendriticSegments.reset_parameters``).
    - ``hidden_input_density``: input density assumed by ``sparse_kaiming`` after a hidden
      layer (None: the k-winners fraction, or 1.0 after ReLU; Numenta's dense 3-layer MLP
      assumes 0.5 after ReLU).
    """

    def __init__(self, input_shape: Sequence[int], num_classes: int,
                 hidden: Sequence[int], *, weight_sparsity: float = 0.0,
                 kw_fraction: float | None = None, num_segments: int = 0,
                 context_dim: int | None = None, dendrite_sparsity: float = 0.0,
                 context_input: bool = False, boost_strength: float = 0.0,
                 boost_strength_factor: float = 1.0, duty_cycle_period: int = 1000,
                 k_inference_factor: float = 1.0, sparse_output: bool = True,
                 init: str = "sparse_kaiming", context_density: float = 1.0,
                 hidden_input_density: float | None = None,
                 generator: torch.Generator | None = None):
        super().__init__()
        name = type(self).__name__
        check_init(init, ("sparse_kaiming", "torch"))
        hidden = tuple(int(h) for h in hidden)
        if not hidden or min(hidden) < 1:
            raise ValueError(f"{name}: hidden must be a non-empty list of positive sizes, "
                             f"got {hidden}")
        if num_segments < 0:
            raise ValueError(f"{name}: num_segments must be >= 0, got {num_segments}")
        check_sparsity("weight_sparsity", weight_sparsity)
        check_sparsity("dendrite_sparsity", dendrite_sparsity)
        check_fraction("kw_fraction", kw_fraction)
        check_fraction("hidden_input_density", hidden_input_density)
        self.dendritic = num_segments > 0
        self.context_input = bool(context_input)
        self.uses_context = self.dendritic or self.context_input
        if self.uses_context:
            why = "dendrites" if self.dendritic else "context_input=True"
            self.context_dim = check_context_dim(name, context_dim, why)
        self.hidden_sizes = hidden

        in_f = flat_size(input_shape) + (self.context_dim if self.context_input else 0)
        self.hidden = nn.ModuleList()
        self.activations = nn.ModuleList()
        for out_f in hidden:
            layer: nn.Module = sparse_linear(in_f, out_f, weight_sparsity, generator)
            if self.dendritic:
                layer = DendriticLayer(layer, num_segments, self.context_dim, dendrite_sparsity,
                                       generator, context_density=context_density)
            self.hidden.append(layer)
            if kw_fraction is None:
                self.activations.append(nn.ReLU())
            else:
                self.activations.append(KWinners(kw_fraction, boost_strength,
                                                 boost_strength_factor, duty_cycle_period,
                                                 units=out_f,
                                                 k_inference_factor=k_inference_factor))
            in_f = out_f
        self.output = sparse_linear(in_f, num_classes, weight_sparsity if sparse_output else 0.0,
                                    generator)
        if init == "sparse_kaiming":
            # Input density: dense pixels for the first layer, k-winners' fraction after.
            density = 1.0
            for layer in list(self.hidden) + [self.output]:
                base = layer.base if isinstance(layer, DendriticLayer) else layer
                sparse_kaiming_uniform_(base, density)
                density = 1.0 if kw_fraction is None else float(kw_fraction)
                if hidden_input_density is not None:
                    density = float(hidden_input_density)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        x = x.flatten(1)
        ctx = self._context(context, x.shape[0]) if self.uses_context else None
        if self.context_input:
            x = torch.cat([x, ctx], dim=1)
        for layer, act in zip(self.hidden, self.activations):
            x = act(layer(x, ctx) if self.dendritic else layer(x))
        return self.output(x)


class LeNet300_100(MLP):
    """LeNet-300-100 (the paper's "fc1"): flatten, 300, 100, ReLU, dense.

    ``init`` defaults to the paper code's ``lth`` scheme (see :mod:`sparsenet.models.init`).
    """

    def __init__(self, input_shape: Sequence[int], num_classes: int, *, init: str = "lth",
                 generator: torch.Generator | None = None):
        check_init(init, ("lth", "glorot", "torch"))
        super().__init__(input_shape, num_classes, hidden=(300, 100), init="torch",
                         generator=generator)
        initialize(self, init)
