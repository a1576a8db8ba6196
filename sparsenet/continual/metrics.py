"""The accuracy matrix of a task sequence and the metrics read from it.

``R[t, i]`` is the test accuracy (a fraction in [0, 1]) on task ``i`` after training on
tasks ``0..t``. Only the lower triangle (``i <= t``) is ever filled; entries not yet
evaluated are NaN, so a half-finished run cannot be mistaken for a finished one.

Convention at ``t = 0`` (one task seen, no earlier task): ``forgetting`` and ``bwt`` are
NaN, the mean over an empty set, not 0.0: "nothing measured" must not average into seed
means as "nothing forgotten". ``analysis.continual`` uses the same convention, so numbers
from the two sides agree. Asking for a metric whose entries were not evaluated raises
``ValueError``.
"""

from __future__ import annotations

import math
from typing import Sequence, Union

import torch

MatrixLike = Union["AccuracyMatrix", torch.Tensor, Sequence[Sequence[float]]]


class AccuracyMatrix:
    """A ``num_tasks x num_tasks`` float64 matrix, NaN until evaluated."""

    def __init__(self, num_tasks: int):
        if num_tasks < 1:
            raise ValueError(f"num_tasks must be >= 1, got {num_tasks}")
        self.num_tasks = int(num_tasks)
        self.values = torch.full((num_tasks, num_tasks), float("nan"), dtype=torch.float64)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.num_tasks, self.num_tasks)

    def _check(self, t: int, i: int | None = None) -> None:
        if not 0 <= t < self.num_tasks:
            raise ValueError(f"task {t} out of range 0..{self.num_tasks - 1}")
        if i is not None and not 0 <= i <= t:
            raise ValueError(f"R[{t}, {i}]: evaluated task must be in 0..{t}")

    def set(self, t: int, i: int, accuracy: float) -> None:
        self._check(t, i)
        self.values[t, i] = float(accuracy)

    def set_row(self, t: int, accuracies: Sequence[float]) -> None:
        """Store ``R[t, 0..t]`` at once (the evaluation after training task ``t``)."""
        self._check(t)
        if len(accuracies) != t + 1:
            raise ValueError(f"row {t} needs {t + 1} accuracies, got {len(accuracies)}")
        for i, acc in enumerate(accuracies):
            self.values[t, i] = float(acc)

    def row(self, t: int) -> list[float]:
        """``[R[t, 0], ..., R[t, t]]`` as Python floats (NaN where not evaluated)."""
        self._check(t)
        return [float(v) for v in self.values[t, : t + 1]]

    def __getitem__(self, index):
        return self.values[index]

    def filled_rows(self) -> int:
        """How many leading rows are fully evaluated (``R[t, 0..t]`` all set)."""
        n = 0
        for t in range(self.num_tasks):
            if torch.isnan(self.values[t, : t + 1]).any():
                break
            n += 1
        return n

    def state_dict(self) -> dict:
        return {"num_tasks": self.num_tasks, "values": self.values.clone()}

    def load_state_dict(self, state: dict) -> None:
        values = torch.as_tensor(state["values"], dtype=torch.float64)
        if tuple(values.shape) != self.shape:
            raise ValueError(f"matrix shape {tuple(values.shape)} != {self.shape}")
        self.values = values.clone()


def _as_tensor(R: MatrixLike) -> torch.Tensor:
    if isinstance(R, AccuracyMatrix):
        return R.values
    values = torch.as_tensor(R, dtype=torch.float64)
    if values.dim() != 2 or values.shape[0] != values.shape[1]:
        raise ValueError(f"accuracy matrix must be square 2-D, got shape {tuple(values.shape)}")
    return values


def _entries(R: torch.Tensor, t: int, *, history: bool) -> torch.Tensor:
    """Row ``t`` up to the diagonal, checked to be evaluated (with ``history``: rows 0..t)."""
    if not 0 <= t < R.shape[0]:
        raise ValueError(f"task {t} out of range 0..{R.shape[0] - 1}")
    first = 0 if history else t
    for r in range(first, t + 1):
        if torch.isnan(R[r, : r + 1]).any():
            raise ValueError(f"accuracy matrix row {r} has unevaluated entries")
    return R[t, : t + 1]


def mean_accuracy(R: MatrixLike, t: int) -> float:
    """Mean of ``R[t, 0..t]``: accuracy over all tasks seen so far (Numenta's metric)."""
    return float(_entries(_as_tensor(R), t, history=False).mean())


def forgetting(R: MatrixLike, t: int) -> float:
    """Mean over ``i < t`` of ``max_{t' in [i, t-1]} R[t', i] - R[t, i]``; NaN at ``t = 0``.

    The best accuracy task ``i`` ever had before the current task, minus what is left.
    Positive means forgotten.
    """
    values = _as_tensor(R)
    _entries(values, t, history=True)
    if t == 0:
        return float("nan")
    drops = [float(values[i:t, i].max() - values[t, i]) for i in range(t)]
    return math.fsum(drops) / t


def bwt(R: MatrixLike, t: int) -> float:
    """Backward transfer: mean over ``i < t`` of ``R[t, i] - R[i, i]``; NaN at ``t = 0``.

    Negative means training later tasks hurt earlier ones (Lopez-Paz & Ranzato 2017).
    """
    values = _as_tensor(R)
    _entries(values, t, history=True)
    if t == 0:
        return float("nan")
    return math.fsum(float(values[t, i] - values[i, i]) for i in range(t)) / t
