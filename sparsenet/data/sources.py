"""Sources of real images: torchvision downloads, the Debian Fashion-MNIST idx files, digits.

Downloads must fail within seconds on machines without internet, so the download host is
probed with a short timeout (in a thread: name resolution ignores socket timeouts) before
torchvision is asked, and torchvision runs under a bounded socket timeout.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import socket
import threading
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from .dataset import RawSplits, stratified_split, unavailable

# Debian package dataset-fashion-mnist installs the real 60k/10k idx files here.
SYSTEM_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
PROBE_TIMEOUT_S = 3.0  # reachability check of a download host
DOWNLOAD_SOCKET_TIMEOUT_S = 30.0  # per blocking socket operation while downloading

# Published per-channel statistics of the training sets (population std).
STATS = {
    "mnist": ((0.1307,), (0.3081,)),
    "fashion_mnist": ((0.2860,), (0.3530,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}
NUM_CLASSES = {"mnist": 10, "fashion_mnist": 10, "cifar10": 10, "cifar100": 100}


# ----------------------------------------------------------------------------- idx files
def read_idx(path: Path) -> np.ndarray:
    """An idx file (unsigned bytes, gzip'd or not) as a numpy array of its declared shape."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":  # gzip magic: decide by content, not by the file name
        data = gzip.decompress(data)
    magic = int.from_bytes(data[0:4], "big")
    if magic >> 8 != 0x08:  # 0x00 0x00 0x08 <ndim>: unsigned byte data
        raise ValueError(f"{path}: not an unsigned-byte idx file (magic {magic:#x})")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {arr.size} bytes of data, header says {dims}")
    return arr.reshape(dims)


IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
# Where torchvision keeps each MNIST-layout dataset under a data dir: <data-dir>/<folder>/raw/.
IDX_FOLDERS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}


def idx_file(directory: Path, stem: str) -> Path | None:
    """``stem`` in ``directory``, uncompressed or gzip'd (either is accepted), else None."""
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def has_idx_files(directory: Path) -> bool:
    return all(idx_file(directory, stem) is not None for stem in IDX_FILES)


def idx_raw_dir(name: str, root: Path) -> Path:
    """``<root>/MNIST/raw`` for mnist: where a local copy of the four idx files goes."""
    return root / IDX_FOLDERS[name] / "raw"


def load_idx_dir(directory: Path, num_classes: int) -> RawSplits:
    """MNIST-layout idx files (train-images-idx3-ubyte[.gz], t10k-..., labels) in one folder."""

    def part(prefix: str) -> tuple[torch.Tensor, torch.Tensor]:
        x = read_idx(idx_file(directory, f"{prefix}-images-idx3-ubyte"))
        y = read_idx(idx_file(directory, f"{prefix}-labels-idx1-ubyte"))
        x = torch.from_numpy(x.copy()).unsqueeze(1)  # (N, 1, H, W) uint8
        return x, torch.from_numpy(y.astype(np.int64))

    train_x, train_y = part("train")
    test_x, test_y = part("t10k")
    return RawSplits(train_x, train_y, test_x, test_y, num_classes)


def system_fashion_mnist() -> RawSplits | None:
    """The Debian-packaged Fashion-MNIST, or None when it is not installed."""
    if not has_idx_files(SYSTEM_FASHION_MNIST_DIR):
        return None
    return load_idx_named("fashion_mnist", SYSTEM_FASHION_MNIST_DIR)


def load_idx_named(name: str, directory: Path) -> RawSplits:
    """A named MNIST-layout dataset from its idx files, with its published statistics."""
    raw = load_idx_dir(directory, NUM_CLASSES[name])
    raw.mean, raw.std = STATS[name]
    return raw


# ----------------------------------------------------------------------------- digits
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 8, 8) in 0..16, labels): the CSV scikit-learn ships, read directly.

    Importing sklearn.datasets costs seconds per process (every trial); the bundled file is
    found without importing scikit-learn, and `load_digits` is the fallback.
    """
    spec = importlib.util.find_spec("sklearn")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for loc in locations:
        f = Path(loc) / "datasets" / "data" / "digits.csv.gz"
        if f.is_file():
            data = np.loadtxt(f, delimiter=",", dtype=np.float32)
            if data.shape == (1797, 65):
                return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images.astype(np.float32), d.target.astype(np.int64)


def load_digits_raw() -> RawSplits:
    """scikit-learn's bundled 8x8 digits (1,797 images), fixed stratified 3:1 split (seed 0)."""
    images, labels = _digits_arrays()
    x = torch.from_numpy(images / 16.0).unsqueeze(1)  # (N, 1, 8, 8) in [0, 1]
    y = torch.from_numpy(labels)
    train_idx, test_idx = stratified_split(y, 0.25, seed=0)
    return RawSplits(x[train_idx], y[train_idx], x[test_idx], y[test_idx], 10)


# ----------------------------------------------------------------------------- torchvision
def _download_hosts(cls) -> list[tuple[str, int]]:
    """(host, port) pairs a torchvision dataset class downloads from (or via a proxy)."""
    urls = list(getattr(cls, "mirrors", [])) or [getattr(cls, "url", "")]
    proxies = urllib.request.getproxies()
    hosts = []
    for url in urls:
        u = urllib.parse.urlsplit(url)
        if not u.hostname:
            continue
        if u.scheme in proxies and not urllib.request.proxy_bypass(u.hostname):
            u = urllib.parse.urlsplit(proxies[u.scheme])
        port = u.port or (443 if u.scheme == "https" else 80)
        hosts.append((u.hostname, port))
    return hosts


def reachable(host: str, port: int, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """True when a TCP connection to host:port opens within `timeout` seconds (DNS included)."""
    ok = []

    def attempt():
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            ok.append(True)
        except OSError:
            pass

    t = threading.Thread(target=attempt, daemon=True)
    t.start()
    t.join(timeout)
    return bool(ok)


@contextmanager
def _socket_timeout(seconds: float):
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def _tv_class(name: str):
    import torchvision.datasets as tvd

    return {"mnist": tvd.MNIST, "fashion_mnist": tvd.FashionMNIST,
            "cifar10": tvd.CIFAR10, "cifar100": tvd.CIFAR100}[name]


def load_torchvision(name: str, root: Path, download: bool) -> RawSplits:
    """Train and test set of a torchvision dataset under `root`, downloading if allowed."""
    if name in IDX_FOLDERS and has_idx_files(idx_raw_dir(name, root)):
        # Read directly: torchvision only accepts the uncompressed files, users often have .gz.
        return load_idx_named(name, idx_raw_dir(name, root))
    cls = _tv_class(name)
    try:
        sets = [cls(str(root), train=tr, download=False) for tr in (True, False)]
    except RuntimeError:  # torchvision: "Dataset not found ..."
        if not download:
            raise unavailable(name, f"not found under {root} and download=False"
                              f"{_where_to_put(name, root)}") from None
        hosts = _download_hosts(cls)
        if not any(reachable(h, p) for h, p in hosts):
            where = ", ".join(h for h, _ in hosts) or "its download host"
            raise unavailable(name, f"not under {root} and {where} cannot be reached"
                              f"{_where_to_put(name, root)}") from None
        root.mkdir(parents=True, exist_ok=True)
        try:
            with _socket_timeout(DOWNLOAD_SOCKET_TIMEOUT_S):
                sets = [cls(str(root), train=tr, download=True) for tr in (True, False)]
        except Exception as e:  # noqa: BLE001 - any failed download means the same to users
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise unavailable(name, f"download into {root} failed ({msg})") from e
    (train, test) = sets
    mean, std = STATS[name]
    return RawSplits(*_tv_tensors(train), *_tv_tensors(test), NUM_CLASSES[name], mean, std)


def _where_to_put(name: str, root: Path) -> str:
    if name not in IDX_FOLDERS:
        return ""
    return (f" (a local copy works: put the four idx files, gzip'd or not, in "
            f"{idx_raw_dir(name, root)}; see --data-dir)")


def _tv_tensors(ds) -> tuple[torch.Tensor, torch.Tensor]:
    """(x uint8 (N, C, H, W), y int64) from a torchvision dataset's in-memory arrays."""
    data = ds.data
    x = data if isinstance(data, torch.Tensor) else torch.from_numpy(np.asarray(data))
    if x.dim() == 3:  # MNIST-style (N, H, W)
        x = x.unsqueeze(1)
    else:  # CIFAR-style (N, H, W, C)
        x = x.permute(0, 3, 1, 2)
    y = ds.targets
    y = y.clone() if isinstance(y, torch.Tensor) else torch.as_tensor(y)
    return x.contiguous(), y.to(torch.int64)


def default_data_dir() -> Path:
    return Path(os.environ.get("SPARSENET_DATA") or Path.home() / ".cache" / "sparsenet")
