"""The in-memory dataset every experiment trains on, and how raw sources become one.

Sources (torchvision, idx files, scikit-learn, image folders, the generator) only produce a
train and a test set; the validation split, the conversion to float32 in [0, 1] and the
per-channel statistics are done here once, so every dataset behaves the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

import torch
from torch import Tensor

OFFLINE_ALTERNATIVES = (
    "fashion_mnist (apt-get install dataset-fashion-mnist), digits, synthetic, folder:PATH"
)


class DatasetUnavailable(RuntimeError):
    """A dataset cannot be had here (offline, or download=False with files missing)."""


def unavailable(name: str, reason: str) -> DatasetUnavailable:
    """One-line error naming what works without a network."""
    return DatasetUnavailable(
        f"dataset {name!r} is unavailable: {reason}; offline alternatives: {OFFLINE_ALTERNATIVES}"
    )


@dataclass(frozen=True)
class DatasetInfo:
    """What a model or a noise function needs to know about a dataset."""

    name: str
    shape: tuple[int, int, int]
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]


@dataclass
class RawSplits:
    """What a source hands over: uint8 (0..255) or float (0..1) images, shape (N, C, H, W)."""

    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor
    num_classes: int
    mean: tuple[float, ...] | None = None  # published constants, else computed from train
    std: tuple[float, ...] | None = None


@dataclass(eq=False)  # tensors have no truth value; datasets compare by identity
class Dataset:
    """Train / validation / test tensors: raw float32 in [0, 1], (N, C, H, W); labels int64."""

    train_x: Tensor
    train_y: Tensor
    val_x: Tensor
    val_y: Tensor
    test_x: Tensor
    test_y: Tensor
    info: DatasetInfo
    _stats: dict = field(default_factory=dict, repr=False, compare=False)

    def normalize(self, x: Tensor) -> Tensor:
        """(x - mean) / std per channel, on x's device and dtype (constants cached per device)."""
        key = (x.device, x.dtype)
        if key not in self._stats:
            c = len(self.info.mean)
            mean = torch.tensor(self.info.mean, dtype=x.dtype).view(1, c, 1, 1).to(x.device)
            std = torch.tensor(self.info.std, dtype=x.dtype).view(1, c, 1, 1).to(x.device)
            self._stats[key] = (mean, std)
        mean, std = self._stats[key]
        return (x - mean) / std

    def to(self, device: torch.device | str) -> "Dataset":
        """A Dataset with every tensor on `device` (self when already there), like Tensor.to."""
        device = torch.device(device)
        tensors = ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y")
        if all(getattr(self, t).device == device for t in tensors):
            return self
        moved = {t: getattr(self, t).to(device) for t in tensors}
        return replace(self, **moved, _stats={})


def stratified_split(y: Tensor, fraction: float, seed: int) -> tuple[Tensor, Tensor]:
    """(train_idx, val_idx): round(fraction * n_c) samples of every class go to validation.

    Vectorised: a random key per sample, sorted within class; ranks below the class quota
    are validation. Both index sets come back in ascending order.
    """
    n = y.numel()
    if fraction == 0 or n == 0:
        return torch.arange(n), torch.empty(0, dtype=torch.long)
    g = torch.Generator().manual_seed(seed)
    keys = torch.rand(n, generator=g, dtype=torch.float64)
    # sort by key, then stably by class: samples grouped by class in random order
    order = torch.argsort(keys)
    order = order[torch.argsort(y[order], stable=True)]
    counts = torch.bincount(y)
    starts = torch.cumsum(counts, 0) - counts
    ys = y[order]
    rank = torch.arange(n) - starts[ys]
    quota = torch.round(counts.double() * fraction).long()
    is_val = rank < quota[ys]
    val_idx = torch.sort(order[is_val]).values
    train_idx = torch.sort(order[~is_val]).values
    return train_idx, val_idx


def channel_stats(x: Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and population std in [0, 1] units; exact for uint8 via histograms."""
    c = x.shape[1]
    means, stds = [], []
    for ch in range(c):
        xc = x[:, ch]
        if x.dtype == torch.uint8:
            hist = torch.bincount(xc.reshape(-1), minlength=256).double()
            levels = torch.arange(256, dtype=torch.float64) / 255.0
            total = hist.sum()
            m = (hist * levels).sum() / total
            v = (hist * (levels - m) ** 2).sum() / total
        else:  # float32 with torch's pairwise summation is accurate enough here
            v, m = torch.var_mean(xc.float(), correction=0)
        means.append(float(m))
        stds.append(max(float(v.sqrt()), 1e-6))
    return tuple(means), tuple(stds)


def _to_float(x: Tensor) -> Tensor:
    """Sources give uint8 (0..255) or floats already in [0, 1]."""
    if x.dtype == torch.uint8:
        return torch.div(x, 255.0).to(torch.float32)  # one pass (a no-op .to by default)
    return x.to(torch.float32)


def assemble(name: str, raw: RawSplits, val_fraction: float, seed: int) -> Dataset:
    """Carve the stratified validation split, convert to float32 and fix the statistics.

    Statistics come from the whole training set of the source (before the split), so they
    do not change with `seed`.
    """
    check_val_fraction(val_fraction)
    if raw.mean is None or raw.std is None:
        mean, std = channel_stats(raw.train_x)
    else:
        mean, std = tuple(map(float, raw.mean)), tuple(map(float, raw.std))
    train_y = raw.train_y.to(torch.int64)
    train_idx, val_idx = stratified_split(train_y, val_fraction, seed)
    if val_fraction == 0:
        train_x, val_x = _to_float(raw.train_x), _to_float(raw.train_x[:0])
    else:
        train_x, val_x = _to_float(raw.train_x[train_idx]), _to_float(raw.train_x[val_idx])
    c, h, w = raw.train_x.shape[1:]
    info = DatasetInfo(name, (int(c), int(h), int(w)), int(raw.num_classes), mean, std)
    return Dataset(
        train_x=train_x.contiguous(),
        train_y=train_y[train_idx].contiguous(),
        val_x=val_x.contiguous(),
        val_y=train_y[val_idx].contiguous(),
        test_x=_to_float(raw.test_x).contiguous(),
        test_y=raw.test_y.to(torch.int64).contiguous(),
        info=info,
    )


def check_val_fraction(val_fraction: float) -> None:
    if not isinstance(val_fraction, (int, float)) or isinstance(val_fraction, bool):
        raise ValueError(f"val_fraction must be a number in [0, 1), got {val_fraction!r}")
    if not 0.0 <= float(val_fraction) < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}")


def as_channel_tuple(v: Sequence[float] | Tensor | float, c: int, what: str) -> tuple[float, ...]:
    """Per-channel constants from a scalar, a sequence or a tensor (length 1 broadcasts)."""
    if isinstance(v, Tensor):
        v = v.detach().reshape(-1).tolist()
    elif isinstance(v, (int, float)):
        v = [float(v)]
    v = [float(t) for t in v]
    if len(v) == 1:
        v = v * c
    if len(v) != c:
        raise ValueError(f"{what} has {len(v)} values but the images have {c} channels")
    return tuple(v)
