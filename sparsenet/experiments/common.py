"""Small pieces the experiment classes share: the config base, name checks, seeded models.

Kept deliberately small; anything experiment-specific lives in its own module.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar, Iterable, Protocol, TypeVar, runtime_checkable

import torch
from torch import nn

# The dataset names of the data contract (docs/architecture.md); checked without loading.
DATASET_NAMES = ("mnist", "fashion_mnist", "cifar10", "cifar100", "digits", "synthetic")
DATASET_PREFIXES = ("synthetic:", "folder:")

C = TypeVar("C")


_NESTED = "sparsenet.nested"
_CHOICES, _RANGE, _WHAT = "sparsenet.choices", "sparsenet.range", "sparsenet.what"
_HELP = "sparsenet.help"


@dataclasses.dataclass(frozen=True)
class Range:
    """An allowed interval for a numeric field; ``None``: unbounded on that side."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False  # True: ``low`` itself is excluded
    high_open: bool = False

    def __contains__(self, value: Any) -> bool:
        try:
            return ((self.low is None or (value > self.low if self.low_open else value >= self.low))
                    and (self.high is None
                         or (value < self.high if self.high_open else value <= self.high)))
        except TypeError:  # None, a string
            return False

    def __str__(self) -> str:
        if self.low is not None and self.high is not None:
            return (f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}"
                    f"{')' if self.high_open else ']'}")
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return f"{'<' if self.high_open else '<='} {self.high:g}"


def option(default: Any, *, choices: Iterable[Any] | None = None, range: Range | None = None,
           what: str | None = None, help: str | None = None) -> Any:
    """A config field whose allowed values are declared once: ``Config.__post_init__``
    checks them (every element of a tuple value; ``None`` passes when it is the default)
    and CLIs read them back with :func:`choices_of`. ``what`` names it in the error;
    ``help`` says what it means: a sweep's flag for the field is generated from these
    (``sparsenet.tune.flags``), so adding an option is adding a field."""
    metadata: dict[str, Any] = {}
    if help is not None:
        metadata[_HELP] = help
    if choices is not None:
        metadata[_CHOICES] = tuple(choices)
    if range is not None:
        metadata[_RANGE] = range
    if what is not None:
        metadata[_WHAT] = what
    return dataclasses.field(default=default, metadata=metadata)


def choices_of(cls: type, name: str) -> tuple[Any, ...]:
    """The choices field ``name`` of config class ``cls`` declares (for ``argparse``)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    return fields[name].metadata[_CHOICES]


def help_of(cls: type, name: str) -> str:
    """The help text field ``name`` of config class ``cls`` declares ('' if none)."""
    return _field(cls, name).metadata.get(_HELP, "")


def range_of(cls: type, name: str) -> Range | None:
    """The range field ``name`` of config class ``cls`` declares (None if none)."""
    return _field(cls, name).metadata.get(_RANGE)


def declared_choices(cls: type, name: str) -> tuple[Any, ...] | None:
    """The choices field ``name`` declares, or None (:func:`choices_of` requires them)."""
    return _field(cls, name).metadata.get(_CHOICES)


def _field(cls: type, name: str) -> dataclasses.Field:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if name not in fields:
        raise KeyError(f"{cls.__name__} has no field {name!r}")
    return fields[name]


def check_fields(config: Any) -> None:
    """The declared choices and ranges of a config dataclass, one ``ValueError`` line."""
    for f in dataclasses.fields(config):
        if _CHOICES not in f.metadata and _RANGE not in f.metadata:
            continue
        value = getattr(config, f.name)
        if value is None and f.default is None:
            continue
        what = f.metadata.get(_WHAT, f.name)
        for item in value if isinstance(value, (tuple, list)) else (value,):
            if _CHOICES in f.metadata:
                check_choice(what, item, f.metadata[_CHOICES])
            if _RANGE in f.metadata and item not in f.metadata[_RANGE]:
                raise ValueError(f"{what} must be {f.metadata[_RANGE]}, got {item}")


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
    Allowed values are declared on the fields (:func:`option`), not restated in code.
    """

    kind: ClassVar[str] = ""

    def __post_init__(self) -> None:
        """Checks the choices and ranges its fields declare (:func:`option`); a subclass
        calls it first, then checks what depends on several fields."""
        check_fields(self)

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


# ---------------------------------------------------------------- console text (shared)
def finite(value: Any) -> bool:
    """A real, finite number (not a bool, None or NaN)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def percent(value: Any) -> str:
    """A fraction as ``91.2%``; ``—`` when it is not a finite number."""
    return f"{100 * value:.1f}%" if finite(value) else "—"


# ---------------------------------------------------------------- checkpoints (shared)
def check_state(what: str, state: dict[str, Any], version: int, config: Any) -> None:
    """A checkpoint must come from this code's state layout and from the same config.

    A field added to the config after the checkpoint was written is absent from it; it
    matches when the run uses that field's default (what the older code did).
    """
    if state.get("version") != version:
        raise ValueError(f"{what} state version {state.get('version')} != {version}")
    saved, current = state["config"], config.to_flat()
    added = {k: v for k, v in current.items() if k not in saved}
    defaults = field_defaults(type(config))
    if ({k: v for k, v in current.items() if k in saved} != saved
            or any(k not in defaults or defaults[k] != v for k, v in added.items())):
        raise ValueError(f"{what} state was saved with a different config")


def field_defaults(cls: type) -> dict[str, Any]:
    """Flat key -> default of each plain (not nested) field of config class ``cls``."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if _NESTED in f.metadata:
            continue
        if f.default is not dataclasses.MISSING:
            out[f.name] = _plain(f.default)
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            out[f.name] = _plain(f.default_factory())  # type: ignore[misc]
    return out


def cuda_rng_state(device: torch.device) -> torch.Tensor | None:
    """The CUDA generator's state of ``device`` (None on the CPU), for a checkpoint."""
    return torch.cuda.get_rng_state(device) if device.type == "cuda" else None


def restore_cuda_rng(state: torch.Tensor | None, device: torch.device) -> None:
    """Inverse of :func:`cuda_rng_state`; a checkpoint without one (CPU, older) is a no-op."""
    if state is not None and device.type == "cuda":
        torch.cuda.set_rng_state(state, device)


def capture_rng(device: torch.device, generators: dict[str, torch.Generator | None], *,
                torch_key: str = "torch_rng", cuda_key: str = "cuda_rng") -> dict[str, Any]:
    """Every random stream a resumed run needs (tensors only, ``weights_only`` loadable):
    the experiment's own generators by name (None stays None), torch's global generator
    and, on CUDA, the device's. The key names are each checkpoint layout's own."""
    state = {name: None if g is None else g.get_state() for name, g in generators.items()}
    state[torch_key] = torch.get_rng_state()
    state[cuda_key] = cuda_rng_state(device)
    return state


def restore_rng(state: dict[str, Any], device: torch.device,
                generators: dict[str, torch.Generator | None], *,
                torch_key: str = "torch_rng", cuda_key: str = "cuda_rng") -> None:
    """Inverse of :func:`capture_rng` (a checkpoint without a CUDA state restores none)."""
    for name, g in generators.items():
        if g is not None:
            g.set_state(state[name])
    torch.set_rng_state(state[torch_key])
    restore_cuda_rng(state.get(cuda_key), device)


@runtime_checkable
class Experiment(Protocol):
    """What the Tune adapter drives: one ``step()`` per epoch (or network) until ``done``,
    and a checkpoint that resumes bit-for-bit (``weights_only`` loadable)."""

    done: bool

    def step(self) -> dict[str, Any]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...

    # Optional, as a staticmethod: ``summary(row) -> str``, the one thing to know about a
    # finished trial from its last row (the sweep console's line; sparsenet.tune.console).
