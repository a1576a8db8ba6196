"""The experiment kinds' classes, looked up from their one declaration.

Each kind is one :class:`sparsenet.schema.ExperimentKind` line in
``sparsenet.schema.EXPERIMENTS`` (torch-free, so ``analysis`` keys its tidy builders by the
same entries); this module turns a kind's name into its classes. Classes are imported
lazily, so naming one kind does not import the others' dependencies.
"""

from __future__ import annotations

from typing import Any

from sparsenet.schema import EXPERIMENTS, ExperimentKind, experiment_kind

__all__ = ["EXPERIMENTS", "EXPERIMENT_KINDS", "ExperimentKind", "build_config",
           "experiment_kind", "get_experiment"]

EXPERIMENT_KINDS = tuple(EXPERIMENTS)


def get_experiment(kind: str) -> tuple[type, type]:
    """Return ``(ConfigClass, ExperimentClass)`` for a kind name."""
    return experiment_kind(kind).classes()


def build_config(kind: str, flat: dict[str, Any]):
    config_cls, _ = get_experiment(kind)
    return config_cls.from_flat(flat)
