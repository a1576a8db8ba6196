"""Ticket files: the network of an IMP round saved to disk, and rebuilt from it.

A ticket file (``tickets/round_XX.pt`` in an IMP trial folder, ``sparsenet.schema``) holds
the round's ``state_dict`` (masks included) and what is needed to rebuild the network
without data: ``config`` (the flat IMPConfig, whose ``arch`` names the network),
``input_shape``, ``num_classes``. IMP writes them; the noise experiment and the noise
sweep read them, so they live here rather than inside the IMP experiment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sparsenet.models.masks import set_mask
from sparsenet.schema import ticket_file


def ticket_path(artifact_dir: str | Path, round_: int) -> Path:
    """Where the network trained in round ``round_`` is saved."""
    return Path(artifact_dir) / ticket_file(round_)


def write_ticket(path: str | Path, record: dict[str, Any]) -> None:
    """Save atomically (a reader never sees half a file, e.g. a sync mid-write)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(record, tmp)
    os.replace(tmp, path)


def read_ticket(path: str | Path) -> dict[str, Any]:
    """A saved round record (see ``IMPExperiment._save_ticket``); tensors memory-mapped."""
    return torch.load(path, map_location="cpu", weights_only=True, mmap=True)


def load_ticket(path: str | Path, device: str | torch.device = "cpu"
                ) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the network saved for a round, masks included, without loading any data."""
    from sparsenet.models.registry import build_model  # lazy: pruning stays light to import

    record = read_ticket(path)
    config = record["config"]
    model = build_model(config["arch"], tuple(record["input_shape"]), int(record["num_classes"]))
    state = record["state_dict"]
    modules = dict(model.named_modules())
    for key, mask in state.items():
        if key.endswith(".weight_mask"):
            set_mask(modules[key[: -len(".weight_mask")]], mask)
    model.load_state_dict(state)
    return model.to(device), record
