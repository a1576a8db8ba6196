"""One Ray Tune Trainable over any registered experiment.

The experiment classes hold all the science and know nothing of Ray; this adapter only
translates: Tune's flat config -> a typed config, ``step()`` -> a result row, and
``state_dict()`` <-> a checkpoint file. Checkpoints are taken where an experiment says a
round or task ended, so a restarted trial repeats at most that round or task.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import ray
import torch
from ray import tune

from sparsenet.engine import setup_torch
from sparsenet.experiments.registry import experiment_kind
from sparsenet.schema import BOUNDARY_KEYS, TICKETS_DIR
from sparsenet.storage import is_uri, location

# Keys of a trial's config that steer the run but are not part of the experiment's config.
RUNTIME_KEYS = ("experiment", "data_dir")
CHECKPOINT_FILE = "experiment_state.pt"


def split_config(config: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
    kind = config["experiment"]
    data_dir = config.get("data_dir")
    flat = {k: v for k, v in config.items() if k not in RUNTIME_KEYS}
    return kind, data_dir, flat


def _threads_from_resources(trainable: tune.Trainable) -> int:
    resources = trainable.trial_resources
    if resources is None:
        return 1
    cpus = resources.required_resources.get("CPU", 1)
    return max(1, int(round(cpus)))


def _node_id() -> str | None:
    """The Ray node this trial runs on (None outside a Ray worker)."""
    if not ray.is_initialized():
        return None
    try:
        return ray.get_runtime_context().get_node_id()
    except Exception:  # noqa: BLE001 - e.g. a driver without a node
        return None


def _device_for_trial() -> str:
    """CUDA only when Ray gave this trial a GPU and torch can see one."""
    if not ray.is_initialized():  # outside Ray (ray.get_gpu_ids() would start a cluster)
        return "cpu"
    try:
        gpu_ids = ray.get_gpu_ids()
    except Exception:  # noqa: BLE001 - outside a Ray worker
        gpu_ids = []
    return "cuda" if gpu_ids and torch.cuda.is_available() else "cpu"


def _fetch_tickets(imp_dir: str) -> Path:
    """An IMP trial in object storage: its tickets copied into this trial's working folder
    (every node can read the bucket; no node shares the driver's disk)."""
    local = Path(os.getcwd()) / "imp_trial"
    location(imp_dir).download(local, keep=lambda rel: rel.startswith(f"{TICKETS_DIR}/"))
    return local


class ExperimentTrainable(tune.Trainable):
    """``config["experiment"]`` names the kind; the other keys are its flat config."""

    def setup(self, config: dict[str, Any]) -> None:
        kind, data_dir, flat = split_config(config)
        entry = experiment_kind(kind)  # an unknown kind fails here, with the known ones
        for key in entry.ticket_dirs:
            if flat.get(key) and is_uri(flat[key]):
                flat[key] = str(_fetch_tickets(flat[key]))
        config_cls, experiment_cls = entry.classes()
        experiment_config = config_cls.from_flat(flat)
        threads = _threads_from_resources(self)
        device = setup_torch(threads, seed=getattr(experiment_config, "seed", 0),
                             device=_device_for_trial())
        kwargs: dict[str, Any] = dict(data_dir=data_dir, device=str(device), num_threads=threads)
        if entry.artifact_dir:
            # Files it saves (IMP: every round's ticket) land in the trial folder (synced).
            kwargs["artifact_dir"] = Path(os.getcwd())
        self.kind = kind
        self.experiment = experiment_cls(experiment_config, **kwargs)
        # Where every row ran (Tune itself adds pid, hostname and node_ip; two nodes on one
        # machine share an ip, so the node id tells them apart).
        self.placement = {"node_id": _node_id(), "device": str(device)}

    def step(self) -> dict[str, Any]:
        if self.experiment.done:
            # Restored from the checkpoint of its last step (a driver that died before it
            # recorded the trial as finished): nothing is left to run, and no metrics are
            # repeated (analysis reads the rows before this one).
            return {**self.placement, "done": True}
        result = dict(self.experiment.step())
        result.update(self.placement)
        loss = result.get("train_loss")
        if isinstance(loss, float) and not math.isfinite(loss):
            # A diverged trial ends here with its reason; the sweep goes on.
            result["stopped_reason"] = f"diverged: train_loss={loss}"
            result["done"] = True
            return result
        if any(result.get(key) for key in BOUNDARY_KEYS):
            result["should_checkpoint"] = True
        result["done"] = bool(self.experiment.done)
        return result

    def save_checkpoint(self, checkpoint_dir: str) -> dict | None:
        torch.save(self.experiment.state_dict(), Path(checkpoint_dir) / CHECKPOINT_FILE)
        return None

    def load_checkpoint(self, checkpoint: str | dict | None) -> None:
        path = Path(checkpoint) / CHECKPOINT_FILE
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.experiment.load_state_dict(state)
