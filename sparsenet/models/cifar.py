"""The split-CIFAR backbone of the paper's extension and its three variants.

conv3x3 C->64 pad 1, act, maxpool 2, conv3x3 64->32 pad 1, act, maxpool 2,
FC 2048-256-128-classes (for 32x32 inputs; the flattened size follows the input shape).

- ``cnn``: dense, ReLU.
- ``sparse_cnn``: k-winners after both convs (over C*H*W) and both hidden FCs; random static
  masks on the hidden FC weights.
- ``active_dendrites_cnn``: as ``sparse_cnn`` plus dendritic segments of the context gating
  each conv channel and each hidden FC unit (before the k-winners).

Sparse hidden FC layers (issue 15, docs/fidelity.md):
- ``mask_layout``: "fan_in" (default) gives every unit exactly round(density * fan_in)
  inputs, as Numenta's and the paper's ``SparseWeights``; "layer" draws the zeros over the
  whole matrix (fan-ins vary from unit to unit; sparsenet before issue 15).
- ``fc_init``: "density" (default) draws the masked weights from U(-b, b), b =
  1/sqrt(density * fan_in), so a unit's summed input keeps the dense layer's scale;
  "dense" keeps ``nn.Linear``'s init (b = 1/sqrt(fan_in)) and masks it (before issue 15);
  "paper" does what the paper's code does per variant: the sparse CNN calls Numenta's
  ``_init_sparse_weights(layer, 1 - s)`` with the weight sparsity s in the *input*
  sparsity argument, so b = 1/sqrt(s * (1 - s) * fan_in); its dendritic CNN does not
  rescale (as "dense").
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from sparsenet.continual.presets import SPLIT_CIFAR
from sparsenet.models.base import (Network, check_context_dim, check_fraction,
                                   check_sparsity)
from sparsenet.models.conv import check_input_shape, pooled_size
from sparsenet.models.layers import DendriticLayer, KWinners, KWinners2d, sparse_linear
from sparsenet.models.masks import MASK_LAYOUTS

VARIANTS = ("cnn", "sparse_cnn", "active_dendrites_cnn")
FC_INITS = ("density", "dense", "paper")


def fc_init_bound(fc_init: str, variant: str, weight_sparsity: float, fan_in: int) -> float | None:
    """The U(-b, b) bound of a sparse hidden FC layer's weights; None: keep nn.Linear's."""
    if fc_init not in FC_INITS:
        raise ValueError(f"unknown fc_init {fc_init!r}; known: {', '.join(FC_INITS)}")
    if weight_sparsity == 0.0 or fc_init == "dense":
        return None
    if fc_init == "density":
        return 1.0 / math.sqrt((1.0 - weight_sparsity) * fan_in)
    if variant == "active_dendrites_cnn":  # the paper's dendritic FC layers: no rescale
        return None
    # the paper's sparse CNN: input density 1 - (1 - s) = s, weight density 1 - s
    return 1.0 / math.sqrt(weight_sparsity * (1.0 - weight_sparsity) * fan_in)


class CifarBackbone(Network):
    """The split-CIFAR network; ``variant`` picks cnn / sparse_cnn / active_dendrites_cnn.

    Sparsity options (and ``num_segments``) left as None take the values the paper's grid
    search chose for the variant (``SPLIT_CIFAR`` in sparsenet/continual/presets.py);
    setting them on the dense ``cnn`` is an error. ``context_input`` (cnn, sparse_cnn) concatenates the context
    to the first FC layer's input so baselines can be given the task id too.
    """

    def __init__(self, input_shape: Sequence[int], num_classes: int, variant: str = "cnn", *,
                 conv_channels: Sequence[int] = (64, 32), hidden: Sequence[int] = (256, 128),
                 conv_kw: float | None = None, fc_kw: float | None = None,
                 weight_sparsity: float | None = None, num_segments: int | None = None,
                 context_dim: int | None = None, dendrite_sparsity: float = 0.0,
                 context_input: bool = False, boost_strength: float = 0.0,
                 boost_strength_factor: float = 1.0, duty_cycle_period: int = 1000,
                 k_inference_factor: float = 1.0, fc_init: str = "density",
                 mask_layout: str = "fan_in", generator: torch.Generator | None = None):
        super().__init__()
        if mask_layout not in MASK_LAYOUTS:
            raise ValueError(f"unknown mask_layout {mask_layout!r}; "
                             f"known: {', '.join(MASK_LAYOUTS)}")
        if fc_init not in FC_INITS:
            raise ValueError(f"unknown fc_init {fc_init!r}; known: {', '.join(FC_INITS)}")
        if variant not in VARIANTS:
            raise ValueError(f"unknown CifarBackbone variant {variant!r}; known: {list(VARIANTS)}")
        c, h, w = check_input_shape(input_shape)
        conv_channels = tuple(int(ch) for ch in conv_channels)
        hidden = tuple(int(n) for n in hidden)
        if not conv_channels or min(conv_channels) < 1 or not hidden or min(hidden) < 1:
            raise ValueError(f"{variant}: conv_channels and hidden must be non-empty "
                             f"positive sizes")
        self.variant = variant
        dendritic = variant == "active_dendrites_cnn"
        if variant == "cnn":
            given = [k for k, v in (("conv_kw", conv_kw), ("fc_kw", fc_kw),
                                    ("weight_sparsity", weight_sparsity)) if v is not None]
            if given:
                raise ValueError(f"variant 'cnn' is dense ReLU; {given} apply to sparse_cnn / "
                                 f"active_dendrites_cnn")
        else:
            d = SPLIT_CIFAR.model_defaults(variant)
            conv_kw = d["conv_kw"] if conv_kw is None else conv_kw
            fc_kw = d["fc_kw"] if fc_kw is None else fc_kw
            weight_sparsity = d["weight_sparsity"] if weight_sparsity is None else weight_sparsity
            check_fraction("conv_kw", conv_kw, allow_none=False)
            check_fraction("fc_kw", fc_kw, allow_none=False)
        weight_sparsity = 0.0 if weight_sparsity is None else float(weight_sparsity)
        check_sparsity("weight_sparsity", weight_sparsity)
        check_sparsity("dendrite_sparsity", dendrite_sparsity)
        if not dendritic and num_segments is not None:
            raise ValueError(f"variant {variant!r} has no dendrites; num_segments does not apply")
        if dendritic and context_input:
            raise ValueError("active_dendrites_cnn gets the context through its dendrites; "
                             "context_input applies to cnn / sparse_cnn")
        if num_segments is None:
            num_segments = SPLIT_CIFAR.model_defaults("active_dendrites_cnn")["num_segments"]
        num_segments = int(num_segments)
        if dendritic and num_segments < 1:
            raise ValueError(f"num_segments must be >= 1, got {num_segments}")
        self.dendritic = dendritic
        self.context_input = bool(context_input)
        self.uses_context = dendritic or self.context_input
        if self.uses_context:
            why = "dendrites" if dendritic else "context_input=True"
            self.context_dim = check_context_dim(variant, context_dim, why)

        def kw_opts() -> dict:
            return dict(boost_strength=boost_strength, boost_strength_factor=boost_strength_factor,
                        duty_cycle_period=duty_cycle_period, k_inference_factor=k_inference_factor)

        self.convs = nn.ModuleList()
        self.conv_acts = nn.ModuleList()
        in_c = c
        for out_c in conv_channels:
            conv: nn.Module = nn.Conv2d(in_c, out_c, 3, padding=1)
            if dendritic:
                conv = DendriticLayer(conv, num_segments, self.context_dim, dendrite_sparsity,
                                      generator)
            self.convs.append(conv)
            self.conv_acts.append(nn.ReLU() if conv_kw is None
                                  else KWinners2d(conv_kw, units=out_c, **kw_opts()))
            in_c = out_c
        pools = len(conv_channels)
        flat = in_c * pooled_size(variant, h, pools) * pooled_size(variant, w, pools)

        in_f = flat + (self.context_dim if self.context_input else 0)
        self.fcs = nn.ModuleList()
        self.fc_acts = nn.ModuleList()
        for out_f in hidden:
            fc: nn.Module = sparse_linear(in_f, out_f, weight_sparsity, generator,
                                          mask_layout=mask_layout)
            bound = fc_init_bound(fc_init, variant, weight_sparsity, in_f)
            if bound is not None:
                with torch.no_grad():
                    fc.weight.uniform_(-bound, bound).mul_(fc.weight_mask)
            if dendritic:
                fc = DendriticLayer(fc, num_segments, self.context_dim, dendrite_sparsity,
                                    generator)
            self.fcs.append(fc)
            self.fc_acts.append(nn.ReLU() if fc_kw is None
                                else KWinners(fc_kw, units=out_f, **kw_opts()))
            in_f = out_f
        self.output = nn.Linear(in_f, num_classes)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        ctx = self._context(context, x.shape[0]) if self.uses_context else None
        for conv, act in zip(self.convs, self.conv_acts):
            x = F.max_pool2d(act(conv(x, ctx) if self.dendritic else conv(x)), 2)
        x = x.flatten(1)
        if self.context_input:
            x = torch.cat([x, ctx], dim=1)
        for fc, act in zip(self.fcs, self.fc_acts):
            x = act(fc(x, ctx) if self.dendritic else fc(x))
        return self.output(x)
