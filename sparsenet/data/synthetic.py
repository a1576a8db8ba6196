"""Generated, deterministic, learnable images of any shape, for tests of every code path.

Each class has a smooth random template; an image is its class template under a random
contrast and brightness, plus smooth and per-pixel noise, clipped to [0, 1]. The data depend
only on the spec (shape, classes, sizes), never on `load_dataset`'s `seed`: like a real
dataset it is fixed, and `seed` only moves the validation split. Train and test sets use
separate generators, so changing the number of training images leaves the test set alone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .dataset import RawSplits

DEFAULT_SPEC = (1, 28, 28, 10, 5000, 1000)  # C, H, W, classes, train images, test images
_SEED = 20220909  # fixed: the synthetic dataset is one dataset, not one per seed


def parse_spec(name: str) -> tuple[int, int, int, int, int, int]:
    """`synthetic` or `synthetic:C,H,W,K[,N_train,N_test]` -> (C, H, W, K, N_train, N_test)."""
    if name == "synthetic":
        return DEFAULT_SPEC
    _, _, opts = name.partition(":")
    try:
        vals = [int(v) for v in opts.split(",")]
    except ValueError:
        vals = []
    if len(vals) not in (4, 6):
        raise ValueError(
            f"bad synthetic spec {name!r}; expected synthetic:C,H,W,K[,N_train,N_test]"
        )
    if len(vals) == 4:
        vals += list(DEFAULT_SPEC[4:])
    c, h, w, k, ntr, nte = vals
    if min(c, h, w) < 1 or k < 2 or ntr < k or nte < 1:
        raise ValueError(
            f"bad synthetic spec {name!r}: need C, H, W >= 1, K >= 2, N_train >= K, N_test >= 1"
        )
    return c, h, w, k, ntr, nte


def _coarse_size(h: int, w: int) -> tuple[int, int]:
    """Templates and smooth noise vary on a scale of about 1/4 of the image."""
    return max(2, -(-h // 7)), max(2, -(-w // 7))


def _coarse_templates(c: int, h: int, w: int, k: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(_SEED)
    t = torch.randn(k, c, *_coarse_size(h, w), generator=g)
    lo = t.amin(dim=(1, 2, 3), keepdim=True)
    hi = t.amax(dim=(1, 2, 3), keepdim=True)
    return 0.1 + 0.8 * (t - lo) / (hi - lo + 1e-8)  # each template spans [0.1, 0.9]


def _upsample_matrix(n_in: int, n_out: int) -> torch.Tensor:
    """(n_out, n_in) linear-interpolation matrix (bilinear upsampling = A_h @ img @ A_w.T)."""
    eye = torch.eye(n_in).unsqueeze(0)  # (1, n_in, n_in): each row a unit impulse
    return F.interpolate(eye, size=n_out, mode="linear", align_corners=False)[0].T


def _sample(coarse: torch.Tensor, h: int, w: int, n: int, seed: int):
    """n images: everything smooth is built at coarse resolution and upsampled once."""
    k, c, hc, wc = coarse.shape
    g = torch.Generator().manual_seed(seed)
    y = (torch.arange(n) % k)[torch.randperm(n, generator=g)]  # balanced classes
    contrast = 0.6 + 0.8 * torch.rand(n, 1, 1, 1, generator=g)
    brightness = 0.15 * torch.randn(n, 1, 1, 1, generator=g)
    smooth = (coarse[y] - 0.5) * contrast + (0.5 + brightness)
    smooth += 0.25 * torch.randn(n, c, hc, wc, generator=g)
    x = _upsample_matrix(hc, h) @ smooth @ _upsample_matrix(wc, w).T  # matmul: fast
    x.add_(torch.randn(n, c, h, w, generator=g), alpha=0.25)
    return x.clamp_(0.0, 1.0), y


def load_synthetic(name: str) -> RawSplits:
    c, h, w, k, ntr, nte = parse_spec(name)
    coarse = _coarse_templates(c, h, w, k)
    train_x, train_y = _sample(coarse, h, w, ntr, _SEED + 1)
    test_x, test_y = _sample(coarse, h, w, nte, _SEED + 2)
    return RawSplits(train_x, train_y, test_x, test_y, k)
