"""SI options against the references: omega clipped at zero (Zenke et al., Numenta),
dendritic segments left out by default (Numenta's ``apply_to_dendrites=False``), the
gradient the path integral uses, and Numenta's first penalised task."""

import pytest
import torch
from torch import nn

from sparsenet.continual.si import SynapticIntelligence
from sparsenet.models.registry import build_model


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
    model = build_model("active_dendrites_mlp", (1, 4, 4), 3, hidden=[8, 8], context_dim=3,
                        seed=0)
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
