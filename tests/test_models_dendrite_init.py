"""Dendritic segments start at the reference codes' scale: U(-b, b) with
b = 1/sqrt(context_density * dendrite_density * context_dim) (Numenta's DendriticMLP
``_init_sparse_dendrites``; the paper's copy of it). Sizing by context_dim alone made a
one-hot context's segments sqrt(num_tasks) too small."""

import math

import pytest
import torch

from sparsenet.experiments.continual import ContinualConfig
from sparsenet.models.layers import DendriticSegments
from sparsenet.models.registry import build_model


def segment_bounds(config: ContinualConfig, context_dim: int) -> list[tuple[float, float]]:
    """(configured bound, largest drawn |weight|) of every dendritic layer the config builds."""
    model = build_model(config.model, (1, 28, 28), 10, seed=0,
                        **config.model_kwargs(context_dim))
    return [(m.init_bound, float(m.weight.detach().abs().max())) for m in model.modules()
            if isinstance(m, DendriticSegments)]


@pytest.mark.parametrize("context, density, context_dim, expected", [
    ("onehot", None, 10, 1.0),                            # auto: 1/10 for 10 tasks
    ("onehot", 0.05, 10, 1.0 / math.sqrt(0.5)),           # the paper's code
    ("prototype", None, 784, 1.0 / math.sqrt(78.4)),      # Numenta's prototype configs
    ("onehot", 1.0, 10, 1.0 / math.sqrt(10)),             # the old init, on request
])
def test_segment_init_bound_follows_the_context_density(context, density, context_dim,
                                                        expected):
    config = ContinualConfig(num_tasks=10, context=context, context_density=density,
                             hidden=(64, 64))
    bounds = segment_bounds(config, context_dim)
    assert len(bounds) == 2
    for bound, drawn in bounds:
        assert bound == pytest.approx(expected)
        assert 0.95 * expected < drawn <= expected  # 64*10*dim draws reach the bound


def test_sparse_segments_scale_by_surviving_weights_too():
    segments = DendriticSegments(64, 5, 20, sparsity=0.5, context_density=0.1,
                                 generator=torch.Generator().manual_seed(0))
    assert segments.init_bound == pytest.approx(1.0 / math.sqrt(0.1 * 0.5 * 20))
    assert float(segments.weight.detach().abs().max()) <= segments.init_bound


def test_onehot_auto_density_tracks_the_number_of_tasks():
    assert ContinualConfig(num_tasks=4).resolved_context_density() == pytest.approx(0.25)
    assert ContinualConfig(model="mlp", context="none").resolved_context_density() is None


@pytest.mark.parametrize("kwargs, message", [
    ({"context_density": 0.0}, "context_density must be in (0, 1]"),
    ({"model": "mlp", "context": "none", "context_density": 0.1}, "context_density is for"),
    ({"model": "mlp", "context": "none", "hidden_input_density": 1.5},
     "hidden_input_density must be in (0, 1]"),
])
def test_bad_init_options_fail_with_one_line(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("]", r"\]")):
        ContinualConfig(**kwargs)


def test_numenta_mlp_init_assumes_half_dense_relu_inputs():
    """ModifiedInitStandardMLP: hidden and output layers at 1/sqrt(0.5 * fan_in)."""
    plain = build_model("mlp", (1, 28, 28), 10, hidden=[512, 512], seed=0)
    numenta = build_model("mlp", (1, 28, 28), 10, hidden=[512, 512], seed=0,
                          hidden_input_density=0.5)
    first_bound = 1 / math.sqrt(784)
    assert float(numenta.hidden[0].weight.detach().abs().max()) <= first_bound  # pixels: dense
    for layer in (numenta.hidden[1], numenta.output):
        fan_in = layer.weight.shape[1]
        assert float(layer.weight.detach().abs().max()) > 1.3 / math.sqrt(fan_in)
        assert float(layer.weight.detach().abs().max()) <= 1 / math.sqrt(0.5 * fan_in)
    assert float(plain.hidden[1].weight.detach().abs().max()) <= 1 / math.sqrt(512)
