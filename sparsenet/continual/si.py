"""Synaptic intelligence (Zenke, Poole & Ganguli 2017), usable with any network.

Per parameter a running path integral ``w`` estimates how much each weight lowered the
task loss while it moved: after every optimizer step ``w += -g * delta`` with ``g`` the
gradient of the *task* loss and ``delta`` the step actually taken (after masks were
re-applied, so masked weights contribute nothing). When a task ends the importance grows,
``Omega += w / (Delta^2 + xi)`` with ``Delta`` the parameter's total change over the task,
``w`` is reset and the anchor ``theta*`` moves to the current weights. Training later tasks
adds ``c * sum Omega (theta - theta*)^2`` to the loss.

The gradient at hand after ``backward()`` is that of task loss + penalty. The penalty's
gradient is known in closed form, ``2 c Omega (theta - theta*)`` at the pre-step weights,
so it is subtracted instead of running a second backward pass: ``w`` integrates the task
loss's gradient only, as in Zenke et al. (``grad="total"`` keeps the penalty's part, as
Numenta's mixin does, which reads ``param.grad`` after the combined backward).

Options, each with the reference that sets it:
- ``clip`` (default True): a task's contribution ``w`` is clipped at zero before it is
  folded into Omega (Numenta's ``F.relu(small_omega)``), so a weight whose movement
  *raised* the loss never gets a negative importance, i.e. a reward for moving away.
- ``include_dendrites`` (default False, Numenta's ``apply_to_dendrites``): whether the
  dendritic segment weights are consolidated too; by default only feed-forward weights.
- ``start_task`` (default 1): the first task whose training is penalised. Numenta's mixin
  adds the penalty only when ``current_task > 1``, i.e. from the third task: 2.
Defaults ``c = 0.1``, ``xi = 0.1`` are Numenta's (their SI + dendrites configs).
"""

from __future__ import annotations

import torch
from torch import nn

SI_GRADS = ("task", "total")


def dendrite_parameter_names(model: nn.Module) -> set[str]:
    """Names of the parameters owned by dendritic segment modules of ``model``."""
    from sparsenet.models.layers import DendriticSegments  # lazy: models import nothing here

    names = set()
    for prefix, module in model.named_modules():
        if isinstance(module, DendriticSegments):
            names.update(f"{prefix}.{n}" if prefix else n
                         for n, _ in module.named_parameters(recurse=False))
    return names


class SynapticIntelligence:
    """Call ``begin_task()`` before a task's first step, ``after_step()`` after each
    optimizer step (and mask enforcement), ``penalty()`` inside each batch's loss, and
    ``end_task()`` once the task's final weights are in place."""

    def __init__(self, model: nn.Module, c: float = 0.1, xi: float = 0.1, *,
                 clip: bool = True, include_dendrites: bool = False, grad: str = "task",
                 start_task: int = 1):
        if c < 0:
            raise ValueError(f"si_c must be >= 0, got {c}")
        if xi <= 0:
            raise ValueError(f"si_xi must be > 0, got {xi}")
        if grad not in SI_GRADS:
            raise ValueError(f"unknown si_grad {grad!r}; known: {', '.join(SI_GRADS)}")
        if start_task < 1:
            raise ValueError(f"si_start_task must be >= 1, got {start_task}")
        self.c, self.xi = float(c), float(xi)
        self.clip, self.include_dendrites = bool(clip), bool(include_dendrites)
        self.grad, self.start_task = grad, int(start_task)
        self.tasks_done = 0
        skip = set() if include_dendrites else dendrite_parameter_names(model)
        self.names: list[str] = []
        self.params: list[nn.Parameter] = []
        for name, p in model.named_parameters():
            if p.requires_grad and name not in skip:
                self.names.append(name)
                self.params.append(p)
        with torch.no_grad():
            self.omega = [torch.zeros_like(p) for p in self.params]
            self.w = [torch.zeros_like(p) for p in self.params]
            self.anchor = [p.detach().clone() for p in self.params]  # theta*
            self.start = [p.detach().clone() for p in self.params]   # weights at task start
            self.prev = [p.detach().clone() for p in self.params]    # weights before this step
        self.has_importance = False

    @torch.no_grad()
    def begin_task(self) -> None:
        """Start a path integral from the current weights."""
        for p, w, s, prev in zip(self.params, self.w, self.start, self.prev):
            w.zero_()
            s.copy_(p)
            prev.copy_(p)

    @property
    def active(self) -> bool:
        """Whether the current task's training is penalised."""
        return self.has_importance and self.c != 0.0 and self.tasks_done >= self.start_task

    def penalty(self) -> torch.Tensor:
        """``c * sum Omega (theta - theta*)^2``; zero (and graph-free) before any task ended."""
        if not self.active:
            return torch.zeros((), device=self.params[0].device if self.params else "cpu")
        total = None
        for p, omega, anchor in zip(self.params, self.omega, self.anchor):
            term = (omega * (p - anchor).pow(2)).sum()
            total = term if total is None else total + term
        return self.c * total

    @torch.no_grad()
    def after_step(self) -> None:
        """Accumulate ``-g_task * delta`` for the step just taken."""
        use_penalty = self.active and self.grad == "task"
        for p, w, prev, omega, anchor in zip(self.params, self.w, self.prev, self.omega,
                                             self.anchor):
            if p.grad is not None:
                grad = p.grad
                if use_penalty:
                    grad = grad - 2.0 * self.c * omega * (prev - anchor)
                w.sub_(grad * (p - prev))
            prev.copy_(p)

    @torch.no_grad()
    def end_task(self) -> None:
        """Fold this task's path integral into the importance and move the anchor here."""
        for p, w, s, omega, anchor, prev in zip(self.params, self.w, self.start, self.omega,
                                                self.anchor, self.prev):
            delta = p - s
            omega.add_((w.clamp(min=0.0) if self.clip else w) / (delta * delta + self.xi))
            w.zero_()
            anchor.copy_(p)
            s.copy_(p)
            prev.copy_(p)
        self.has_importance = True
        self.tasks_done += 1

    # -- running (within-task) state, saved alongside best weights for early stopping --
    def running_state(self) -> dict:
        return {"w": [t.clone() for t in self.w]}

    @torch.no_grad()
    def load_running_state(self, state: dict) -> None:
        """Restore the path integral, and continue integrating from the current weights."""
        for w, saved, p, prev in zip(self.w, state["w"], self.params, self.prev):
            w.copy_(saved)
            prev.copy_(p)

    def state_dict(self) -> dict:
        def clone(ts):
            return [t.detach().clone() for t in ts]
        return {"c": self.c, "xi": self.xi, "names": list(self.names),
                "clip": self.clip, "grad": self.grad, "start_task": self.start_task,
                "tasks_done": self.tasks_done,
                "has_importance": self.has_importance, "omega": clone(self.omega),
                "w": clone(self.w), "anchor": clone(self.anchor), "start": clone(self.start),
                "prev": clone(self.prev)}

    @torch.no_grad()
    def load_state_dict(self, state: dict) -> None:
        if list(state["names"]) != self.names:
            raise ValueError("SI state was saved for a model with different parameters")
        self.c, self.xi = float(state["c"]), float(state["xi"])
        self.has_importance = bool(state["has_importance"])
        self.tasks_done = int(state.get("tasks_done", int(self.has_importance)))
        self.clip = bool(state.get("clip", self.clip))
        self.grad = str(state.get("grad", self.grad))
        self.start_task = int(state.get("start_task", self.start_task))
        for key in ("omega", "w", "anchor", "start", "prev"):
            for dst, src in zip(getattr(self, key), state[key]):
                dst.copy_(src)
