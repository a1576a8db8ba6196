"""Continual runs: boost decay once per epoch, the paper's labels, the CNN options' checks."""

import pytest
import torch

from sparsenet.experiments.continual import ContinualConfig, ContinualExperiment
from sparsenet.models.layers import KWinners, KWinners2d

DATA = "synthetic:3,8,8,4,64,32"


def cfg(**kw):
    base = dict(dataset=DATA, stream="split", num_tasks=2, model="sparse_cnn",
                conv_channels=(4, 4), context="none", lr=1e-3, batch_size=32,
                epochs_per_task=2, seed=0)
    base.update(kw)
    return ContinualConfig(**base)


def boosts(model):
    return [float(m.boost) for m in model.modules() if isinstance(m, (KWinners, KWinners2d))]


def test_boost_strength_decays_once_per_epoch_across_tasks():
    exp = ContinualExperiment(cfg(boost_strength=2.0, boost_strength_factor=0.5))
    assert boosts(exp.model) == [2.0] * 4
    for epoch in range(1, 5):  # 2 tasks x 2 epochs: before every epoch, the first too
        exp.step()
        assert boosts(exp.model) == pytest.approx([2.0 * 0.5 ** epoch] * 4)
    assert exp.done


def test_boost_decay_survives_a_checkpoint():
    a = ContinualExperiment(cfg(boost_strength=1.0, boost_strength_factor=0.8))
    a.step()
    state = a.state_dict()
    b = ContinualExperiment(cfg(boost_strength=1.0, boost_strength_factor=0.8))
    b.load_state_dict(state)
    a.step()
    b.step()
    assert boosts(a.model) == boosts(b.model) == pytest.approx([0.64] * 4)


def test_label_remap_paper_reaches_the_tasks():
    data = "synthetic:1,4,4,10,200,100"
    common = dict(dataset=data, model="mlp", conv_channels=None, hidden=(8,), num_tasks=5,
                  epochs_per_task=1, seed=3)
    correct = ContinualExperiment(cfg(**common))
    paper = ContinualExperiment(cfg(**common, label_remap="paper"))
    assert all(t.train_y.unique().numel() == 2 for t in correct.tasks)
    labels = [t.train_y.unique().numel() for t in paper.tasks]
    # seed 3 orders the classes [6, 0], [3, 7], [8, 5], [1, 9], [2, 4]; task 0's "0 -> 1"
    # also takes class 6 (already 0), and task 3's "1 -> 0" takes every image labelled 1 by
    # then (classes 0, 6, 7, 5 and 1): tasks 0-2 end with one label each
    assert labels == [1, 1, 1, 2, 2]
    assert [t.classes for t in paper.tasks] == [t.classes for t in correct.tasks]
    assert paper.step()["label_remap"] == "paper"


@pytest.mark.parametrize("kw, message", [
    (dict(label_remap="buggy"), "unknown label_remap"),
    (dict(label_remap="paper", stream="permuted", num_tasks=2),
     "label_remap is for stream='split'"),
    (dict(fc_init="xavier"), "unknown fc_init"),
    (dict(mask_layout="rows"), "unknown mask_layout"),
    (dict(boost_strength_factor=1.5), "boost_strength_factor must be in [0, 1]"),
    (dict(model="cnn", fc_init="dense"), "has no option(s) ['fc_init']"),
])
def test_bad_options_fail_with_one_clear_line(kw, message):
    with pytest.raises(ValueError) as err:
        cfg(**kw)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_cnn_options_reach_the_model():
    exp = ContinualExperiment(cfg(fc_init="paper", mask_layout="layer"))
    first = exp.model.fcs[0]
    assert first.weight_mask.sum(1).unique().numel() > 1  # per-layer draw
    bound = first.weight.abs().max().item() * first.in_features ** 0.5
    assert bound == pytest.approx(2.0, rel=0.1)  # 1/sqrt(0.5 * 0.5)
    default = ContinualExperiment(cfg())
    assert default.model.fcs[0].weight_mask.sum(1).unique().tolist() == [
        default.model.fcs[0].in_features // 2]
    assert torch.is_tensor(default.model.fcs[0].weight)
