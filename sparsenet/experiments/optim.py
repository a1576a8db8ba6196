"""Optimizer details shared by the experiments."""

from __future__ import annotations

import torch


def use_fused(optimizer: torch.optim.Optimizer, fused: bool) -> None:
    """Make a loaded Adam run the kernel its config asks for.

    ``Optimizer.load_state_dict`` takes every group setting from the checkpoint, ``fused``
    included: a checkpoint saved by a plain Adam (older code) would otherwise keep a run
    whose config says fused on the plain kernel. Same maths either way; the fused kernel
    wants its step counters as float32 on the parameter's device.
    """
    for group in optimizer.param_groups:
        if bool(group.get("fused")) == fused:
            continue
        group["fused"] = True if fused else None
        if fused:
            for p in group["params"]:
                state = optimizer.state.get(p)
                if state and torch.is_tensor(state.get("step")):
                    state["step"] = state["step"].to(device=p.device, dtype=torch.float32)
