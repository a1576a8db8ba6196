"""Numenta's CNN-2 networks: the stated k-winners and weight densities, the registry contract."""

import pytest
import torch

from sparsenet.models import build_model, get_mask
from sparsenet.models.layers import KWinners, KWinners2d
from sparsenet.models.whydense import per_unit_mask
from sparsenet.pruning import prunable_layers

MNIST = (1, 28, 28)


def active_per_sample(model, x):
    """Non-zero outputs per sample of every activation layer, in forward order."""
    counts = []
    hooks = [act.register_forward_hook(lambda m, i, o: counts.append(
        (o.flatten(1) != 0).sum(1))) for act in [*model.conv_acts, *model.fc_acts]]
    model(x)
    for h in hooks:
        h.remove()
    return counts


def test_sparse_cnn2_has_numentas_activity_and_weight_densities():
    model = build_model("numenta_cnn2_sparse", MNIST, 10, seed=0)
    # conv 5x5 no padding, pool 2: 28 -> 24 -> 12, 12 -> 8 -> 4; FC input 64*4*4
    assert [c.kernel_size for c in model.convs] == [(5, 5), (5, 5)]
    assert model.fcs[0].in_features == 1024 and model.fcs[0].out_features == 700
    assert [type(a) for a in model.conv_acts] == [KWinners2d, KWinners2d]
    assert isinstance(model.fc_acts[0], KWinners)
    x = torch.randn(5, *MNIST)
    for mode in (model.train, model.eval):  # k_inference_factor 1: same k in eval
        mode()
        counts = active_per_sample(model, x)
        # k = round(fraction * C*H*W): 0.1 * 32*12*12, 0.2 * 64*4*4, 0.2 * 700
        assert [c.tolist() for c in counts] == [[461] * 5, [205] * 5, [140] * 5]
    # non-zero inputs per output unit: 60% of 25, 45% of 32*25, 20% of 1024
    for layer, keep in zip([*model.convs, model.fcs[0]], (15, 360, 205)):
        per_unit = (layer.weight != 0).flatten(1).sum(1)
        assert per_unit.tolist() == [keep] * layer.weight.shape[0]
        assert torch.equal(get_mask(layer).flatten(1).sum(1), per_unit.float())
    assert get_mask(model.output) is None  # the classifier stays dense
    for act in [*model.conv_acts, *model.fc_acts]:
        assert act.boost_strength == pytest.approx(1.5)
        assert act.boost_strength_factor == pytest.approx(0.85)


def test_dense_cnn2_is_relu_and_dense():
    model = build_model("numenta_cnn2_dense", MNIST, 10, seed=0)
    assert not [m for m in model.modules() if isinstance(m, (KWinners, KWinners2d))]
    assert all(get_mask(m) is None for m in model.modules() if hasattr(m, "weight"))
    assert sum(p.numel() for p in model.parameters()) == (
        32 * 25 + 32 + 64 * 32 * 25 + 64 + 1024 * 700 + 700 + 700 * 10 + 10)


def test_prunable_contract_and_small_inputs():
    model = build_model("numenta_cnn2_sparse", MNIST, 10, seed=0)
    roles = [(layer.name, layer.role) for layer in prunable_layers(model, "all")]
    assert roles == [("convs.0", "conv"), ("convs.1", "conv"), ("fcs.0", "hidden"),
                     ("output", "output")]
    assert roles[2:] == [(layer.name, layer.role) for layer in prunable_layers(model, "fc")]
    assert model.conv_padding == 0
    small = build_model("numenta_cnn2_sparse", (1, 8, 8), 10, seed=0)  # digits: "same" pads
    assert small.conv_padding == 2 and small(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    with pytest.raises(ValueError, match="too small") as err:
        build_model("numenta_cnn2_dense", (1, 8, 8), 10, conv_padding=0)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="one value per layer"):
        build_model("numenta_cnn2_sparse", MNIST, 10, conv_kw=(0.1,))
    with pytest.raises(ValueError, match="non-zero"):
        build_model("numenta_cnn2_sparse", MNIST, 10, fc_weight_density=(0.0,))


def test_per_unit_mask_is_exact_and_seeded():
    g = torch.Generator().manual_seed(3)
    mask = per_unit_mask((7, 4, 5, 5), 0.45, g)
    assert mask.shape == (7, 4, 5, 5)
    assert mask.flatten(1).sum(1).tolist() == [45.0] * 7  # round(0.45 * 100)
    again = per_unit_mask((7, 4, 5, 5), 0.45, torch.Generator().manual_seed(3))
    assert torch.equal(mask, again)
    assert not torch.equal(mask[0], mask[1])  # rows drawn independently
