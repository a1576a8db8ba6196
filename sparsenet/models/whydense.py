"""Numenta's CNN-2 from "How Can We Be So Dense?" (Ahmad & Scheinkman 2019), dense and sparse.

The paper's claim 2 finds no noise robustness from sparsity; Numenta found some from
activation sparsity. These are their MNIST networks, so both results can be measured with
one noise protocol. Layout (their ``LeSparseNet``, no batch norm, no dropout):

    [conv5x5 (no padding) -> maxpool 2 -> k-winners over C*H*W or ReLU] x len(channels)
    -> flatten -> [linear -> k-winners or ReLU] x len(hidden) -> linear output

K-winners sit after the max-pool (their default), boosting is per channel for conv layers,
and static sparse weights keep a fixed number of non-zero inputs per output unit (their
``SparseWeights``/``SparseWeights2d``), not a fixed total. Weights use PyTorch's default init,
as theirs. Densities are given as Numenta does: the fraction of weights that is non-zero.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from sparsenet.models.base import Network, check_fraction
from sparsenet.models.conv import check_input_shape
from sparsenet.models.layers import KWinners, KWinners2d
from sparsenet.models.masks import set_mask

__all__ = ["WhyDenseCNN", "per_unit_mask"]


def per_unit_mask(shape: Sequence[int], density: float,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Each output unit (row of dim 0) keeps exactly round(density * fan_in) random inputs."""
    out_units = int(shape[0])
    fan_in = 1
    for s in shape[1:]:
        fan_in *= int(s)
    keep = int(round(density * fan_in))
    keys = torch.rand(out_units, fan_in, generator=generator)
    idx = keys.topk(keep, dim=1, sorted=False).indices
    mask = torch.zeros(out_units, fan_in).scatter_(1, idx, 1.0)
    return mask.view(*[int(s) for s in shape])


def _per_layer(name: str, values: Sequence[float] | None, n: int) -> tuple[float | None, ...]:
    if values is None:
        return (None,) * n
    values = tuple(float(v) for v in values)
    if len(values) != n:
        raise ValueError(f"{name} needs one value per layer ({n}), got {len(values)}")
    return values


def _check_density(name: str, value: float) -> None:
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{name} must be in (0, 1] (fraction of non-zero weights), got {value}")


class WhyDenseCNN(Network):
    """Numenta's CNN-2 family; ``conv_kw``/``fc_kw`` None means ReLU (their percent_on 1.0).

    ``conv_padding`` None is Numenta's 0 when the input is large enough (16x16 and up),
    else 2 ("same"), so 8x8 test images still fit two 5x5 convs and two pools.
    """

    def __init__(self, input_shape: Sequence[int], num_classes: int, *,
                 channels: Sequence[int] = (32, 64), hidden: Sequence[int] = (700,),
                 conv_kw: Sequence[float] | None = None, fc_kw: Sequence[float] | None = None,
                 conv_weight_density: Sequence[float] | None = None,
                 fc_weight_density: Sequence[float] | None = None,
                 kernel_size: int = 5, conv_padding: int | None = None,
                 boost_strength: float = 0.0, boost_strength_factor: float = 1.0,
                 duty_cycle_period: int = 1000, k_inference_factor: float = 1.0,
                 generator: torch.Generator | None = None):
        super().__init__()
        c, h, w = check_input_shape(input_shape)
        channels = tuple(int(ch) for ch in channels)
        hidden = tuple(int(n) for n in hidden)
        if not channels or min(channels) < 1 or min(hidden, default=1) < 1:
            raise ValueError(f"WhyDenseCNN: channels must be non-empty and all sizes positive, "
                             f"got channels={channels}, hidden={hidden}")
        if kernel_size < 1:
            raise ValueError(f"kernel_size must be >= 1, got {kernel_size}")
        conv_kw = _per_layer("conv_kw", conv_kw, len(channels))
        fc_kw = _per_layer("fc_kw", fc_kw, len(hidden))
        conv_density = _per_layer("conv_weight_density", conv_weight_density, len(channels))
        fc_density = _per_layer("fc_weight_density", fc_weight_density, len(hidden))
        for name, values in (("conv_kw", conv_kw), ("fc_kw", fc_kw)):
            for v in values:
                check_fraction(name, v)
        for name, values in (("conv_weight_density", conv_density),
                             ("fc_weight_density", fc_density)):
            for v in values:
                if v is not None:
                    _check_density(name, v)
        if conv_padding is None:
            conv_padding = 0 if self._fits(min(h, w), len(channels), kernel_size, 0) else \
                kernel_size // 2
        if conv_padding < 0:
            raise ValueError(f"conv_padding must be >= 0, got {conv_padding}")
        if not self._fits(min(h, w), len(channels), kernel_size, conv_padding):
            raise ValueError(f"WhyDenseCNN: input {h}x{w} too small for {len(channels)} "
                             f"{kernel_size}x{kernel_size} convs (padding {conv_padding}) "
                             f"and 2x2 pools")
        self.conv_padding = conv_padding
        kw_opts = dict(boost_strength=boost_strength, boost_strength_factor=boost_strength_factor,
                       duty_cycle_period=duty_cycle_period, k_inference_factor=k_inference_factor)

        self.convs, self.conv_acts = nn.ModuleList(), nn.ModuleList()
        in_c = c
        for out_c, kw, density in zip(channels, conv_kw, conv_density):
            conv = nn.Conv2d(in_c, out_c, kernel_size, padding=conv_padding)
            self._sparsify(conv, density, generator)
            self.convs.append(conv)
            self.conv_acts.append(nn.ReLU() if kw is None or kw >= 1.0
                                  else KWinners2d(kw, units=out_c, **kw_opts))
            in_c = out_c
            h = (h + 2 * conv_padding - kernel_size + 1) // 2
            w = (w + 2 * conv_padding - kernel_size + 1) // 2
        in_f = in_c * h * w
        self.fcs, self.fc_acts = nn.ModuleList(), nn.ModuleList()
        for out_f, kw, density in zip(hidden, fc_kw, fc_density):
            fc = nn.Linear(in_f, out_f)
            self._sparsify(fc, density, generator)
            self.fcs.append(fc)
            self.fc_acts.append(nn.ReLU() if kw is None or kw >= 1.0
                                else KWinners(kw, units=out_f, **kw_opts))
            in_f = out_f
        self.output = nn.Linear(in_f, num_classes)

    @staticmethod
    def _fits(size: int, layers: int, kernel: int, padding: int) -> bool:
        for _ in range(layers):
            size = (size + 2 * padding - kernel + 1) // 2
            if size < 1:
                return False
        return True

    @staticmethod
    def _sparsify(layer: nn.Module, density: float | None,
                  generator: torch.Generator | None) -> None:
        if density is not None and density < 1.0:
            set_mask(layer, per_unit_mask(layer.weight.shape, density, generator))

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        for conv, act in zip(self.convs, self.conv_acts):
            x = act(F.max_pool2d(conv(x), 2))
        x = x.flatten(1)
        for fc, act in zip(self.fcs, self.fc_acts):
            x = act(fc(x))
        return self.output(x)
