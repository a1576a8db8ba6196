"""CIFAR training augmentation as one batched resampling on the images' device.

Horizontal flip and a random affine map (rotation within +-30 degrees, translation within
+-20% of the image size, scale 0.8-1.2, like torchvision's RandomHorizontalFlip +
RandomAffine(30, (0.2, 0.2), (0.8, 1.2))) are folded into one sampling grid per image, so a
batch costs one `affine_grid` + one `grid_sample` instead of per-image PIL transforms.
Areas moved in from outside the image are 0 (black), as in torchvision's default fill.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

MAX_ROTATION_DEG = 30.0
MAX_TRANSLATE = 0.2
SCALE_RANGE = (0.8, 1.2)


def affine_theta(flip: Tensor, angle: Tensor, tx: Tensor, ty: Tensor, scale: Tensor,
                 height: int, width: int) -> Tensor:
    """(B, 2, 3) `affine_grid` matrices (output coords -> input coords, normalized).

    Per image: optional horizontal flip (bool), then rotation by `angle` (radians,
    counter-clockwise on screen), scaling by `scale` and a shift by (tx, ty) fractions of the
    width and height.
    """
    # forward map in pixels: p' = s R(a) p + t. The grid needs its inverse,
    # q = R(-a) (p' - t) / s, in normalized coords (x scaled by W/2, y by H/2).
    # y points down in images, so a counter-clockwise turn on screen is R(-a) in (x, y).
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    aspect = width / height  # converts a normalized y step into x units and back
    m00, m01 = cos, -sin / aspect
    m10, m11 = sin * aspect, cos
    txn, tyn = 2 * tx, 2 * ty  # fractions of the size -> normalized [-1, 1] units
    b0 = -(m00 * txn + m01 * tyn)
    b1 = -(m10 * txn + m11 * tyn)
    theta = torch.stack([torch.stack([m00, m01, b0], 1), torch.stack([m10, m11, b1], 1)], 1)
    sign = torch.where(flip, -1.0, 1.0).to(theta.dtype)
    theta[:, 0] *= sign.view(-1, 1)  # flip the sampled x: the flip happens before the affine
    return theta


def random_affine_theta(
    batch: int, height: int, width: int, generator: torch.Generator | None
) -> Tensor:
    """Random `affine_theta` for a batch, drawn on the generator's device."""
    dev = generator.device if generator is not None else torch.device("cpu")
    r = torch.rand(batch, 5, generator=generator, device=dev, dtype=torch.float64)
    lo, hi = SCALE_RANGE
    return affine_theta(
        flip=r[:, 0] < 0.5,
        angle=(2 * r[:, 1] - 1) * math.radians(MAX_ROTATION_DEG),
        tx=(2 * r[:, 2] - 1) * MAX_TRANSLATE,
        ty=(2 * r[:, 3] - 1) * MAX_TRANSLATE,
        scale=lo + (hi - lo) * r[:, 4],
        height=height,
        width=width,
    )


def apply_theta(x: Tensor, theta: Tensor) -> Tensor:
    """Resample a (B, C, H, W) batch through per-image affine matrices (zeros outside)."""
    dtype = x.dtype if x.is_floating_point() else torch.float32
    theta = theta.to(device=x.device, dtype=dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x.to(dtype), grid, mode="bilinear", padding_mode="zeros",
                         align_corners=False)


def augment_cifar(x: Tensor, generator: torch.Generator | None) -> Tensor:
    """Randomly flipped and affinely transformed copy of a (B, C, H, W) batch."""
    if x.dim() != 4:
        raise ValueError(f"augment_cifar wants (B, C, H, W) images, got shape {tuple(x.shape)}")
    b, _, h, w = x.shape
    if b == 0:
        return x.clone()
    return apply_theta(x, random_affine_theta(b, h, w, generator))
