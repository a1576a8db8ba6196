"""Names of experiment kinds -> (config class, experiment class).

Imports are lazy so that naming one kind does not import the others' dependencies.
"""

from __future__ import annotations

import importlib
from typing import Any

_KINDS: dict[str, tuple[str, str, str]] = {
    "imp": ("sparsenet.experiments.imp", "IMPConfig", "IMPExperiment"),
    "noise": ("sparsenet.experiments.noise", "NoiseConfig", "NoiseExperiment"),
    "continual": ("sparsenet.experiments.continual", "ContinualConfig", "ContinualExperiment"),
}

EXPERIMENT_KINDS = tuple(_KINDS)


def get_experiment(kind: str) -> tuple[type, type]:
    """Return ``(ConfigClass, ExperimentClass)`` for a kind name."""
    if kind not in _KINDS:
        raise ValueError(f"unknown experiment kind {kind!r}; known: {', '.join(_KINDS)}")
    module_name, config_name, experiment_name = _KINDS[kind]
    module = importlib.import_module(module_name)
    return getattr(module, config_name), getattr(module, experiment_name)


def build_config(kind: str, flat: dict[str, Any]):
    config_cls, _ = get_experiment(kind)
    return config_cls.from_flat(flat)
