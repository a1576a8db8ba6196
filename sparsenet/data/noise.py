"""Test-time pixel noise (the paper's claim 2), batched over whole test sets.

Every image gets exactly round(level * H * W) noisy pixel positions (all channels of a
position), chosen by the top-k of random keys, so the noise level is exact rather than
Bernoulli-distributed. Random numbers are drawn on the generator's device and moved to the
images' device: a CPU generator gives the same noise on CPU and GPU.

`paper_cifar` is the paper's CIFAR noise instead (bainro/LTH `image_transforms.Noise` with
`stdev=0.5`, called with `noise_lvl / 3` in `noise.py`): it picks individual channel
values, int(C*H*W * level / 3) of them (int(3072 * level / 3) on CIFAR), anywhere in the
flattened (C, H, W) image, and sets each to 2 * 0.5 = 1.0 on the raw [0, 1] scale.
"""

from __future__ import annotations

import numbers
from typing import Sequence

import torch
from torch import Tensor

from .dataset import as_channel_tuple

# The types sweeps run by default; ALL_NOISE_TYPES adds those run only when asked for.
NOISE_TYPES = ("set_2sigma", "zero", "abs_gaussian", "uniform", "numenta")
ALL_NOISE_TYPES = NOISE_TYPES + ("paper_cifar",)
# The paper's CIFAR noise: value set (2 x its hard-coded stdev 0.5) and level divisor.
PAPER_CIFAR_VALUE = 1.0
PAPER_CIFAR_LEVEL_DIVISOR = 3


def paper_cifar_count(level: float, values_per_image: int) -> int:
    """How many channel values the paper's CIFAR noise sets: int(n * (level / 3))."""
    return int(values_per_image * (level / PAPER_CIFAR_LEVEL_DIVISOR))


def paper_cifar_noise(x_raw: Tensor, level: float, generator: torch.Generator | None) -> Tensor:
    """The paper's CIFAR noise on raw (B, C, H, W) images: see the module docstring."""
    b = x_raw.shape[0]
    n = x_raw[0].numel() if b else 0
    count = paper_cifar_count(level, n)
    if count == 0 or b == 0:
        return x_raw.clone()
    dev = generator.device if generator is not None else torch.device("cpu")
    keys = torch.rand(b, n, generator=generator, device=dev)
    idx = keys.topk(count, dim=1, sorted=False).indices.to(x_raw.device)
    out = x_raw.reshape(b, n).clone()
    out.scatter_(1, idx, PAPER_CIFAR_VALUE)
    return out.view_as(x_raw)


def noise_positions(
    batch: int, height: int, width: int, count: int, generator: torch.Generator | None
) -> Tensor:
    """(batch, 1, H, W) bool mask with exactly `count` True positions per image."""
    dev = generator.device if generator is not None else torch.device("cpu")
    keys = torch.rand(batch, height * width, generator=generator, device=dev)
    idx = keys.topk(count, dim=1, sorted=False).indices
    mask = torch.zeros(batch, height * width, dtype=torch.bool, device=dev)
    mask.scatter_(1, idx, True)
    return mask.view(batch, 1, height, width)


def add_noise(
    x_raw: Tensor,
    kind: str,
    level: float,
    *,
    mean: Sequence[float] | Tensor,
    std: Sequence[float] | Tensor,
    generator: torch.Generator | None,
) -> Tensor:
    """A noisy copy of raw (B, C, H, W) images in [0, 1]; normalize afterwards.

    Replaced values per channel c: `set_2sigma` 2*std[c], `zero` 0, `abs_gaussian`
    |N(0, std[c])|, `uniform` U[0, 2*std[c]], `numenta` mean[c] + 2*std[c]; `paper_cifar`
    sets int(C*H*W * level / 3) single channel values to 1.0 (mean and std unused). No clipping.
    """
    if kind not in ALL_NOISE_TYPES:
        raise ValueError(f"unknown noise {kind!r}; known: {', '.join(ALL_NOISE_TYPES)}")
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 <= level <= 1:
        raise ValueError(f"noise level must be a number in [0, 1], got {level!r}")
    if x_raw.dim() != 4:
        raise ValueError(f"add_noise wants (B, C, H, W) images, got shape {tuple(x_raw.shape)}")
    if kind == "paper_cifar":
        return paper_cifar_noise(x_raw, level, generator)
    b, c, h, w = x_raw.shape
    mean_t = as_channel_tuple(mean, c, "mean")
    std_t = as_channel_tuple(std, c, "std")
    count = round(level * h * w)
    if count == 0 or b == 0:
        return x_raw.clone()

    dev = generator.device if generator is not None else torch.device("cpu")
    mask = noise_positions(b, h, w, count, generator).to(x_raw.device)
    std_v = torch.tensor(std_t, dtype=x_raw.dtype).view(1, c, 1, 1).to(x_raw.device)
    if kind == "set_2sigma":
        values = 2 * std_v
    elif kind == "zero":
        values = torch.zeros((), dtype=x_raw.dtype, device=x_raw.device)
    elif kind == "numenta":
        mean_v = torch.tensor(mean_t, dtype=x_raw.dtype).view(1, c, 1, 1).to(x_raw.device)
        values = mean_v + 2 * std_v
    elif kind == "abs_gaussian":
        z = torch.randn(b, c, h, w, generator=generator, device=dev, dtype=x_raw.dtype)
        values = z.to(x_raw.device).abs_() * std_v
    else:  # uniform
        u = torch.rand(b, c, h, w, generator=generator, device=dev, dtype=x_raw.dtype)
        values = u.to(x_raw.device) * (2 * std_v)
    return torch.where(mask, values, x_raw)
