"""The model registry: one entry per network name, carrying what is known about it.

An entry names the class and the facts other packages ask about (family, whether it takes
a context, which layer roles IMP can prune, whether it is an arm of the continual
benchmarks). Its options are read from the class's own signature: ``fixed`` pins the
arguments that make this network what it is (not options), ``defaults`` a study's chosen
values (read from its presets, never written here), ``required`` the options a caller must
give (no neutral value keeps the network what its name says: a sparse MLP's k-winners, a
dendritic one's segments), ``without`` the class options it does not offer. A class
argument without a default (the MLPs' ``hidden``) is required too.
Adding a network: its class in one file, one :func:`register` line below.
``build_model`` checks keywords against the options, so a typo in a sweep's ``param_space``
fails before any trial starts.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from sparsenet.continual.presets import SPLIT_CIFAR
from sparsenet.models.cifar import CifarBackbone
from sparsenet.models.conv import ConvN, MnistConv, check_input_shape
from sparsenet.models.mlp import MLP, LeNet300_100
from sparsenet.models.whydense import WhyDenseCNN

Shape = Sequence[int]

# mlp: fully connected; conv: Frankle & Carbin's conv nets; cnn: the split-CIFAR backbone;
# whydense: Numenta's CNN-2 ("How Can We Be So Dense?").
FAMILIES = ("mlp", "conv", "cnn", "whydense")
ROLES = ("conv", "hidden", "output")  # what ``prunable_layers("all")`` may return

# Option groups that several networks lack (names of class options, not restated defaults).
KWINNERS = ("kw_fraction", "boost_strength", "boost_strength_factor", "duty_cycle_period",
            "k_inference_factor")
DENDRITES = ("num_segments", "dendrite_sparsity", "context_density")
_POSITIONAL = ("self", "input_shape", "num_classes")


class _Required:
    """The default of an option the caller must give (``model_options`` shows it)."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class ModelEntry:
    """What the registry knows about one network name."""

    name: str
    cls: type[nn.Module]
    family: str
    fixed: Mapping[str, Any] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    without: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    takes_context: bool = False  # dendritic: needs a context (task id or prototype)
    prunable: tuple[str, ...] = ("hidden", "output")  # layer roles IMP can prune
    continual: bool = False  # an arm of the continual-learning benchmarks

    def options(self) -> dict[str, Any]:
        """Keyword options and defaults, from the class signature (plus ``seed``); a
        required option's default is :data:`REQUIRED`."""
        params = inspect.signature(self.cls.__init__).parameters.values()
        opts = {p.name: REQUIRED if p.default is p.empty else p.default for p in params
                if p.name not in _POSITIONAL and p.name not in self.fixed
                and p.name not in self.without
                and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        missing = sorted((set(self.defaults) | set(self.required)) - set(opts))
        if missing:
            raise TypeError(f"model {self.name!r}: defaults or required for non-options "
                            f"{missing}")
        opts.update(self.defaults)
        opts.update({name: REQUIRED for name in self.required})
        opts["seed"] = None
        return opts

    def build(self, input_shape: Shape, num_classes: int, **kwargs: Any) -> nn.Module:
        missing = [name for name, default in self.options().items()
                   if default is REQUIRED and name not in kwargs]
        if missing:
            raise TypeError(f"model {self.name!r} needs option(s) {missing} (a study's "
                            "presets choose them, e.g. sparsenet.continual.presets."
                            "PMNIST_NETWORKS)")
        return self.cls(tuple(input_shape), int(num_classes),
                        **{**self.fixed, **self.defaults, **kwargs})


MODELS: dict[str, ModelEntry] = {}


def register(name: str, cls: type[nn.Module], family: str, **facts: Any) -> ModelEntry:
    """Add network ``name`` (facts: the :class:`ModelEntry` fields)."""
    if name in MODELS:
        raise ValueError(f"model {name!r} is already registered")
    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r}; known: {', '.join(FAMILIES)}")
    entry = ModelEntry(name, cls, family, **facts)
    entry.options()  # a default for a missing option fails at import, not in a trial
    MODELS[name] = entry
    return entry


_CONV = ("conv", "hidden", "output")
_SPARSE_MLP = ("weight_sparsity",)
_CNN_DENSE = ("conv_kw", "fc_kw", "weight_sparsity", "fc_init", "mask_layout")
_MLP_EXTRAS = ("sparse_output", "hidden_input_density")

register("lenet300_100", LeNet300_100, "mlp")
register("mnist_conv", MnistConv, "conv", prunable=_CONV)
register("conv2", ConvN, "conv", fixed={"depth": 2}, prunable=_CONV)
register("conv4", ConvN, "conv", fixed={"depth": 4}, prunable=_CONV)
register("conv6", ConvN, "conv", fixed={"depth": 6}, prunable=_CONV)
register("cifar_backbone", CifarBackbone, "cnn", prunable=_CONV)  # variant is an option
register("mlp", MLP, "mlp", continual=True,
         without=(*_SPARSE_MLP, *KWINNERS, *DENDRITES, "sparse_output"))
# The permuted-MNIST study's widths, k-winners, sparsities and segments are in its presets
# (PMNIST_NETWORKS), which ContinualConfig applies; a bare build names them.
register("sparse_mlp", MLP, "mlp", continual=True, without=(*DENDRITES, *_MLP_EXTRAS),
         required=("kw_fraction",))
register("dendrites_mlp", MLP, "mlp", continual=True, takes_context=True,
         without=(*KWINNERS, "context_input", *_MLP_EXTRAS), required=("num_segments",))
register("active_dendrites_mlp", MLP, "mlp", continual=True, takes_context=True,
         without=("context_input", *_MLP_EXTRAS), required=("kw_fraction", "num_segments"))
register("cnn", CifarBackbone, "cnn", continual=True, fixed={"variant": "cnn"}, prunable=_CONV,
         without=(*_CNN_DENSE, *KWINNERS, *DENDRITES))
register("sparse_cnn", CifarBackbone, "cnn", continual=True, prunable=_CONV,
         fixed={"variant": "sparse_cnn"}, without=DENDRITES,
         defaults=SPLIT_CIFAR.model_defaults("sparse_cnn"))
register("active_dendrites_cnn", CifarBackbone, "cnn", continual=True, takes_context=True,
         prunable=_CONV, fixed={"variant": "active_dendrites_cnn"},
         without=("context_input", "context_density"),
         defaults=SPLIT_CIFAR.model_defaults("active_dendrites_cnn"))
register("numenta_cnn2_dense", WhyDenseCNN, "whydense", prunable=_CONV,
         without=("conv_kw", "fc_kw", "conv_weight_density", "fc_weight_density",
                  "kernel_size", *KWINNERS))
register("numenta_cnn2_sparse", WhyDenseCNN, "whydense", prunable=_CONV, without=("kernel_size",),
         defaults={"conv_kw": (0.1, 0.2), "fc_kw": (0.2,), "conv_weight_density": (0.6, 0.45),
                   "fc_weight_density": (0.2,), "boost_strength": 1.5,
                   "boost_strength_factor": 0.85})

MODEL_NAMES: tuple[str, ...] = tuple(MODELS)


def model_entry(name: str) -> ModelEntry:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    return MODELS[name]


def model_names(*, family: str | Sequence[str] | None = None, takes_context: bool | None = None,
                continual: bool | None = None) -> tuple[str, ...]:
    """Registered names with the given facts (None: any), in registration order."""
    families = (family,) if isinstance(family, str) else family
    return tuple(e.name for e in MODELS.values()
                 if (families is None or e.family in families)
                 and (takes_context is None or e.takes_context == takes_context)
                 and (continual is None or e.continual == continual))


def model_options(name: str) -> dict[str, Any]:
    """The keyword options of model ``name`` and their defaults (plus ``seed``)."""
    return model_entry(name).options()


def build_model(name: str, input_shape: Shape, num_classes: int, **kwargs: Any) -> nn.Module:
    """Build a registered network sized for ``input_shape`` (C, H, W) and ``num_classes``.

    ``generator`` draws the random weight masks; ``seed`` instead builds the whole model
    (initial weights and masks) from that seed without touching the global RNG. With
    neither, everything comes from the global RNG (reproducible under torch.manual_seed).
    """
    entry = model_entry(name)
    known = entry.options()
    unknown = sorted(set(kwargs) - set(known))
    if unknown:
        raise TypeError(f"model {name!r} got unknown option(s) {unknown}; "
                        f"known: {sorted(known)}")
    check_input_shape(input_shape)
    if int(num_classes) < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    seed = kwargs.pop("seed", None)
    if seed is None:
        return entry.build(input_shape, num_classes, **kwargs)
    if kwargs.get("generator") is not None:
        raise ValueError("pass either seed or generator, not both")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return entry.build(input_shape, num_classes, **kwargs)
