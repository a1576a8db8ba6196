"""`load_dataset`: one entry point from a dataset name to an in-memory `Dataset`."""

from __future__ import annotations

from pathlib import Path

from .dataset import Dataset, RawSplits, assemble, check_val_fraction
from .folder import load_folder
from .sources import default_data_dir, load_digits_raw, load_torchvision, system_fashion_mnist
from .synthetic import load_synthetic

TORCHVISION_NAMES = ("mnist", "fashion_mnist", "cifar10", "cifar100")
DATASET_NAMES = TORCHVISION_NAMES + ("digits", "synthetic", "synthetic:C,H,W,K", "folder:PATH")


def load_dataset(
    name: str,
    data_dir: str | Path | None = None,
    *,
    val_fraction: float = 0.1,
    seed: int = 0,
    download: bool = True,
) -> Dataset:
    """Load `name` as float32 tensors in [0, 1] with a stratified validation split.

    `seed` only chooses the validation split (the data themselves are fixed, `synthetic`
    included). `data_dir` (default: env SPARSENET_DATA, else ~/.cache/sparsenet) is where
    torchvision datasets are looked for and downloaded to, and where image folders are
    cached. Raises `DatasetUnavailable` (within seconds) when a dataset cannot be had here.
    """
    if not isinstance(name, str):
        raise ValueError(f"dataset name must be a string, got {name!r}")
    check_val_fraction(val_fraction)
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    raw = _load_raw(name, root, download)
    return assemble(name, raw, float(val_fraction), int(seed))


def _load_raw(name: str, root: Path, download: bool) -> RawSplits:
    if name == "fashion_mnist":
        raw = system_fashion_mnist()
        if raw is not None:
            return raw
    if name in TORCHVISION_NAMES:
        return load_torchvision(name, root, download)
    if name == "digits":
        return load_digits_raw()
    if name == "synthetic" or name.startswith("synthetic:"):
        return load_synthetic(name)
    if name.startswith("folder:"):
        path = name[len("folder:"):]
        if not path:
            raise ValueError("folder: needs a path, e.g. folder:/data/my-images")
        return load_folder(path, root)
    raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASET_NAMES)}")


__all__ = ["load_dataset", "DATASET_NAMES"]
