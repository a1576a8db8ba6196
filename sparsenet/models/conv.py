"""Convolutional networks for the lottery-ticket experiments: the paper's MNIST conv net
("LeNet5" in its code) and Frankle & Carbin's Conv-2/4/6.

Flattened sizes are computed from the input shape, so the same classes serve MNIST
(1x28x28), CIFAR (3x32x32) and small inputs (8x8 digits) where the pooling allows.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from sparsenet.models.base import Network
from sparsenet.models.init import check_init, initialize


def check_input_shape(input_shape: Sequence[int]) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_shape must be (C, H, W) with positive sizes, got {input_shape}")
    return shape  # type: ignore[return-value]


def pooled_size(model: str, size: int, num_pools: int) -> int:
    """Spatial size after ``num_pools`` 2x2 max-pools; a clear error if the input is too small."""
    out = size
    for _ in range(num_pools):
        out //= 2
    if out < 1:
        raise ValueError(f"{model}: input size {size} is too small for {num_pools} 2x2 "
                         f"max-pools (needs at least {2 ** num_pools})")
    return out


def fc_stack(in_f: int, hidden: Sequence[int]) -> nn.ModuleList:
    layers = nn.ModuleList()
    for out_f in hidden:
        layers.append(nn.Linear(in_f, int(out_f)))
        in_f = int(out_f)
    return layers


class MnistConv(Network):
    """The paper's MNIST conv net: conv3x3 C->64 pad 1, ReLU, conv3x3 64->64, ReLU,
    maxpool 2, FC -> 256 -> 256 -> classes.

    ``conv2_padding`` defaults to 1: the paper's FC input 12544 = 64*14*14 on 28x28 MNIST
    (and the code it derives from) pads the second conv too; 0 gives 64*13*13 = 10816.
    ``init`` defaults to the paper code's ``lth`` scheme.
    """

    def __init__(self, input_shape: Sequence[int], num_classes: int, *,
                 hidden: Sequence[int] = (256, 256), conv2_padding: int = 1,
                 init: str = "lth", generator: torch.Generator | None = None):
        super().__init__()
        check_init(init, ("lth", "glorot", "torch"))
        c, h, w = check_input_shape(input_shape)
        if conv2_padding not in (0, 1):
            raise ValueError(f"conv2_padding must be 0 or 1, got {conv2_padding}")
        self.conv1 = nn.Conv2d(c, 64, 3, padding=1)
        self.conv2 = nn.Conv2d(64, 64, 3, padding=conv2_padding)
        shrink = 2 - 2 * conv2_padding
        if min(h, w) - shrink < 2:
            raise ValueError(f"MnistConv: input {h}x{w} too small (needs at least {2 + shrink})")
        flat = 64 * ((h - shrink) // 2) * ((w - shrink) // 2)
        self.fcs = fc_stack(flat, hidden)
        self.output = nn.Linear(int(hidden[-1]) if hidden else flat, num_classes)
        initialize(self, init)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.flatten(1)
        for fc in self.fcs:
            x = F.relu(fc(x))
        return self.output(x)


class ConvN(Network):
    """Frankle & Carbin's Conv-2/4/6: pairs of 3x3 pad-1 convs (64, 128, 256 channels),
    ReLU, maxpool 2 after each pair; FC 256-256-classes. ``init`` defaults to their
    Gaussian Glorot (``glorot``)."""

    CHANNELS = (64, 128, 256)

    def __init__(self, input_shape: Sequence[int], num_classes: int, depth: int = 2, *,
                 hidden: Sequence[int] = (256, 256), init: str = "glorot",
                 generator: torch.Generator | None = None):
        super().__init__()
        check_init(init, ("lth", "glorot", "torch"))
        c, h, w = check_input_shape(input_shape)
        if depth not in (2, 4, 6):
            raise ValueError(f"ConvN depth must be 2, 4 or 6, got {depth}")
        pairs = depth // 2
        name = f"conv{depth}"
        oh, ow = pooled_size(name, h, pairs), pooled_size(name, w, pairs)
        self.depth = depth
        self.convs = nn.ModuleList()
        in_c = c
        for out_c in self.CHANNELS[:pairs]:
            self.convs.append(nn.Conv2d(in_c, out_c, 3, padding=1))
            self.convs.append(nn.Conv2d(out_c, out_c, 3, padding=1))
            in_c = out_c
        flat = in_c * oh * ow
        self.fcs = fc_stack(flat, hidden)
        self.output = nn.Linear(int(hidden[-1]) if hidden else flat, num_classes)
        initialize(self, init)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        for i, conv in enumerate(self.convs):
            x = F.relu(conv(x))
            if i % 2 == 1:
                x = F.max_pool2d(x, 2)
        x = x.flatten(1)
        for fc in self.fcs:
            x = F.relu(fc(x))
        return self.output(x)
