"""What the baselines of several benchmarks share: the paper's torchvision data path."""

from __future__ import annotations

import gzip
import shutil
import tempfile
from pathlib import Path

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


def torchvision_root() -> Path:
    """A temporary ROOT with ROOT/FashionMNIST/raw holding the uncompressed idx files that
    torchvision's FashionMNIST reads, made from the Debian package's gz files."""
    root = Path(tempfile.mkdtemp(prefix="fmnist-tv-"))
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for gz in DEBIAN_FASHION.glob("*.gz"):
        with gzip.open(gz) as src, open(raw / gz.stem, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return root
