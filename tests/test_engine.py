import torch
from torch import nn

from sparsenet.engine import evaluate, setup_torch, train_epoch
from sparsenet.models.masks import random_mask, set_mask


def blobs(n=600, dim=20, classes=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, dim, generator=g) * 3
    y = torch.randint(0, classes, (n,), generator=g)
    x = centers[y] + torch.randn(n, dim, generator=g)
    return x.view(n, 1, 4, 5), y


def net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 4))


def test_train_epoch_learns_well_above_chance():
    setup_torch(1, seed=0, device="cpu")
    x, y = blobs()
    model = net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        train_epoch(model, opt, x, y, batch_size=32, generator=g)
    assert evaluate(model, x, y) > 0.9  # chance is 0.25


def test_masked_weights_stay_exactly_zero_under_adam_with_weight_decay():
    x, y = blobs()
    model = net()
    layer = model[1]
    set_mask(layer, random_mask(layer.weight.shape, 0.7, torch.Generator().manual_seed(1)))
    zeros = layer.weight_mask == 0
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-2)
    g = torch.Generator().manual_seed(0)
    for _ in range(6):  # ~114 steps
        train_epoch(model, opt, x, y, batch_size=32, generator=g)
    assert torch.all(layer.weight[zeros] == 0)
    assert torch.all(layer.weight[~zeros] != 0)


def test_same_seed_same_numbers():
    def run():
        x, y = blobs()
        model = net(seed=3)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        g = torch.Generator().manual_seed(5)
        return [train_epoch(model, opt, x, y, batch_size=50, generator=g) for _ in range(2)]

    assert run() == run()


class ContextNet(nn.Module):
    """Output depends on the context only: tests broadcast and per-sample slicing."""

    def forward(self, x, context):
        assert context.shape[0] == x.shape[0]
        return context


def test_context_broadcast_and_per_sample():
    x = torch.zeros(10, 1, 1, 1)
    y = torch.arange(10) % 3
    one_hot = torch.nn.functional.one_hot(y, 3).float()
    assert evaluate(ContextNet(), x, y, batch_size=4, context=one_hot) == 1.0
    single = torch.tensor([[0.0, 1.0, 0.0]])
    assert evaluate(ContextNet(), x, y, batch_size=4, context=single) == int((y == 1).sum()) / 10
