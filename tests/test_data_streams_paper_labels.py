"""Split tasks with the paper's in-place relabelling (label_remap="paper") vs the correct one."""

import numpy as np
import pytest
import torch

from sparsenet.data import load_dataset
from sparsenet.data.streams import paper_labels, split_tasks


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
