"""Synaptic Intelligence: the penalty, the path integral, masked weights, and the options
the references set (omega clipped at zero as Zenke et al. and Numenta do, dendritic segments
left out by default as Numenta's ``apply_to_dendrites=False``, the gradient the path integral
uses, Numenta's first penalised task)."""

import pytest
import torch
from torch import nn

from sparsenet.continual.si import SynapticIntelligence
from sparsenet.engine import train_epoch
from sparsenet.models.masks import random_mask, set_mask
from sparsenet.models.registry import build_model


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


def one_weight(value=1.0):
    net = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        net.weight.fill_(value)
    return net


def harmful_task(si, net):
    """One step that raised the loss: w = -g * delta < 0 (gradient 1, step +0.5)."""
    si.begin_task()
    net(torch.ones(1, 1)).sum().backward()
    with torch.no_grad():
        net.weight.add_(0.5)
    si.after_step()
    net.zero_grad()
    si.end_task()


@pytest.mark.parametrize("clip, expected", [(True, 0.0), (False, -0.5 / (0.25 + 0.1))])
def test_omega_is_clipped_at_zero_by_default(clip, expected):
    net = one_weight()
    si = SynapticIntelligence(net, c=0.1, xi=0.1, clip=clip)
    harmful_task(si, net)
    assert float(si.omega[0]) == pytest.approx(expected)


def test_dendritic_segments_are_left_out_unless_asked():
    model = build_model("active_dendrites_mlp", (1, 4, 4), 3, hidden=[8, 8], kw_fraction=0.25,
                        num_segments=3, context_dim=3, seed=0)
    default = SynapticIntelligence(model)
    assert default.names and not any("segments" in n for n in default.names)
    assert "hidden.0.base.weight" in default.names and "output.weight" in default.names
    every = SynapticIntelligence(model, include_dendrites=True)
    assert {n for n in every.names if "segments" in n} == {"hidden.0.segments.weight",
                                                           "hidden.1.segments.weight"}
    assert len(every.names) == len(default.names) + 2


def _step_against_penalty(grad):
    """Anchor 1, Omega 2, c .5, weight at 3: task gradient 1, penalty gradient 4."""
    net = one_weight()
    si = SynapticIntelligence(net, c=0.5, xi=0.1, grad=grad)
    si.end_task()
    si.omega[0].fill_(2.0)
    si.begin_task()
    with torch.no_grad():
        net.weight.fill_(3.0)
    si.prev[0].fill_(3.0)
    (net(torch.ones(1, 1)).sum() + si.penalty()).backward()
    with torch.no_grad():
        net.weight.sub_(0.1)
    si.after_step()
    return float(si.w[0])


def test_path_integral_gradient_task_or_total():
    assert _step_against_penalty("task") == pytest.approx(0.1)   # -(1) * (-0.1)
    assert _step_against_penalty("total") == pytest.approx(0.5)  # -(1 + 4) * (-0.1)


def test_start_task_two_leaves_the_second_task_unpenalised():
    net = one_weight()
    si = SynapticIntelligence(net, c=1.0, start_task=2)
    si.omega[0].fill_(1.0)
    si.end_task()  # task 0 done
    with torch.no_grad():
        net.weight.add_(1.0)
    assert float(si.penalty()) == 0.0  # training task 1: Numenta's current_task == 1
    si.end_task()  # task 1 done
    with torch.no_grad():
        net.weight.add_(1.0)
    assert float(si.penalty().detach()) > 0.0
    state = si.state_dict()
    again = SynapticIntelligence(one_weight(), c=1.0)
    again.load_state_dict(state)
    assert (again.tasks_done, again.start_task) == (2, 2)


@pytest.mark.parametrize("bad, message", [({"grad": "both"}, "unknown si_grad"),
                                          ({"start_task": 0}, "si_start_task must be >= 1")])
def test_bad_si_options_fail_with_one_line(bad, message):
    with pytest.raises(ValueError, match=message):
        SynapticIntelligence(one_weight(), **bad)
