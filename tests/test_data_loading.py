"""load_dataset: offline sources, the validation split, statistics and fast failures."""

import gzip
import socket
import time
import urllib.error
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from sparsenet.data import Dataset, DatasetInfo, DatasetUnavailable, load_dataset
from sparsenet.data import sources

OFFLINE_NAMES = ("fashion_mnist", "apt-get install dataset-fashion-mnist", "digits",
                 "synthetic", "folder:PATH")


def _check_layout(ds: Dataset, shape, num_classes):
    assert isinstance(ds.info, DatasetInfo)
    assert ds.info.shape == shape and ds.info.num_classes == num_classes
    for x, y in ((ds.train_x, ds.train_y), (ds.val_x, ds.val_y), (ds.test_x, ds.test_y)):
        assert x.dtype == torch.float32 and y.dtype == torch.int64
        assert x.shape[1:] == shape and x.shape[0] == y.shape[0]
        assert 0.0 <= x.min() and x.max() <= 1.0
        assert 0 <= y.min() and y.max() < num_classes
    assert len(ds.info.mean) == len(ds.info.std) == shape[0]


def test_digits_layout_and_fixed_test_split():
    ds = load_dataset("digits")
    _check_layout(ds, (1, 8, 8), 10)
    total = len(ds.train_y) + len(ds.val_y) + len(ds.test_y)
    assert total == 1797 and 445 <= len(ds.test_y) <= 455
    assert torch.bincount(ds.test_y).tolist() == [44, 46, 44, 46, 45, 46, 45, 45, 44, 45]
    assert ds.train_x.max() == 1.0  # /16 scaling reaches the top of the range
    other = load_dataset("digits", seed=5)
    assert torch.equal(ds.test_x, other.test_x)  # the test split never moves
    assert not torch.equal(ds.val_x, other.val_x)  # the validation split follows the seed


def test_synthetic_default_and_custom_shapes_are_deterministic():
    t0 = time.perf_counter()
    a = load_dataset("synthetic")
    assert time.perf_counter() - t0 < 1.0
    _check_layout(a, (1, 28, 28), 10)
    b = load_dataset("synthetic")
    for name in ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert a.info == b.info

    c = load_dataset("synthetic:3,16,12,4,200,40", val_fraction=0.2)
    _check_layout(c, (3, 16, 12), 4)
    assert (len(c.train_y), len(c.val_y), len(c.test_y)) == (160, 40, 40)
    assert c.info.name == "synthetic:3,16,12,4,200,40"


def test_synthetic_data_do_not_depend_on_the_seed():
    a, b = load_dataset("synthetic", seed=0), load_dataset("synthetic", seed=1)
    assert torch.equal(a.test_x, b.test_x)
    pool = lambda d: torch.cat([d.train_x, d.val_x]).flatten(1).sum(1).sort().values  # noqa: E731
    assert torch.allclose(pool(a), pool(b))
    assert not torch.equal(a.val_y, b.val_y) or not torch.equal(a.val_x, b.val_x)


def test_synthetic_is_learnable_by_a_linear_model():
    ds = load_dataset("synthetic")
    x, y = ds.normalize(ds.train_x).flatten(1), ds.train_y
    g = torch.Generator().manual_seed(0)
    w = (0.01 * torch.randn(x.shape[1], 10, generator=g)).requires_grad_()
    b = torch.zeros(10, requires_grad=True)
    for _ in range(30):  # plain gradient descent (torch.optim's first step costs seconds)
        loss = F.cross_entropy(x @ w + b, y)
        gw, gb = torch.autograd.grad(loss, (w, b))
        with torch.no_grad():
            w -= 0.5 * gw
            b -= 0.5 * gb
    acc = ((ds.normalize(ds.test_x).flatten(1) @ w + b).argmax(1) == ds.test_y).float().mean()
    assert acc > 0.6  # chance is 0.1


def test_validation_split_is_stratified_and_disjoint():
    ds = load_dataset("synthetic:1,6,6,5,1000,10", val_fraction=0.2, seed=3)
    assert len(ds.val_y) == 200
    assert torch.bincount(ds.val_y, minlength=5).tolist() == [40] * 5
    assert torch.bincount(ds.train_y, minlength=5).tolist() == [160] * 5
    # disjoint and complete: train + val is exactly the source training set
    full = load_dataset("synthetic:1,6,6,5,1000,10", val_fraction=0.0)
    assert len(full.val_y) == 0 and full.val_x.shape == (0, 1, 6, 6)
    rows = lambda x: {tuple(r) for r in x.flatten(1).tolist()}  # noqa: E731
    tr, va = rows(ds.train_x), rows(ds.val_x)
    assert not tr & va and tr | va == rows(full.train_x)


def test_statistics_are_computed_from_training_data():
    ds = load_dataset("digits", val_fraction=0.0)
    assert ds.info.mean[0] == pytest.approx(ds.train_x.mean().item(), abs=1e-5)
    assert ds.info.std[0] == pytest.approx(ds.train_x.std(correction=0).item(), abs=1e-5)
    z = ds.normalize(ds.train_x)
    assert z.mean().item() == pytest.approx(0.0, abs=1e-4)
    assert z.std(correction=0).item() == pytest.approx(1.0, abs=1e-4)


def test_normalize_per_channel_and_to():
    ds = load_dataset("synthetic:3,4,4,2,20,4")
    x = torch.rand(5, 3, 4, 4)
    z = ds.normalize(x)
    for c in range(3):
        ref = (x[:, c] - ds.info.mean[c]) / ds.info.std[c]
        assert torch.allclose(z[:, c], ref)
    assert ds.to("cpu") is ds
    meta = ds.to(torch.device("meta"))
    assert meta.train_x.device.type == "meta" and meta.info == ds.info
    assert ds.train_x.device.type == "cpu"  # the original is untouched


@pytest.mark.skipif(not sources.SYSTEM_FASHION_MNIST_DIR.is_dir(),
                    reason="Debian package dataset-fashion-mnist not installed")
def test_fashion_mnist_from_the_debian_package(tmp_path):
    ds = load_dataset("fashion_mnist", tmp_path, download=False)
    _check_layout(ds, (1, 28, 28), 10)
    assert len(ds.train_y) + len(ds.val_y) == 60000 and len(ds.test_y) == 10000
    assert ds.info.mean == (0.2860,) and ds.info.std == (0.3530,)
    assert torch.bincount(ds.test_y).tolist() == [1000] * 10
    assert ds.train_x.mean().item() == pytest.approx(0.2860, abs=0.003)
    assert not list(tmp_path.iterdir())  # nothing downloaded or written


def _assert_unavailable_fast(call):
    import torchvision.datasets  # noqa: F401 - time the failure, not a cold import

    t0 = time.perf_counter()
    with pytest.raises(DatasetUnavailable) as err:
        call()
    assert time.perf_counter() - t0 < 5.0
    msg = str(err.value)
    assert "\n" not in msg
    for alt in OFFLINE_NAMES:
        assert alt in msg
    return msg


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_missing_dataset_without_download_fails_fast(tmp_path, name):
    msg = _assert_unavailable_fast(lambda: load_dataset(name, tmp_path, download=False))
    assert "download=False" in msg


@pytest.mark.parametrize("name", ["mnist", "cifar100"])
def test_missing_dataset_offline_download_fails_fast(tmp_path, monkeypatch, name):
    # as if offline, even on a machine with a network: every host is unreachable
    monkeypatch.setattr(sources, "reachable", lambda host, port, timeout=3.0: False)
    _assert_unavailable_fast(lambda: load_dataset(name, tmp_path, download=True))


def test_fashion_mnist_falls_back_to_torchvision(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "SYSTEM_FASHION_MNIST_DIR", tmp_path / "absent")
    _assert_unavailable_fast(lambda: load_dataset("fashion_mnist", tmp_path, download=False))


def test_failed_download_is_wrapped(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    def broken(self):
        raise urllib.error.URLError("connection reset")

    monkeypatch.setattr(sources, "reachable", lambda host, port, timeout=3.0: True)
    monkeypatch.setattr(tvd.MNIST, "download", broken)
    msg = _assert_unavailable_fast(lambda: load_dataset("mnist", tmp_path))
    assert "connection reset" in msg
    assert socket.getdefaulttimeout() is None  # the download timeout was restored


def test_reachability_probe_is_bounded():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        assert sources.reachable("127.0.0.1", port, timeout=2.0)
    t0 = time.perf_counter()
    assert not sources.reachable("127.0.0.1", port, timeout=2.0)  # closed now
    assert time.perf_counter() - t0 < 2.5


def test_download_hosts_come_from_torchvision(monkeypatch):
    import torchvision.datasets as tvd

    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    assert sources._download_hosts(tvd.CIFAR10) == [("www.cs.toronto.edu", 443)]
    mnist = sources._download_hosts(tvd.MNIST)
    assert len(mnist) == len(tvd.MNIST.mirrors) >= 1
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    assert sources._download_hosts(tvd.CIFAR10) == [("proxy.example", 3128)]


@pytest.mark.parametrize("name", ["imagenet", "synthetic:1,28", "synthetic:1,28,28,1",
                                  "synthetic:a,b,c,d", "folder:"])
def test_bad_names(name):
    with pytest.raises(ValueError) as err:
        load_dataset(name)
    if name == "imagenet":
        for known in ("mnist", "fashion_mnist", "cifar10", "cifar100", "digits", "synthetic",
                      "folder:PATH"):
            assert known in str(err.value)


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5, "0.1", True])
def test_bad_val_fraction(fraction):
    with pytest.raises(ValueError, match="val_fraction"):
        load_dataset("synthetic", val_fraction=fraction)


def test_data_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SPARSENET_DATA", str(tmp_path))
    assert sources.default_data_dir() == tmp_path
    monkeypatch.delenv("SPARSENET_DATA")
    assert sources.default_data_dir().parts[-2:] == (".cache", "sparsenet")


# ----------------------------------------------------------------------------- local MNIST
SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def _write_idx(path: Path, array, compress: bool) -> None:
    """An unsigned-byte idx file: magic 0x0000 08 <ndim>, big-endian dims, the bytes."""
    import numpy as np

    arr = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    data = header + arr.tobytes()
    if compress:
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)


def _fake_mnist(raw_dir: Path, compress: dict[str, bool], n_train=200, n_test=50) -> None:
    g = torch.Generator().manual_seed(0)
    raw_dir.mkdir(parents=True)
    parts = {"train": n_train, "t10k": n_test}
    for prefix, n in parts.items():
        images = torch.randint(0, 256, (n, 28, 28), generator=g)
        labels = torch.arange(n) % 10
        _write_idx(raw_dir / f"{prefix}-images-idx3-ubyte", images.numpy(),
                   compress[f"{prefix}-images"])
        _write_idx(raw_dir / f"{prefix}-labels-idx1-ubyte", labels.numpy(),
                   compress[f"{prefix}-labels"])


@pytest.mark.parametrize("gzipped", [True, False, "mixed"])
def test_mnist_reads_local_idx_files_gzipped_or_not(tmp_path, gzipped):
    keys = ["train-images", "train-labels", "t10k-images", "t10k-labels"]
    compress = {k: (i % 2 == 0 if gzipped == "mixed" else gzipped) for i, k in enumerate(keys)}
    _fake_mnist(tmp_path / "MNIST" / "raw", compress)
    ds = load_dataset("mnist", tmp_path, val_fraction=0.1, download=False)
    _check_layout(ds, (1, 28, 28), 10)
    assert len(ds.train_y) + len(ds.val_y) == 200 and len(ds.test_y) == 50
    assert ds.info.mean == (0.1307,) and ds.info.std == (0.3081,)
    assert ds.test_y.tolist() == [i % 10 for i in range(50)]


def test_missing_mnist_names_where_the_files_go(tmp_path):
    msg = _assert_unavailable_fast(lambda: load_dataset("mnist", tmp_path, download=False))
    assert str(tmp_path / "MNIST" / "raw") in msg and "gzip" in msg


def test_truncated_idx_file_is_refused(tmp_path):
    _fake_mnist(tmp_path / "MNIST" / "raw", dict.fromkeys(
        ["train-images", "train-labels", "t10k-images", "t10k-labels"], False))
    f = tmp_path / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    f.write_bytes(f.read_bytes()[:-10])
    with pytest.raises(ValueError, match="header says"):
        load_dataset("mnist", tmp_path, download=False)


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="../shared/data/mnist not present")
def test_real_mnist_from_the_shared_gz_files(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in SHARED_MNIST.glob("*.gz"):
        (raw / f.name).symlink_to(f)
    ds = load_dataset("mnist", tmp_path, val_fraction=0.0, download=False)
    assert len(ds.train_y) == 60000 and len(ds.test_y) == 10000
    assert torch.bincount(ds.test_y).tolist()[:3] == [980, 1135, 1032]
    assert ds.train_x.mean().item() == pytest.approx(0.1307, abs=0.001)
