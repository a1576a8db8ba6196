"""folder:PATH datasets: decoded once through ImageFolder, then read from the cache."""

import os

import numpy as np
import pytest
import torch
from PIL import Image

from sparsenet.data import DatasetUnavailable, load_dataset
from sparsenet.data import folder


def _tree(root, mode="RGB", size=(6, 5), per_class=(4, 2), classes=("cat", "dog", "eel")):
    """PNGs whose pixels encode (split, class, index), so decoding can be checked exactly."""
    rng = np.random.default_rng(0)
    expected = {}
    for split, n in zip(("train", "test"), per_class):
        for ci, cls in enumerate(classes):
            d = root / split / cls
            d.mkdir(parents=True)
            for i in range(n):
                shape = (size[1], size[0]) + ((3,) if mode == "RGB" else ())
                arr = rng.integers(0, 256, size=shape, dtype=np.uint8)
                Image.fromarray(arr, mode).save(d / f"{i:03d}.png")
                expected[(split, ci, i)] = arr
    return expected


def test_folder_decodes_and_then_uses_the_cache(tmp_path, monkeypatch):
    root = tmp_path / "imgs"
    expected = _tree(root)
    cache_dir = tmp_path / "cache"
    ds = load_dataset(f"folder:{root}", cache_dir, val_fraction=0.0)
    assert ds.info.shape == (3, 5, 6) and ds.info.num_classes == 3
    assert len(ds.train_y) == 12 and len(ds.test_y) == 6
    assert ds.train_y.tolist() == [0] * 4 + [1] * 4 + [2] * 4  # ImageFolder's sorted order
    first = torch.from_numpy(expected[("train", 1, 0)]).permute(2, 0, 1).float() / 255
    assert torch.allclose(ds.train_x[4], first)
    mean = ds.train_x.mean(dim=(0, 2, 3))
    assert torch.allclose(torch.tensor(ds.info.mean, dtype=torch.float32), mean, atol=1e-5)

    cache = folder.cache_path(root.resolve(), cache_dir)
    assert cache.is_file()

    def no_decoding(*a, **k):
        raise AssertionError("decoded again although the cache is valid")

    monkeypatch.setattr(folder, "decode_tree", no_decoding)
    again = load_dataset(f"folder:{root}", cache_dir, val_fraction=0.0)
    assert torch.equal(again.train_x, ds.train_x) and torch.equal(again.test_y, ds.test_y)
    assert again.info == ds.info


def test_folder_cache_is_rebuilt_when_the_tree_changes(tmp_path):
    root = tmp_path / "imgs"
    _tree(root)
    cache_dir = tmp_path / "cache"
    before = load_dataset(f"folder:{root}", cache_dir, val_fraction=0.0)
    extra = root / "train" / "eel" / "new.png"
    Image.fromarray(np.zeros((5, 6, 3), np.uint8)).save(extra)
    os.utime(extra.parent, ns=(1, 10**18))  # a distinct folder mtime even on coarse clocks
    after = load_dataset(f"folder:{root}", cache_dir, val_fraction=0.0)
    assert len(after.train_y) == len(before.train_y) + 1


def test_grayscale_folder_has_one_channel(tmp_path):
    root = tmp_path / "gray"
    _tree(root, mode="L", classes=("a", "b"))
    ds = load_dataset(f"folder:{root}", tmp_path / "c", val_fraction=0.25, seed=1)
    assert ds.info.shape == (1, 5, 6) and ds.info.num_classes == 2
    assert torch.bincount(ds.val_y).tolist() == [1, 1]


def test_folder_errors(tmp_path):
    with pytest.raises(DatasetUnavailable):
        load_dataset(f"folder:{tmp_path / 'nothing'}", tmp_path)
    root = tmp_path / "mixed"
    _tree(root, classes=("a", "b"))
    Image.fromarray(np.zeros((9, 9, 3), np.uint8)).save(root / "train" / "a" / "big.png")
    with pytest.raises(ValueError, match="one size"):
        load_dataset(f"folder:{root}", tmp_path / "c")


def test_corrupt_cache_is_rebuilt(tmp_path):
    root = tmp_path / "imgs"
    _tree(root, classes=("a", "b"))
    cache_dir = tmp_path / "cache"
    first = load_dataset(f"folder:{root}", cache_dir)
    cache = folder.cache_path(root.resolve(), cache_dir)
    cache.write_bytes(b"not a torch file")
    again = load_dataset(f"folder:{root}", cache_dir)
    assert torch.equal(first.train_x, again.train_x)
    assert torch.load(cache, weights_only=True)["fingerprint"] == folder.fingerprint(root.resolve())
