"""The experiment kinds: one entry per kind, naming its config and experiment classes.

An entry also says what the Tune adapter must arrange for it (a folder for artifacts,
ticket folders in object storage to fetch), so the adapter never branches on a kind's
name. Each config class names its kind (``Config.kind``); ``analysis.tidy`` holds the
matching tidy builders and ``sparsenet.schema.TIDY_FILES`` the tidy file names (a test
checks that all three tables list the same kinds). Classes are imported lazily, so naming
one kind does not import the others' dependencies.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ExperimentKind:
    kind: str
    module: str  # where the two classes live
    config: str  # its Config subclass (``kind`` class attribute equal to ``kind``)
    experiment: str  # the experiment class: step(), done, state_dict(), load_state_dict()
    artifact_dir: bool = False  # gets ``artifact_dir=`` (its trial folder) for files it saves
    ticket_dirs: tuple[str, ...] = ()  # config keys naming an IMP trial whose tickets it reads

    def classes(self) -> tuple[type, type]:
        module = importlib.import_module(self.module)
        return getattr(module, self.config), getattr(module, self.experiment)


EXPERIMENTS: dict[str, ExperimentKind] = {e.kind: e for e in (
    ExperimentKind("imp", "sparsenet.experiments.imp", "IMPConfig", "IMPExperiment",
                   artifact_dir=True),
    ExperimentKind("noise", "sparsenet.experiments.noise", "NoiseConfig", "NoiseExperiment",
                   ticket_dirs=("imp_dir",)),
    ExperimentKind("continual", "sparsenet.experiments.continual", "ContinualConfig",
                   "ContinualExperiment"),
)}

EXPERIMENT_KINDS = tuple(EXPERIMENTS)


def experiment_kind(kind: str) -> ExperimentKind:
    if kind not in EXPERIMENTS:
        raise ValueError(f"unknown experiment kind {kind!r}; known: {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[kind]


def get_experiment(kind: str) -> tuple[type, type]:
    """Return ``(ConfigClass, ExperimentClass)`` for a kind name."""
    return experiment_kind(kind).classes()


def build_config(kind: str, flat: dict[str, Any]):
    config_cls, _ = get_experiment(kind)
    return config_cls.from_flat(flat)
