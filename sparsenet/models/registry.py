"""Model names -> constructors, with strict keyword checking and optional seeding.

Each name is a small factory with explicit keyword-only options and the paper's defaults;
``build_model`` checks the keywords against that signature so a typo in a sweep's
``param_space`` fails before any trial starts.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

import torch
from torch import nn

from sparsenet.models.cifar import CifarBackbone
from sparsenet.models.conv import ConvN, MnistConv, check_input_shape
from sparsenet.models.mlp import MLP, LeNet300_100
from sparsenet.models.whydense import WhyDenseCNN

Gen = torch.Generator | None
Shape = Sequence[int]


def _lenet300_100(input_shape: Shape, num_classes: int, *, init: str = "lth",
                  generator: Gen = None) -> nn.Module:
    return LeNet300_100(input_shape, num_classes, init=init, generator=generator)


def _mnist_conv(input_shape: Shape, num_classes: int, *, hidden: Sequence[int] = (256, 256),
                conv2_padding: int = 1, init: str = "lth", generator: Gen = None) -> nn.Module:
    return MnistConv(input_shape, num_classes, hidden=hidden, conv2_padding=conv2_padding,
                     init=init, generator=generator)


def _conv(depth: int) -> Callable[..., nn.Module]:
    def build(input_shape: Shape, num_classes: int, *, hidden: Sequence[int] = (256, 256),
              init: str = "glorot", generator: Gen = None) -> nn.Module:
        return ConvN(input_shape, num_classes, depth, hidden=hidden, init=init,
                     generator=generator)
    return build


def _mlp(input_shape: Shape, num_classes: int, *, hidden: Sequence[int] = (2048, 2048),
         context_input: bool = False, context_dim: int | None = None,
         init: str = "sparse_kaiming", hidden_input_density: float | None = None,
         generator: Gen = None) -> nn.Module:
    """Dense ReLU MLP; ``context_dim`` is only read when ``context_input`` is True.
    ``hidden_input_density=0.5`` is Numenta's ModifiedInitStandardMLP."""
    return MLP(input_shape, num_classes, hidden, context_input=context_input,
               context_dim=context_dim if context_input else None, init=init,
               hidden_input_density=hidden_input_density, generator=generator)


def _sparse_mlp(input_shape: Shape, num_classes: int, *, hidden: Sequence[int] = (2048, 2048),
                kw_fraction: float = 0.05, weight_sparsity: float = 0.5,
                context_input: bool = False, context_dim: int | None = None,
                boost_strength: float = 0.0, boost_strength_factor: float = 1.0,
                duty_cycle_period: int = 1000,
                k_inference_factor: float = 1.0, init: str = "sparse_kaiming",
                generator: Gen = None) -> nn.Module:
    """Sparse weights + k-winners, no dendrites ("sparse representations only")."""
    return MLP(input_shape, num_classes, hidden, weight_sparsity=weight_sparsity,
               kw_fraction=kw_fraction, context_input=context_input,
               context_dim=context_dim if context_input else None,
               boost_strength=boost_strength, boost_strength_factor=boost_strength_factor,
               duty_cycle_period=duty_cycle_period,
               k_inference_factor=k_inference_factor, init=init, generator=generator)


def _dendrites_mlp(input_shape: Shape, num_classes: int, *,
                   hidden: Sequence[int] = (2048, 2048), num_segments: int = 10,
                   context_dim: int | None = None, weight_sparsity: float = 0.5,
                   dendrite_sparsity: float = 0.0, context_density: float = 1.0,
                   init: str = "sparse_kaiming", generator: Gen = None) -> nn.Module:
    """Dendrites with ReLU, no k-winners ("dendrites only"); weights sparse as in the ADN."""
    return MLP(input_shape, num_classes, hidden, weight_sparsity=weight_sparsity,
               num_segments=num_segments, context_dim=context_dim,
               dendrite_sparsity=dendrite_sparsity, context_density=context_density,
               init=init, generator=generator)


def _active_dendrites_mlp(input_shape: Shape, num_classes: int, *,
                          hidden: Sequence[int] = (2048, 2048), kw_fraction: float = 0.05,
                          weight_sparsity: float = 0.5, num_segments: int = 10,
                          context_dim: int | None = None, dendrite_sparsity: float = 0.0,
                          boost_strength: float = 0.0, boost_strength_factor: float = 1.0,
                          duty_cycle_period: int = 1000,
                          k_inference_factor: float = 1.0, init: str = "sparse_kaiming",
                          context_density: float = 1.0,
                          generator: Gen = None) -> nn.Module:
    """Numenta's Active Dendrites Network: dendrites + k-winners 5% + weight sparsity 0.5."""
    return MLP(input_shape, num_classes, hidden, weight_sparsity=weight_sparsity,
               kw_fraction=kw_fraction, num_segments=num_segments, context_dim=context_dim,
               dendrite_sparsity=dendrite_sparsity, context_density=context_density,
               boost_strength=boost_strength,
               boost_strength_factor=boost_strength_factor,
               duty_cycle_period=duty_cycle_period,
               k_inference_factor=k_inference_factor, init=init, generator=generator)


def _cifar_backbone(input_shape: Shape, num_classes: int, *, variant: str = "cnn",
                    conv_channels: Sequence[int] = (64, 32), hidden: Sequence[int] = (256, 128),
                    conv_kw: float | None = None, fc_kw: float | None = None,
                    weight_sparsity: float | None = None, num_segments: int | None = None,
                    context_dim: int | None = None, dendrite_sparsity: float = 0.0,
                    context_input: bool = False, boost_strength: float = 0.0,
                    boost_strength_factor: float = 1.0, duty_cycle_period: int = 1000,
                    k_inference_factor: float = 1.0, fc_init: str = "density",
                    mask_layout: str = "fan_in",
                    generator: Gen = None) -> nn.Module:
    """The split-CIFAR backbone with ``variant`` as an option (for grids over variants)."""
    return CifarBackbone(input_shape, num_classes, variant, conv_channels=conv_channels,
                         hidden=hidden, conv_kw=conv_kw, fc_kw=fc_kw,
                         weight_sparsity=weight_sparsity, num_segments=num_segments,
                         context_dim=context_dim, dendrite_sparsity=dendrite_sparsity,
                         context_input=context_input, boost_strength=boost_strength,
                         boost_strength_factor=boost_strength_factor,
                         duty_cycle_period=duty_cycle_period,
                         k_inference_factor=k_inference_factor, fc_init=fc_init,
                         mask_layout=mask_layout, generator=generator)


def _cnn(input_shape: Shape, num_classes: int, *, conv_channels: Sequence[int] = (64, 32),
         hidden: Sequence[int] = (256, 128), context_input: bool = False,
         context_dim: int | None = None, generator: Gen = None) -> nn.Module:
    return CifarBackbone(input_shape, num_classes, "cnn", conv_channels=conv_channels,
                         hidden=hidden, context_input=context_input,
                         context_dim=context_dim if context_input else None, generator=generator)


def _sparse_cnn(input_shape: Shape, num_classes: int, *, conv_channels: Sequence[int] = (64, 32),
                hidden: Sequence[int] = (256, 128), conv_kw: float = 0.2, fc_kw: float = 0.1,
                weight_sparsity: float = 0.5, context_input: bool = False,
                context_dim: int | None = None, boost_strength: float = 0.0,
                boost_strength_factor: float = 1.0, duty_cycle_period: int = 1000,
                k_inference_factor: float = 1.0, fc_init: str = "density",
                mask_layout: str = "fan_in",
                generator: Gen = None) -> nn.Module:
    return CifarBackbone(input_shape, num_classes, "sparse_cnn", conv_channels=conv_channels,
                         hidden=hidden, conv_kw=conv_kw, fc_kw=fc_kw,
                         weight_sparsity=weight_sparsity, context_input=context_input,
                         context_dim=context_dim if context_input else None,
                         boost_strength=boost_strength,
                         boost_strength_factor=boost_strength_factor,
                         duty_cycle_period=duty_cycle_period,
                         k_inference_factor=k_inference_factor, fc_init=fc_init,
                         mask_layout=mask_layout, generator=generator)


def _active_dendrites_cnn(input_shape: Shape, num_classes: int, *,
                          conv_channels: Sequence[int] = (64, 32),
                          hidden: Sequence[int] = (256, 128), conv_kw: float = 0.2,
                          fc_kw: float = 0.3, weight_sparsity: float = 0.5,
                          num_segments: int = 10, context_dim: int | None = None,
                          dendrite_sparsity: float = 0.0, boost_strength: float = 0.0,
                          boost_strength_factor: float = 1.0, duty_cycle_period: int = 1000,
                          k_inference_factor: float = 1.0, fc_init: str = "density",
                          mask_layout: str = "fan_in",
                          generator: Gen = None) -> nn.Module:
    return CifarBackbone(input_shape, num_classes, "active_dendrites_cnn",
                         conv_channels=conv_channels, hidden=hidden, conv_kw=conv_kw,
                         fc_kw=fc_kw, weight_sparsity=weight_sparsity,
                         num_segments=num_segments, context_dim=context_dim,
                         dendrite_sparsity=dendrite_sparsity, boost_strength=boost_strength,
                         boost_strength_factor=boost_strength_factor,
                         duty_cycle_period=duty_cycle_period,
                         k_inference_factor=k_inference_factor, fc_init=fc_init,
                         mask_layout=mask_layout, generator=generator)


def _numenta_cnn2_dense(input_shape: Shape, num_classes: int, *,
                        channels: Sequence[int] = (32, 64), hidden: Sequence[int] = (700,),
                        conv_padding: int | None = None, generator: Gen = None) -> nn.Module:
    """Numenta's dense CNN-2 ("How Can We Be So Dense?", MNIST): ReLU, dense weights."""
    return WhyDenseCNN(input_shape, num_classes, channels=channels, hidden=hidden,
                       conv_padding=conv_padding, generator=generator)


def _numenta_cnn2_sparse(input_shape: Shape, num_classes: int, *,
                         channels: Sequence[int] = (32, 64), hidden: Sequence[int] = (700,),
                         conv_kw: Sequence[float] = (0.1, 0.2), fc_kw: Sequence[float] = (0.2,),
                         conv_weight_density: Sequence[float] = (0.6, 0.45),
                         fc_weight_density: Sequence[float] = (0.2,),
                         boost_strength: float = 1.5, boost_strength_factor: float = 0.85,
                         duty_cycle_period: int = 1000, k_inference_factor: float = 1.0,
                         conv_padding: int | None = None, generator: Gen = None) -> nn.Module:
    """Numenta's sparse CNN-2: k-winners with boosting, sparse weights (densities = non-zero)."""
    return WhyDenseCNN(input_shape, num_classes, channels=channels, hidden=hidden,
                       conv_kw=conv_kw, fc_kw=fc_kw, conv_weight_density=conv_weight_density,
                       fc_weight_density=fc_weight_density, boost_strength=boost_strength,
                       boost_strength_factor=boost_strength_factor,
                       duty_cycle_period=duty_cycle_period,
                       k_inference_factor=k_inference_factor, conv_padding=conv_padding,
                       generator=generator)


_FACTORIES: dict[str, Callable[..., nn.Module]] = {
    "lenet300_100": _lenet300_100,
    "mnist_conv": _mnist_conv,
    "conv2": _conv(2),
    "conv4": _conv(4),
    "conv6": _conv(6),
    "cifar_backbone": _cifar_backbone,
    "mlp": _mlp,
    "sparse_mlp": _sparse_mlp,
    "dendrites_mlp": _dendrites_mlp,
    "active_dendrites_mlp": _active_dendrites_mlp,
    "cnn": _cnn,
    "sparse_cnn": _sparse_cnn,
    "active_dendrites_cnn": _active_dendrites_cnn,
    "numenta_cnn2_dense": _numenta_cnn2_dense,
    "numenta_cnn2_sparse": _numenta_cnn2_sparse,
}

MODEL_NAMES: tuple[str, ...] = tuple(_FACTORIES)


def _factory(name: str) -> Callable[..., nn.Module]:
    if name not in _FACTORIES:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODEL_NAMES)}")
    return _FACTORIES[name]


def model_options(name: str) -> dict[str, Any]:
    """The keyword options of model ``name`` and their defaults (plus ``seed``)."""
    sig = inspect.signature(_factory(name))
    opts = {p.name: p.default for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY}
    opts["seed"] = None
    return opts


def build_model(name: str, input_shape: Shape, num_classes: int, **kwargs: Any) -> nn.Module:
    """Build a registered network sized for ``input_shape`` (C, H, W) and ``num_classes``.

    ``generator`` draws the random weight masks; ``seed`` instead builds the whole model
    (initial weights and masks) from that seed without touching the global RNG. With
    neither, everything comes from the global RNG (reproducible under torch.manual_seed).
    """
    factory = _factory(name)
    known = model_options(name)
    unknown = sorted(set(kwargs) - set(known))
    if unknown:
        raise TypeError(f"model {name!r} got unknown option(s) {unknown}; "
                        f"known: {sorted(known)}")
    check_input_shape(input_shape)
    if int(num_classes) < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    seed = kwargs.pop("seed", None)
    if seed is None:
        return factory(tuple(input_shape), int(num_classes), **kwargs)
    if kwargs.get("generator") is not None:
        raise ValueError("pass either seed or generator, not both")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return factory(tuple(input_shape), int(num_classes), **kwargs)
