"""Image-folder datasets (`train/<class>/*`, `test/<class>/*`), decoded once and cached.

Decoding tens of thousands of files takes seconds; experiments load a dataset once per
trial, so the decoded uint8 tensors are kept in one `.pt` file under the data dir and
reused while the tree is unchanged. The tree is recognised by its absolute path (cache file
name) and a fingerprint of folder modification times and file names (cheap: no per-file
stat), which changes when files are added, removed or renamed. Rewriting an image in place
under the same name is not noticed: delete the cache file (or touch the class folder).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from .dataset import RawSplits, channel_stats, unavailable

CACHE_VERSION = 2
SPLITS = ("train", "test")


def cache_path(root: Path, data_dir: Path) -> Path:
    """Where the decoded tensors of the tree at `root` live (one file per absolute path)."""
    key = hashlib.sha1(str(root).encode()).hexdigest()[:16]
    return data_dir / "folders" / f"{root.name or 'root'}-{key}.pt"


def fingerprint(root: Path) -> str:
    """Hash of every folder's mtime and file names under train/ and test/."""
    h = hashlib.sha1()
    for split in SPLITS:
        for dirpath, dirnames, filenames in os.walk(root / split):
            dirnames.sort()
            rel = os.path.relpath(dirpath, root)
            h.update(repr((rel, os.stat(dirpath).st_mtime_ns, sorted(filenames))).encode())
    return h.hexdigest()


def _decode(path: str) -> torch.Tensor:
    """(C, H, W) uint8 with C in {1, 3}: torchvision's fast decoder, PIL for other formats."""
    from torchvision.io import ImageReadMode, decode_image

    try:
        with open(path, "rb") as f:
            data = torch.frombuffer(bytearray(f.read()), dtype=torch.uint8)
        img = decode_image(data, mode=ImageReadMode.UNCHANGED)
    except (RuntimeError, ValueError):
        from PIL import Image

        with Image.open(path) as im:
            gray = im.mode in ("1", "L", "LA", "I", "I;16", "F")
            arr = np.asarray(im.convert("L" if gray else "RGB"))
        img = torch.from_numpy(arr.copy())
        img = img.unsqueeze(0) if img.dim() == 2 else img.permute(2, 0, 1)
    if img.shape[0] == 2:  # gray + alpha
        img = img[:1]
    elif img.shape[0] == 4:  # RGBA
        img = img[:3]
    return img


def _decode_split(samples: list[tuple[str, int]]) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """(x (N, 3, H, W) uint8, y, all images grayscale) for one split, in sample order."""
    first = _decode(samples[0][0])
    n, (c, h, w) = len(samples), first.shape
    x = torch.empty(n, 3, h, w, dtype=torch.uint8)
    channels = torch.empty(n, dtype=torch.uint8)
    for i, (path, _) in enumerate(samples):
        img = first if i == 0 else _decode(path)
        if img.shape[1:] != (h, w):
            raise ValueError(
                f"image folder: {path} is {tuple(img.shape[1:])}, expected {(h, w)} like "
                f"{samples[0][0]}; all images must have one size"
            )
        x[i] = img  # a 1-channel image broadcasts to 3 channels
        channels[i] = img.shape[0]
    y = torch.tensor([t for _, t in samples], dtype=torch.int64)
    return x, y, bool((channels == 1).all())


def decode_tree(root: Path) -> dict:
    """Read the whole tree with torchvision's ImageFolder; one uint8 tensor per split."""
    from torchvision.datasets import ImageFolder

    parts, classes, gray = {}, None, True
    for split in SPLITS:
        folder = ImageFolder(str(root / split))
        if classes is not None and folder.classes != classes:
            raise ValueError(
                f"image folder {root}: test classes {folder.classes} differ from train "
                f"classes {classes}"
            )
        classes = folder.classes
        x, y, split_gray = _decode_split(folder.samples)
        parts[split] = (x, y)
        gray = gray and split_gray
    out = {"classes": list(classes)}
    for split, (x, y) in parts.items():
        out[f"{split}_x"] = x[:, :1].contiguous() if gray else x
        out[f"{split}_y"] = y
    return out


def load_folder(path: str, data_dir: Path) -> RawSplits:
    """The tree at `path` as uint8 tensors, from the cache when it matches the tree."""
    root = Path(path).expanduser().resolve()
    if not all((root / s).is_dir() for s in SPLITS):
        raise unavailable(f"folder:{path}", f"{root} must contain train/<class>/ and test/<class>/")
    cache = cache_path(root, data_dir)
    fp = fingerprint(root)
    with _exclusive(cache):  # concurrent trials: one decodes, the others wait and read
        blob = _read_cache(cache, root, fp)
        if blob is None:
            blob = decode_tree(root)
            mean, std = channel_stats(blob["train_x"])
            blob.update(version=CACHE_VERSION, root=str(root), fingerprint=fp,
                        mean=list(mean), std=list(std))
            _save_atomic(blob, cache)
    return RawSplits(blob["train_x"], blob["train_y"], blob["test_x"], blob["test_y"],
                     len(blob["classes"]), tuple(blob["mean"]), tuple(blob["std"]))


def _read_cache(cache: Path, root: Path, fp: str) -> dict | None:
    """The cached tensors if they belong to this tree as it is now, else None."""
    if not cache.is_file():
        return None
    try:
        blob = torch.load(cache, weights_only=True)
    except Exception:  # noqa: BLE001 - a corrupt or foreign cache is rebuilt
        return None
    ok = (isinstance(blob, dict) and blob.get("version") == CACHE_VERSION
          and blob.get("root") == str(root) and blob.get("fingerprint") == fp)
    return blob if ok else None


@contextmanager
def _exclusive(cache: Path):
    """An advisory lock next to the cache file (POSIX); no lock where that is impossible."""
    try:
        import fcntl

        cache.parent.mkdir(parents=True, exist_ok=True)
        f = open(cache.with_name(cache.name + ".lock"), "w")
    except (ImportError, OSError):
        yield
        return
    with f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _save_atomic(blob: dict, cache: Path) -> None:
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
        torch.save(blob, tmp)
        os.replace(tmp, cache)
    except OSError as e:
        warnings.warn(f"could not write the image-folder cache {cache}: {e}", stacklevel=3)
