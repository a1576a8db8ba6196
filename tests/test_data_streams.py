"""Task streams: permuted tasks share data and permute pixels; split tasks partition classes,
with the correct relabelling or the paper's in-place one (label_remap="paper")."""

import numpy as np
import pytest
import torch

from sparsenet.data import load_dataset
from sparsenet.data.streams import Task, paper_labels, permuted_tasks, split_tasks


@pytest.fixture(scope="module")
def ds():
    return load_dataset("synthetic:1,6,5,10,400,100", val_fraction=0.2)


@pytest.fixture(scope="module")
def rgb():
    return load_dataset("synthetic:3,4,4,6,120,30", val_fraction=0.25)


def test_permuted_tasks_permute_pixels_without_copying(ds):
    tasks = permuted_tasks(ds, 3, seed=0)
    assert [t.task_id for t in tasks] == [0, 1, 2]
    for t in tasks:
        assert isinstance(t, Task) and t.classes == tuple(range(10))
        assert t.train_x is ds.train_x and t.test_y is ds.test_y and t.val_x is ds.val_x
        assert torch.equal(t.permutation.sort().values, torch.arange(30))
        xb = ds.test_x[:20]
        out = t.apply(xb)
        assert out.shape == xb.shape
        assert torch.equal(out.flatten(1).sort(1).values, xb.flatten(1).sort(1).values)
        assert not torch.equal(out, xb)
        assert torch.equal(out.flatten(1), xb.flatten(1)[:, t.permutation])
    outs = [t.apply(ds.test_x) for t in tasks]
    assert not torch.equal(outs[0], outs[1]) and not torch.equal(outs[1], outs[2])


def test_permutations_are_seeded_and_prefix_stable(ds):
    a, b = permuted_tasks(ds, 2, seed=4), permuted_tasks(ds, 5, seed=4)
    c = permuted_tasks(ds, 2, seed=5)
    assert all(torch.equal(x.permutation, y.permutation) for x, y in zip(a, b))
    assert not torch.equal(a[0].permutation, c[0].permutation)


def test_permutation_moves_all_channels_of_a_pixel_together(rgb):
    task = permuted_tasks(rgb, 1, seed=0)[0]
    x = rgb.train_x[:4]
    out = task.apply(x)
    for c in range(3):
        assert torch.equal(out[:, c].flatten(1), x[:, c].flatten(1)[:, task.permutation])


def test_split_tasks_partition_classes_and_remap_labels(ds):
    tasks = split_tasks(ds, 5, seed=1)
    seen = [c for t in tasks for c in t.classes]
    assert sorted(seen) == list(range(10)) and seen != list(range(10))  # shuffled, disjoint
    for t in tasks:
        assert t.permutation is None and t.num_classes == 2
        xb = t.test_x[:3]
        assert t.apply(xb) is xb
        for split in ("train", "val", "test"):
            x, y = getattr(t, f"{split}_x"), getattr(t, f"{split}_y")
            full_x, full_y = getattr(ds, f"{split}_x"), getattr(ds, f"{split}_y")
            assert set(y.tolist()) == {0, 1}
            for j, cls in enumerate(t.classes):
                assert torch.equal(x[y == j], full_x[full_y == cls])  # same images, same order
    total = sum(len(t.train_y) for t in tasks)
    assert total == len(ds.train_y)


def test_split_tasks_are_seeded(ds):
    a, b, c = split_tasks(ds, 2, 3), split_tasks(ds, 2, 3), split_tasks(ds, 2, 4)
    assert [t.classes for t in a] == [t.classes for t in b] != [t.classes for t in c]


def test_classes_per_task_may_leave_classes_out(ds):
    tasks = split_tasks(ds, 3, seed=0, classes_per_task=3)
    assert [t.num_classes for t in tasks] == [3, 3, 3]
    assert len({c for t in tasks for c in t.classes}) == 9
    assert all(set(t.train_y.tolist()) == {0, 1, 2} for t in tasks)


@pytest.mark.parametrize("num_tasks,cpt", [(3, None), (0, None), (4, 3), (2, 0), (2.0, None)])
def test_split_task_errors(ds, num_tasks, cpt):
    with pytest.raises(ValueError):
        split_tasks(ds, num_tasks, seed=0, classes_per_task=cpt)


def test_permuted_task_errors(ds):
    with pytest.raises(ValueError):
        permuted_tasks(ds, 0, seed=0)


# --- the paper's relabelling (label_remap="paper") vs the correct one ------------------

@pytest.fixture(scope="module")
def cifar100_like():
    """100 classes, 10 tasks of 10, like split CIFAR-100 (tiny synthetic images)."""
    return load_dataset("synthetic:1,2,2,100,2000,1000", val_fraction=0.1)


def literal_relabelling(targets: np.ndarray, task_classes) -> np.ndarray:
    """The paper's loop (datasets/splitCIFAR100.py), written out on one shared label list."""
    labels = targets.copy()
    for classes in task_classes:
        for j, k in enumerate(classes):
            t_copy = np.array(labels)
            t_copy[t_copy == k] = j
            labels = t_copy
    return labels


@pytest.mark.parametrize("seed", range(5))
def test_correct_split_gives_every_task_exactly_k_labels(cifar100_like, seed):
    for task in split_tasks(cifar100_like, 10, seed):
        for y in (task.train_y, task.val_y, task.test_y):
            assert sorted(y.unique().tolist()) == list(range(10))


@pytest.mark.parametrize("seed", range(5))
def test_paper_relabelling_leaves_some_task_with_fewer_labels(cifar100_like, seed):
    tasks = split_tasks(cifar100_like, 10, seed, label_remap="paper")
    correct = split_tasks(cifar100_like, 10, seed)
    distinct = [len(t.train_y.unique()) for t in tasks]
    assert min(distinct) < 10, distinct  # the bug made visible
    assert all(1 <= d <= 10 for d in distinct)
    for task, ref in zip(tasks, correct):  # same classes and images, only labels differ
        assert task.classes == ref.classes
        assert torch.equal(task.train_x, ref.train_x) and torch.equal(task.test_x, ref.test_x)
    # labels equal the paper's loop run on the image-level label lists (train and test)
    for split in ("train", "test"):
        original = getattr(cifar100_like, f"{split}_y").numpy()
        final = literal_relabelling(original, [t.classes for t in tasks])
        for task in tasks:
            in_task = np.isin(original, task.classes)
            assert np.array_equal(getattr(task, f"{split}_y").numpy(), final[in_task])


def test_paper_labels_chain_within_and_across_tasks():
    # task 0 sets 3->0 and 7->1; task 1 then sets label 1->0 (classes 1 and 7) and label
    # 0->1 (classes 0, 1, 3 and 7): every used class ends with label 1
    lut = paper_labels([torch.tensor([3, 7]), torch.tensor([1, 0])], 8)
    assert lut.tolist() == [1, 1, -1, 1, -1, -1, -1, 1]
    assert lut[[3, 7]].unique().numel() == 1  # task 0 ends with a single label


def test_unknown_label_remap_is_rejected(cifar100_like):
    with pytest.raises(ValueError, match="unknown label_remap"):
        split_tasks(cifar100_like, 10, 0, label_remap="buggy")
