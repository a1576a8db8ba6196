"""Small pieces the experiment classes share: the config base, name checks, seeded models.

Kept deliberately small; anything experiment-specific lives in its own module.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Iterable, Protocol, TypeVar, runtime_checkable

import torch
from torch import nn

# The dataset names of the data contract (docs/architecture.md); checked without loading.
DATASET_NAMES = ("mnist", "fashion_mnist", "cifar10", "cifar100", "digits", "synthetic")
DATASET_PREFIXES = ("synthetic:", "folder:")

C = TypeVar("C")


_NESTED = "sparsenet.nested"


def nested(cls: type, default: Any = None) -> Any:
    """A config field holding another config dataclass (or None); it travels flat as one
    ``<field>_<subfield>`` key per subfield (e.g. NoiseConfig's ``control_kind``)."""
    return dataclasses.field(default=default, metadata={_NESTED: cls})


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, (tuple, list)) else value


def flatten(config: Any) -> dict[str, Any]:
    """One key per field of a config dataclass, nested configs prefixed by their field."""
    flat: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if _NESTED in f.metadata:
            if value is not None:
                flat.update({f"{f.name}_{k}": v for k, v in flatten(value).items()})
        else:
            flat[f.name] = _plain(value)
    return flat


def flat_keys(cls: type) -> list[str]:
    """Every key :func:`unflatten` accepts for ``cls``, in field order."""
    keys: list[str] = []
    for f in dataclasses.fields(cls):
        sub = f.metadata.get(_NESTED)
        keys += [f"{f.name}_{k}" for k in flat_keys(sub)] if sub is not None else [f.name]
    return keys


def unflatten(cls: type[C], flat: dict[str, Any]) -> C:
    """The inverse of :func:`flatten`; an unknown key is a one-line ``ValueError``."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    subs = {f.name: f.metadata[_NESTED] for f in fields if _NESTED in f.metadata}
    own = {f.name for f in fields} - set(subs)
    kwargs: dict[str, Any] = {}
    parts: dict[str, dict[str, Any]] = {}
    unknown = []
    for key, value in flat.items():
        if key in own:
            kwargs[key] = value
            continue
        for name, sub in subs.items():
            rest = key[len(name) + 1:]
            if key.startswith(f"{name}_") and rest in flat_keys(sub):
                parts.setdefault(name, {})[rest] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys {sorted(unknown)}; "
                         f"known: {', '.join(flat_keys(cls))}")
    for name, part in parts.items():
        kwargs[name] = unflatten(subs[name], part)
    return cls(**kwargs)


class Config:
    """Base of every experiment config (a dataclass validated in ``__post_init__``).

    ``kind`` (a class attribute) names the experiment kind it configures
    (``sparsenet.experiments.registry``). ``to_flat()`` / ``from_flat()`` give Tune's
    ``param_space``: one key per field, nested configs (:func:`nested`) as
    ``<field>_<subfield>``; tuples travel as lists and come back as tuples in
    ``__post_init__``. The flat key names are the result files' config columns: keep them.
    """

    kind: ClassVar[str] = ""

    def to_flat(self) -> dict[str, Any]:
        return flatten(self)

    @classmethod
    def from_flat(cls: type[C], flat: dict[str, Any]) -> C:
        return unflatten(cls, flat)


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


# ---------------------------------------------------------------- checkpoints (shared)
def check_state(what: str, state: dict[str, Any], version: int, config: Any) -> None:
    """A checkpoint must come from this code's state layout and from the same config."""
    if state.get("version") != version:
        raise ValueError(f"{what} state version {state.get('version')} != {version}")
    if state["config"] != config.to_flat():
        raise ValueError(f"{what} state was saved with a different config")


def cuda_rng_state(device: torch.device) -> torch.Tensor | None:
    """The CUDA generator's state of ``device`` (None on the CPU), for a checkpoint."""
    return torch.cuda.get_rng_state(device) if device.type == "cuda" else None


def restore_cuda_rng(state: torch.Tensor | None, device: torch.device) -> None:
    """Inverse of :func:`cuda_rng_state`; a checkpoint without one (CPU, older) is a no-op."""
    if state is not None and device.type == "cuda":
        torch.cuda.set_rng_state(state, device)


@runtime_checkable
class Experiment(Protocol):
    """What the Tune adapter drives: one ``step()`` per epoch (or network) until ``done``,
    and a checkpoint that resumes bit-for-bit (``weights_only`` loadable)."""

    done: bool

    def step(self) -> dict[str, Any]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...
