"""Task contexts: the vector a dendritic network (or a context-input baseline) is given.

- ``none``: no context (``dim == 0``; the network is called without one).
- ``onehot``: the task id, one-hot, ``dim == num_tasks`` (what the paper used).
- ``prototype``: Numenta's context, the mean training input of the task as the network
  sees it (normalized, permuted), flattened, ``dim == C*H*W``. Training always uses the
  task's own prototype. At test time ``infer="oracle"`` gives the task's own prototype,
  ``infer="nearest"`` gives each input the prototype nearest to it (Euclidean) among the
  tasks fitted so far, so the task id is not needed at test time.

Inputs handed to these classes are raw batches plus an optional ``transform`` that maps
them to what the network sees; means and distances are taken in chunks so a 60k-image
task is never materialized in model space at once.
"""

from __future__ import annotations

from typing import Callable

import torch

Transform = Callable[[torch.Tensor], torch.Tensor]
CONTEXT_KINDS = ("none", "onehot", "prototype")
INFER_MODES = ("oracle", "nearest")


def _chunks(x: torch.Tensor, transform: Transform | None, chunk: int):
    for start in range(0, x.shape[0], chunk):
        xb = x[start:start + chunk]
        if transform is not None:
            xb = transform(xb)
        yield xb.reshape(xb.shape[0], -1)


class TaskContexts:
    """Interface: ``fit_task`` once when a task starts, then ask for contexts.

    ``train_context`` is one ``(1, dim)`` row broadcast over the batch (or None);
    ``eval_context`` is ``(1, dim)`` or, for per-sample inference, ``(N, dim)`` aligned
    with ``x`` — both shapes the engine's ``context=`` argument accepts.
    """

    kind: str = "none"
    dim: int = 0

    def fit_task(self, task_id: int, x: torch.Tensor, transform: Transform | None = None) -> None:
        """Learn whatever the context of ``task_id`` needs from its training inputs."""

    def train_context(self, task_id: int) -> torch.Tensor | None:
        return None

    def eval_context(self, task_id: int, x: torch.Tensor,
                     transform: Transform | None = None) -> torch.Tensor | None:
        return None

    def state_dict(self) -> dict:
        return {"kind": self.kind}

    def load_state_dict(self, state: dict) -> None:
        if state.get("kind") != self.kind:
            raise ValueError(f"context state is {state.get('kind')!r}, expected {self.kind!r}")


class NoContext(TaskContexts):
    kind = "none"
    dim = 0


class OneHotContext(TaskContexts):
    kind = "onehot"

    def __init__(self, num_tasks: int, device: torch.device | str = "cpu"):
        if num_tasks < 1:
            raise ValueError(f"num_tasks must be >= 1, got {num_tasks}")
        self.num_tasks = self.dim = int(num_tasks)
        self._eye = torch.eye(self.dim, device=device)

    def train_context(self, task_id: int) -> torch.Tensor:
        if not 0 <= task_id < self.num_tasks:
            raise ValueError(f"task {task_id} out of range 0..{self.num_tasks - 1}")
        return self._eye[task_id:task_id + 1]

    def eval_context(self, task_id: int, x: torch.Tensor,
                     transform: Transform | None = None) -> torch.Tensor:
        return self.train_context(task_id)


class PrototypeContext(TaskContexts):
    kind = "prototype"

    def __init__(self, num_tasks: int, dim: int, infer: str = "oracle",
                 device: torch.device | str = "cpu", chunk: int = 4096):
        if infer not in INFER_MODES:
            raise ValueError(f"unknown context inference {infer!r}; "
                             f"known: {', '.join(INFER_MODES)}")
        if num_tasks < 1 or dim < 1:
            raise ValueError(f"num_tasks and dim must be >= 1, got {num_tasks}, {dim}")
        self.num_tasks, self.dim, self.infer, self.chunk = int(num_tasks), int(dim), infer, chunk
        self.prototypes = torch.zeros(num_tasks, dim, device=device)
        self.fitted = torch.zeros(num_tasks, dtype=torch.bool)

    def fit_task(self, task_id: int, x: torch.Tensor, transform: Transform | None = None) -> None:
        if x.shape[0] == 0:
            raise ValueError(f"task {task_id} has no training inputs to average")
        total = torch.zeros(self.dim, dtype=torch.float64, device=x.device)
        for xb in _chunks(x, transform, self.chunk):
            if xb.shape[1] != self.dim:
                raise ValueError(f"inputs have {xb.shape[1]} features; prototypes have {self.dim}")
            total += xb.sum(0, dtype=torch.float64)
        self.prototypes = self.prototypes.to(x.device)
        self.prototypes[task_id] = (total / x.shape[0]).to(self.prototypes.dtype)
        self.fitted[task_id] = True

    def _prototype(self, task_id: int) -> torch.Tensor:
        if not bool(self.fitted[task_id]):
            raise ValueError(f"no prototype for task {task_id}: call fit_task first")
        return self.prototypes[task_id:task_id + 1]

    def train_context(self, task_id: int) -> torch.Tensor:
        return self._prototype(task_id)

    @torch.no_grad()
    def infer_tasks(self, x: torch.Tensor, transform: Transform | None = None) -> torch.Tensor:
        """Index of the nearest fitted prototype for every row of ``x`` (int64, ``(N,)``)."""
        ids = self.fitted.nonzero().flatten().to(self.prototypes.device)
        if ids.numel() == 0:
            raise ValueError("no prototypes fitted yet")
        protos = self.prototypes[ids]
        sq_norms = (protos * protos).sum(1)
        out = []
        for xb in _chunks(x, transform, self.chunk):
            # argmin ||x - p||^2 = argmin (||p||^2 - 2 x.p); ||x||^2 is the same for all p.
            score = sq_norms.unsqueeze(0) - 2.0 * (xb.to(protos.dtype) @ protos.T)
            out.append(ids[score.argmin(dim=1)])
        if not out:
            return torch.empty(0, dtype=torch.long, device=self.prototypes.device)
        return torch.cat(out)

    def eval_context(self, task_id: int, x: torch.Tensor,
                     transform: Transform | None = None) -> torch.Tensor:
        if self.infer == "oracle":
            return self._prototype(task_id)
        return self.prototypes[self.infer_tasks(x, transform)]

    def state_dict(self) -> dict:
        return {"kind": self.kind, "prototypes": self.prototypes.clone(),
                "fitted": self.fitted.clone()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        prototypes = state["prototypes"].to(self.prototypes.device, self.prototypes.dtype)
        if prototypes.shape != self.prototypes.shape:
            raise ValueError(f"prototype shape {tuple(prototypes.shape)} != "
                             f"{tuple(self.prototypes.shape)}")
        self.prototypes = prototypes.clone()
        self.fitted = state["fitted"].to(torch.bool).cpu().clone()


def build_contexts(kind: str, *, num_tasks: int, input_dim: int, infer: str = "oracle",
                   device: torch.device | str = "cpu") -> TaskContexts:
    """``kind`` in ``CONTEXT_KINDS``; ``input_dim`` = C*H*W (used by ``prototype``)."""
    if kind not in CONTEXT_KINDS:
        raise ValueError(f"unknown context {kind!r}; known: {', '.join(CONTEXT_KINDS)}")
    if infer not in INFER_MODES:
        raise ValueError(f"unknown context inference {infer!r}; known: {', '.join(INFER_MODES)}")
    if infer == "nearest" and kind != "prototype":
        raise ValueError(f"context_infer='nearest' needs context='prototype', got {kind!r}")
    if kind == "onehot":
        return OneHotContext(num_tasks, device=device)
    if kind == "prototype":
        return PrototypeContext(num_tasks, input_dim, infer=infer, device=device)
    return NoContext()
