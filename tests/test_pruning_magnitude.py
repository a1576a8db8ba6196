import pytest
import torch
from torch import nn

from sparsenet.models.masks import get_mask, random_mask, set_mask
from sparsenet.pruning import (MagnitudePruner, PruneRates, apply_ticket, get_preset,
                               prunable_layers, sparsity_stats)


def tiny(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 23),
                         nn.ReLU(), nn.Linear(23, 17), nn.ReLU(), nn.Linear(17, 3))


def run_rounds(model, rates, scope, rounds, policy="fc"):
    layers = prunable_layers(model, policy)
    pruner = MagnitudePruner(layers, rates, scope)
    for _ in range(rounds):
        masks = pruner.step()
        apply_ticket("winning", layers, masks, model=model, rewind_to={
            k: v for k, v in model.state_dict().items() if not k.endswith("weight_mask")})
        # perturb weights between rounds, as training would
        with torch.no_grad():
            for l in layers:
                l.weight.add_(torch.randn_like(l.weight) * 0.1).mul_(get_mask(l.module))
    return layers, pruner


def test_roles_of_a_plain_module():
    roles = [(l.name, l.role) for l in prunable_layers(tiny(), "all")]
    assert roles == [("0", "conv"), ("3", "hidden"), ("5", "hidden"), ("7", "output")]
    assert [l.role for l in prunable_layers(tiny(), "fc")] == ["hidden", "hidden", "output"]
    with pytest.raises(ValueError, match="known"):
        prunable_layers(tiny(), "nope")


@pytest.mark.parametrize("rounds", [1, 3, 12])
def test_layer_scope_counts_follow_the_schedule_within_one(rounds):
    model = tiny()
    rates = PruneRates(conv=0.1, hidden=0.2, output=0.125)
    layers, _ = run_rounds(model, rates, "layer", rounds, policy="all")
    for l in layers:
        n = l.weight.numel()
        expected = round((1 - rates.for_role(l.role)) ** rounds * n)
        kept = int(get_mask(l.module).sum())
        assert abs(kept - max(expected, 1)) <= 1, (l.name, kept, expected)
        assert int((l.weight != 0).sum()) <= kept
    # conv layer pruned only under "all"; biases never
    assert all(get_mask(m) is None for m in model.modules() if isinstance(m, nn.ReLU))


def test_small_layer_does_not_stall():
    # 12.5% of 10 weights: rounding survivors each round would stop at 4
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 2), nn.Linear(2, 5))
    layers, _ = run_rounds(model, PruneRates(hidden=0.125, output=0.125), "layer", 12)
    for l in layers:
        assert int(get_mask(l.module).sum()) == max(1, round(0.875 ** 12 * 10))


def test_layer_scope_keeps_at_least_one_weight_per_layer():
    """A small layer under a high rate would round to zero weights and cut the network in
    two; layer scope keeps its largest surviving weight instead. Catches removing the
    ``max(1, ...)`` floor in ``MagnitudePruner.target_counts`` (the schedule test above
    allows a difference of one weight, so it cannot see a layer at 0 instead of 1)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))  # 6 and 2 weights
    layers, pruner = run_rounds(model, PruneRates(hidden=0.9, output=0.9), "layer", 3)
    assert pruner.density["2"] * 2 < 0.5  # the schedule alone asks for round(0.002) = 0
    for l in layers:
        kept = get_mask(l.module).bool()
        assert int(kept.sum()) == 1, l.name
        w = l.weight.detach().abs()
        assert w[kept].item() > 0  # the one kept weight is a trained, non-zero one
    assert pruner.target_counts() == {"0": 1, "2": 1}
    assert model(torch.randn(4, 3)).shape == (4, 1)


def test_pruning_removes_smallest_surviving_magnitudes():
    model = tiny()
    layers = prunable_layers(model)
    pruner = MagnitudePruner(layers, PruneRates(hidden=0.5, output=0.5))
    masks = pruner.step()
    for l in layers:
        w, m = l.weight.detach().abs(), masks[l.name].bool()
        assert w[m].min() >= w[~m].max()


def test_global_scope_hits_overall_count_and_prunes_unevenly():
    model = tiny()
    with torch.no_grad():
        model[7].weight.mul_(10)  # the output layer's weights dominate globally
    rates = PruneRates(hidden=0.2, output=0.2)
    layers, pruner = run_rounds(model, rates, "global", 4)
    stats = sparsity_stats(model, layers)
    assert stats.remaining == round(0.8 ** 4 * stats.prunable)
    per = {n: r / t for n, (r, t) in stats.layers.items()}
    assert per["7"] > per["3"]


def test_existing_static_mask_is_respected():
    model = tiny()
    layer = model[3]
    set_mask(layer, random_mask(layer.weight.shape, 0.5, torch.Generator().manual_seed(0)))
    static_zero = layer.weight_mask == 0
    layers, _ = run_rounds(model, PruneRates(hidden=0.2, output=0.1), "layer", 2)
    assert (layer.weight_mask[static_zero] == 0).all()
    assert int(layer.weight_mask.sum()) == round(0.64 * (layer.weight.numel() // 2))


def test_accounting_is_exact():
    model = tiny()
    layers, _ = run_rounds(model, PruneRates(hidden=0.5, output=0.5), "layer", 1)
    stats = sparsity_stats(model, layers)
    fc = [model[3], model[5], model[7]]
    dense = sum(m.weight.numel() for m in fc)
    kept = sum(int(m.weight_mask.sum()) for m in fc)
    total = sum(p.numel() for p in model.parameters())
    assert stats.prunable == dense and stats.remaining == kept
    assert stats.weights_remaining == kept / dense
    assert stats.params_remaining == (total - (dense - kept)) / total
    assert stats.compression == dense / kept


def test_rates_and_presets_validate():
    with pytest.raises(ValueError, match="hidden"):
        PruneRates(hidden=1.0)
    with pytest.raises(ValueError, match="output"):
        PruneRates(output=-0.1)
    with pytest.raises(ValueError, match="known"):
        get_preset("nope")
    bain = get_preset("bain2022")
    assert (bain.rates.hidden, bain.rates.output, bain.rates.conv) == (0.125, 0.125, 0.0)
    fc = get_preset("frankle2019", "lenet300_100")
    assert (fc.rates.hidden, fc.rates.output, fc.rates.conv, fc.policy) == (0.2, 0.1, 0.0, "fc")
    conv6 = get_preset("frankle2019", "conv6")
    assert conv6.rates.conv == 0.15 and conv6.policy == "all"
