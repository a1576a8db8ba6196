"""Task streams for continual learning: permuted tasks and split (class-incremental) tasks.

Permuted tasks share the dataset's tensors and carry only a pixel permutation, applied per
batch by `task.apply`, so 100 tasks cost 100 small index vectors, not 100 dataset copies.
Split tasks hold index-selected tensors (together one copy of the data) with labels
remapped to 0..k-1 for a shared k-way head; their `apply` is the identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from .dataset import Dataset


@dataclass
class Task:
    """One task of a stream; `classes[j]` is the original class behind task label j."""

    task_id: int
    classes: tuple[int, ...]
    train_x: Tensor
    train_y: Tensor
    val_x: Tensor
    val_y: Tensor
    test_x: Tensor
    test_y: Tensor
    permutation: Tensor | None = None  # over the H*W pixel positions (same for every channel)
    _perm_on: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def apply(self, x: Tensor) -> Tensor:
        """The task's view of a (B, C, H, W) batch: pixels permuted, or x itself."""
        if self.permutation is None:
            return x
        perm = self._perm_on.get(x.device)
        if perm is None:
            perm = self._perm_on[x.device] = self.permutation.to(x.device)
        b, c, h, w = x.shape
        return x.reshape(b, c, h * w).index_select(2, perm).view(b, c, h, w)


def _check_num_tasks(num_tasks: int) -> None:
    if isinstance(num_tasks, bool) or not isinstance(num_tasks, int) or num_tasks < 1:
        raise ValueError(f"num_tasks must be a positive integer, got {num_tasks!r}")


def permuted_tasks(ds: Dataset, num_tasks: int, seed: int) -> list[Task]:
    """`num_tasks` tasks over all of `ds`, each with its own random pixel permutation.

    Permutations are drawn in task order from one generator seeded with `seed`, so the
    first tasks are the same whatever `num_tasks` is.
    """
    _check_num_tasks(num_tasks)
    _, h, w = ds.info.shape
    g = torch.Generator().manual_seed(seed)
    classes = tuple(range(ds.info.num_classes))
    tasks = []
    for t in range(num_tasks):
        perm = torch.randperm(h * w, generator=g).to(ds.train_x.device)
        tasks.append(Task(t, classes, ds.train_x, ds.train_y, ds.val_x, ds.val_y,
                          ds.test_x, ds.test_y, permutation=perm))
    return tasks


def _select(x: Tensor, y: Tensor, classes: Tensor, lut: Tensor) -> tuple[Tensor, Tensor]:
    keep = torch.isin(y, classes)
    return x[keep], lut[y[keep]]


def classes_per_split(num_classes: int, num_tasks: int,
                      classes_per_task: int | None = None) -> int:
    """Classes per task of a split stream; raises ValueError when the split cannot be made.

    Separate from `split_tasks` so configs can be checked against a dataset's class count
    before any training starts.
    """
    if classes_per_task is None:
        if num_classes % num_tasks:
            raise ValueError(
                f"{num_classes} classes do not split evenly into {num_tasks} tasks; "
                "pass classes_per_task"
            )
        classes_per_task = num_classes // num_tasks
    if isinstance(classes_per_task, bool) or not isinstance(classes_per_task, int) \
            or classes_per_task < 1 or num_tasks * classes_per_task > num_classes:
        raise ValueError(
            f"classes_per_task={classes_per_task!r} x {num_tasks} tasks does not fit "
            f"{num_classes} classes"
        )
    return classes_per_task


LABEL_REMAPS = ("correct", "paper")


def paper_labels(task_classes: list[Tensor], num_classes: int) -> Tensor:
    """Final label of every original class after the paper's in-place relabelling.

    The paper's `datasets/splitCIFAR100.py` (bainro/active_dendrites) keeps one label list
    for the whole dataset and, task after task, sets every entry equal to the task's j-th
    class to j. Entries already rewritten to a value 0..k-1 are rewritten again when a
    later class (or a later class of the same task) equals that value, and since its
    loaders read the list when batches are drawn, every task sees the final list. Returns
    a (num_classes,) lookup original class -> final label (-1: in no task).
    """
    current = torch.arange(num_classes)
    for cls in task_classes:
        for j, k in enumerate(cls.tolist()):
            current[current == k] = j
    used = torch.cat(task_classes) if task_classes else torch.empty(0, dtype=torch.int64)
    lut = torch.full((num_classes,), -1, dtype=torch.int64)
    lut[used] = current[used]
    return lut


def split_tasks(
    ds: Dataset, num_tasks: int, seed: int, classes_per_task: int | None = None,
    label_remap: str = "correct",
) -> list[Task]:
    """Disjoint class subsets, shuffled by `seed`, one per task; labels become 0..k-1.

    Without `classes_per_task` the classes must divide evenly among the tasks; with it,
    `num_tasks * classes_per_task` classes are used and the rest left out.
    `label_remap="paper"` labels the same class split as the paper's code does (see
    :func:`paper_labels`): a task may then have fewer than k distinct labels, two of its
    classes sharing one. `Task.classes` still lists the task's original classes in order.
    """
    _check_num_tasks(num_tasks)
    if label_remap not in LABEL_REMAPS:
        raise ValueError(f"unknown label_remap {label_remap!r}; known: {', '.join(LABEL_REMAPS)}")
    k_all = ds.info.num_classes
    classes_per_task = classes_per_split(k_all, num_tasks, classes_per_task)
    order = torch.randperm(k_all, generator=torch.Generator().manual_seed(seed))
    chunks = [order[t * classes_per_task:(t + 1) * classes_per_task] for t in range(num_tasks)]
    paper_lut = paper_labels(chunks, k_all) if label_remap == "paper" else None
    dev = ds.train_y.device
    tasks = []
    for t in range(num_tasks):
        cls = chunks[t]
        lut = torch.full((k_all,), -1, dtype=torch.int64)
        lut[cls] = torch.arange(classes_per_task) if paper_lut is None else paper_lut[cls]
        cls_d, lut_d = cls.to(dev), lut.to(dev)
        parts = [_select(x, y, cls_d, lut_d) for x, y in
                 ((ds.train_x, ds.train_y), (ds.val_x, ds.val_y), (ds.test_x, ds.test_y))]
        (trx, try_), (vx, vy), (tex, tey) = parts
        tasks.append(Task(t, tuple(int(c) for c in cls), trx, try_, vx, vy, tex, tey))
    return tasks
