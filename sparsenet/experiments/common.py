"""Small pieces the experiment classes share: flat configs, name checks, seeded models.

Kept deliberately small; anything experiment-specific lives in its own module.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, TypeVar

from torch import nn

# The dataset names of the data contract (docs/architecture.md); checked without loading.
DATASET_NAMES = ("mnist", "fashion_mnist", "cifar10", "cifar100", "digits", "synthetic")
DATASET_PREFIXES = ("synthetic:", "folder:")

C = TypeVar("C")


class FlatConfig:
    """``to_flat()`` / ``from_flat()`` for dataclass configs: one key per field (Tune's
    ``param_space``); tuples travel as lists and come back as tuples in ``__post_init__``."""

    def to_flat(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v)
                for k, v in dataclasses.asdict(self).items()}  # type: ignore[call-overload]

    @classmethod
    def from_flat(cls: type[C], flat: dict[str, Any]) -> C:
        known = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        unknown = sorted(set(flat) - set(known))
        if unknown:
            raise ValueError(f"unknown {cls.__name__} keys {unknown}; known: {', '.join(known)}")
        return cls(**flat)


def check_choice(what: str, value: Any, known: Iterable[Any]) -> None:
    known = tuple(known)
    if value not in known:
        raise ValueError(f"unknown {what} {value!r}; known: {', '.join(map(str, known))}")


def check_dataset_name(name: str) -> None:
    if not isinstance(name, str) or not (
            name in DATASET_NAMES
            or any(name.startswith(p) and len(name) > len(p) for p in DATASET_PREFIXES)):
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASET_NAMES)}, "
                         "synthetic:C,H,W,K, folder:PATH")


def check_arch_name(name: str) -> None:
    from sparsenet.models.registry import MODEL_NAMES  # lazy: configs stay cheap to import

    check_choice("arch", name, MODEL_NAMES)


def seeded_model(arch: str, input_shape: tuple[int, ...], num_classes: int, seed: int,
                 **kwargs: Any) -> nn.Module:
    """Build on the CPU from ``seed`` alone, leaving the global RNG untouched: the init
    depends on (arch, seed) only, so winning, random and reinit arms of one seed share it."""
    from sparsenet.models.registry import build_model

    return build_model(arch, tuple(input_shape), num_classes, seed=int(seed), **kwargs)


def derived_seed(seed: int, *parts: int) -> int:
    """A distinct, reproducible seed per (seed, purpose, index...)."""
    out = int(seed) & 0xFFFFFFFF
    for p in parts:
        out = (out * 1_000_003 + int(p) + 1) % (2**63 - 1)
    return out
