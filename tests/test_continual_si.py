import torch
from torch import nn

from sparsenet.continual.si import SynapticIntelligence
from sparsenet.engine import train_epoch
from sparsenet.models.masks import random_mask, set_mask


def data(seed, n=256):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 2, 4, generator=g)
    y = (x.flatten(1)[:, seed % 8] > 0).long()
    return x, y


def model():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    set_mask(net[1], random_mask(net[1].weight.shape, 0.5, torch.Generator().manual_seed(0)))
    return net


def run_task(net, si, opt, seed, epochs=3):
    x, y = data(seed)
    g = torch.Generator().manual_seed(seed)
    si.begin_task()
    for _ in range(epochs):
        train_epoch(net, opt, x, y, batch_size=32, generator=g, extra_loss=si.penalty,
                    after_step=si.after_step)
    si.end_task()


def test_penalty_zero_at_task_start_positive_after_moving():
    net = model()
    si = SynapticIntelligence(net, c=0.1, xi=0.1)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    assert float(si.penalty()) == 0.0
    run_task(net, si, opt, seed=1)
    assert sum(float(o.sum()) for o in si.omega) > 0  # training lowered the loss: importance
    si.begin_task()
    assert float(si.penalty().detach()) == 0.0  # weights sit on the anchor
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1)
    assert float(si.penalty().detach()) > 0.0


def test_masked_weights_stay_zero_and_get_no_importance():
    net = model()
    si = SynapticIntelligence(net)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    run_task(net, si, opt, seed=1)
    run_task(net, si, opt, seed=2)
    zeros = net[1].weight_mask == 0
    assert torch.all(net[1].weight[zeros] == 0)
    omega_w = si.omega[si.names.index("1.weight")]
    assert torch.all(omega_w[zeros] == 0)


def test_penalty_holds_important_weights_near_the_anchor():
    """SI's pull is real: with a huge c the weights barely leave task 0's solution."""
    drift = {}
    for c in (0.0, 1e4):
        net = model()
        si = SynapticIntelligence(net, c=c)
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        run_task(net, si, opt, seed=1)
        anchor = [a.clone() for a in si.anchor]
        run_task(net, si, opt, seed=2)
        drift[c] = sum(float((p.detach() - a).abs().sum()) for p, a in zip(si.params, anchor))
    assert drift[1e4] < 0.5 * drift[0.0]


def test_path_integral_uses_task_gradient_only():
    """w integrates -g_task * delta: the closed-form penalty gradient is removed."""
    net = nn.Linear(1, 1, bias=False)
    si = SynapticIntelligence(net, c=0.5, xi=0.1)
    with torch.no_grad():
        net.weight.fill_(1.0)
    si.end_task()  # anchor at 1.0, omega = 0 + w(0) = 0
    si.omega[0].fill_(2.0)
    si.begin_task()
    with torch.no_grad():
        net.weight.fill_(3.0)  # move away from the anchor first
    si.prev[0].fill_(3.0)
    x = torch.ones(1, 1)
    loss = net(x).sum() + si.penalty()  # task grad = 1; penalty grad = 2*.5*2*(3-1) = 4
    loss.backward()
    with torch.no_grad():
        net.weight.sub_(0.1)  # a step of -0.1
    si.after_step()
    torch.testing.assert_close(si.w[0], torch.tensor([[0.1]]))  # -(1) * (-0.1)
