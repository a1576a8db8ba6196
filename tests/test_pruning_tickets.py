"""Tickets: winning masks nested and rewound, random and reinit tickets, rewinding to
iteration k, and which weights a rewind scope restores."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sparsenet.models.masks import MaskEnforcer, get_mask
from sparsenet.pruning import (MagnitudePruner, PruneRates, apply_ticket, prunable_layers,
                               rewind_target, snapshot)


def tiny(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 20), nn.ReLU(), nn.Linear(20, 3))


def train(model, steps=30, wd=0.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(64, 12, generator=g), torch.randint(0, 3, (64,), generator=g)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=wd)
    enforce = MaskEnforcer(model)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        enforce()


def imp(kind, rounds=3, seed=0):
    model = tiny(seed)
    layers = prunable_layers(model)
    pruner = MagnitudePruner(layers, PruneRates(hidden=0.3, output=0.2))
    init = snapshot(model)
    fresh = snapshot(tiny(seed + 100))
    g = torch.Generator().manual_seed(7)
    history = []
    for _ in range(rounds):
        train(model)
        masks = apply_ticket(kind, layers, pruner.step(), model=model, rewind_to=init,
                             fresh_init=fresh, generator=g)
        history.append({k: v.clone() for k, v in masks.items()})
    return model, layers, init, fresh, history


def test_winning_masks_are_nested_and_weights_rewound_to_init():
    model, layers, init, _, history = imp("winning")
    for earlier, later in zip(history, history[1:]):
        for name in earlier:
            assert (later[name] <= earlier[name]).all()
            assert later[name].sum() < earlier[name].sum()
    for l in layers:
        m = get_mask(l.module).bool()
        w0 = init[f"{l.name}.weight"]
        assert torch.equal(l.weight[m], w0[m]) and (l.weight[~m] == 0).all()
        assert torch.equal(l.module.bias, init[f"{l.name}.bias"])  # biases rewound too


def test_rewind_to_iteration_k():
    model = tiny()
    layers = prunable_layers(model)
    pruner = MagnitudePruner(layers, PruneRates(hidden=0.3, output=0.2))
    train(model, steps=3)
    at_k = snapshot(model)
    train(model, steps=20)
    apply_ticket("winning", layers, pruner.step(), model=model, rewind_to=at_k)
    for l in layers:
        m = get_mask(l.module).bool()
        assert torch.equal(l.weight[m], at_k[f"{l.name}.weight"][m])
        assert not torch.equal(at_k[f"{l.name}.weight"], tiny().state_dict()[f"{l.name}.weight"])


def test_random_tickets_match_counts_but_not_masks():
    _, _, _, _, winning = imp("winning")
    model, layers, init, _, random = imp("random")
    for w, r in zip(winning, random):
        for name in w:
            assert int(w[name].sum()) == int(r[name].sum())
            assert not torch.equal(w[name], r[name])
    # drawn afresh each round: not nested
    assert any(((random[1][n] > random[0][n]).any()) for n in random[0])
    for l in layers:  # same init
        m = get_mask(l.module).bool()
        assert torch.equal(l.weight[m], init[f"{l.name}.weight"][m])


def test_reinit_keeps_the_learned_mask_on_new_weights():
    model, layers, init, fresh, history = imp("reinit", rounds=1)
    for l in layers:
        m = get_mask(l.module).bool()
        assert torch.equal(m, history[0][l.name].bool())
        assert torch.equal(l.weight[m], fresh[f"{l.name}.weight"][m])
        assert not torch.equal(l.weight[m], init[f"{l.name}.weight"][m])


def test_pruned_weights_stay_exactly_zero_under_adam_with_weight_decay():
    model, layers, _, _, _ = imp("winning", rounds=2)
    train(model, steps=40, wd=1e-1)
    for l in layers:
        m = get_mask(l.module)
        assert (l.weight[m == 0] == 0).all()
        assert (l.weight[m == 1] != 0).any()


class ConvThenFC(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc(self.conv(x).flatten(1))


@pytest.mark.parametrize("scope,rewound", [
    ("all", {"conv.weight", "conv.bias", "fc.weight", "fc.bias"}),
    ("prunable", {"fc.weight", "fc.bias"}),
    ("prunable+biases", {"fc.weight", "fc.bias", "conv.bias"}),
])
def test_rewind_scope_restores_exactly_its_keys(scope, rewound):
    model = ConvThenFC()
    layers = prunable_layers(model, "fc")
    init = snapshot(model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)  # "training"
    target = rewind_target(model, init, layers, scope)
    for key, value in target.items():
        expected = init[key] if key in rewound else init[key] + 1.0
        assert torch.equal(value, expected), key
    kept = rewind_target(model, init, layers, scope, keep_biases=True)
    assert torch.equal(kept["fc.bias"], init["fc.bias"] + 1.0)
    with pytest.raises(ValueError, match="rewind scope"):
        rewind_target(model, init, layers, "most")
