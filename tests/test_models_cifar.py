"""The split-CIFAR CNNs' reference options: fixed fan-in masks, FC init, folded conv gates."""

import math

import pytest
import torch

from sparsenet.models import build_model
from sparsenet.models.layers import (DendriticLayer, dendritic_bias, dendritic_gate,
                                     sparse_conv2d, sparse_linear)
from sparsenet.models.masks import fan_in_mask, random_mask

SHAPE = (3, 32, 32)


def hidden_fcs(model):
    return [fc.base if isinstance(fc, DendriticLayer) else fc for fc in model.fcs]


def test_fan_in_mask_gives_every_unit_the_same_fan_in():
    g = torch.Generator().manual_seed(0)
    mask = fan_in_mask((300, 784), 0.5, g)
    assert torch.all(mask.sum(1) == 392)
    conv = fan_in_mask((8, 3, 3, 3), 0.3, g)
    assert torch.all(conv.flatten(1).sum(1) == round(0.7 * 27))
    layer = random_mask((300, 784), 0.5, g)  # the per-layer draw: fan-ins vary
    assert layer.sum() == 300 * 392 and layer.sum(1).unique().numel() > 10
    assert torch.all(sparse_conv2d(3, 8, 3, 0.3, g, mask_layout="fan_in")
                     .weight_mask.flatten(1).sum(1) == 19)


@pytest.mark.parametrize("model", ["sparse_cnn", "active_dendrites_cnn"])
def test_sparse_cnn_fc_masks_fixed_fan_in_by_default_layer_on_request(model):
    extra = {"context_dim": 4} if model == "active_dendrites_cnn" else {}
    default = build_model(model, SHAPE, 10, seed=0, **extra)
    for fc, (fan_in, units) in zip(hidden_fcs(default), [(2048, 256), (256, 128)]):
        assert fc.weight_mask.shape == (units, fan_in)
        assert torch.all(fc.weight_mask.sum(1) == fan_in // 2)
        assert torch.all((fc.weight != 0).sum(1) == fan_in // 2)
    layer = build_model(model, SHAPE, 10, seed=0, mask_layout="layer", **extra)
    first = hidden_fcs(layer)[0].weight_mask
    assert first.sum() == 256 * 1024 and first.sum(1).unique().numel() > 5


def bound_of(weight):
    """The U(-b, b) bound the non-zero weights were drawn from (max |w| is within 1%)."""
    return weight.abs().max().item()


@pytest.mark.parametrize("model", ["sparse_cnn", "active_dendrites_cnn"])
@pytest.mark.parametrize("fc_init, expected", [
    ("density", {"sparse_cnn": 1 / math.sqrt(0.5), "active_dendrites_cnn": 1 / math.sqrt(0.5)}),
    ("dense", {"sparse_cnn": 1.0, "active_dendrites_cnn": 1.0}),
    # the paper: sparse CNN 1/sqrt(s (1 - s) fan_in), dendritic CNN keeps nn.Linear's
    ("paper", {"sparse_cnn": 1 / math.sqrt(0.25), "active_dendrites_cnn": 1.0}),
])
def test_fc_init_bounds_in_units_of_one_over_sqrt_fan_in(model, fc_init, expected):
    extra = {"context_dim": 4} if model == "active_dendrites_cnn" else {}
    net = build_model(model, SHAPE, 10, seed=1, fc_init=fc_init, **extra)
    for fc in hidden_fcs(net):
        scaled = bound_of(fc.weight) * math.sqrt(fc.in_features)
        assert scaled == pytest.approx(expected[model], rel=0.02)
        assert torch.all(fc.weight[fc.weight_mask == 0] == 0)


def test_paper_fc_init_uses_the_weight_sparsity_twice():
    net = build_model("sparse_cnn", SHAPE, 10, seed=2, fc_init="paper", weight_sparsity=0.3)
    fc = hidden_fcs(net)[1]
    assert bound_of(fc.weight) * math.sqrt(256) == pytest.approx(1 / math.sqrt(0.21), rel=0.02)


def test_bad_cnn_options_are_rejected():
    with pytest.raises(ValueError, match="unknown fc_init"):
        build_model("sparse_cnn", SHAPE, 10, fc_init="kaiming")
    with pytest.raises(ValueError, match="unknown mask_layout"):
        build_model("sparse_cnn", SHAPE, 10, mask_layout="row")
    with pytest.raises(ValueError, match="unknown mask layout"):
        sparse_linear(4, 4, 0.5, mask_layout="row")


@pytest.mark.parametrize("mode", ["gate", "bias"])
def test_folded_conv_gate_equals_the_output_gate_forward_and_backward(mode):
    torch.manual_seed(0)
    layer = DendriticLayer(torch.nn.Conv2d(3, 6, 3, padding=1), 4, 5, mode=mode)
    x = torch.randn(7, 3, 8, 8)
    context = torch.eye(5)[2:3].expand(7, -1)  # one context for the batch, as the engine
    results = []
    for fold in (True, False):
        layer.fold = fold
        layer.zero_grad()
        out = layer(x, context)
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        results.append((out.detach(), [p.grad.clone() for p in layer.parameters()]))
    (folded, g_folded), (plain, g_plain) = results
    assert torch.allclose(folded, plain, atol=1e-6, rtol=1e-5)
    for a, b in zip(g_folded, g_plain):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4)
    # the plain path is the documented function: base output modulated per channel
    acts = layer.segments(context)
    modulated = {"gate": dendritic_gate, "bias": dendritic_bias}[mode](layer.base(x), acts)
    assert torch.allclose(plain, modulated)


def test_dendritic_cnn_outputs_unchanged_by_folding():
    net = build_model("active_dendrites_cnn", SHAPE, 10, seed=3, context_dim=4).eval()
    x = torch.randn(16, *SHAPE)
    context = torch.eye(4)[1:2].expand(16, -1)
    folded = net(x, context)
    for m in net.modules():
        if isinstance(m, DendriticLayer):
            m.fold = False
    assert torch.allclose(folded, net(x, context), atol=1e-5, rtol=1e-4)
    # per-sample contexts (several tasks in one batch) take the unfolded path either way
    mixed = torch.eye(4)[torch.arange(16) % 4]
    assert net(x, mixed).shape == (16, 10)
