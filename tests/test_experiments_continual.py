"""ContinualExperiment end to end on sklearn digits (8x8, offline), tiny widths; the
reference protocols' options in a run (task 0 unpermuted, the matrix on the validation
split, SI's options); the split-CIFAR CNN options (boost decay once per epoch, the paper's
labels, fc_init and mask_layout) and their checks."""

import io
import math

import pytest
import torch

from conftest import run_to_end
from sparsenet.experiments.continual import ContinualConfig, ContinualExperiment
from sparsenet.models.layers import KWinners, KWinners2d


def cfg(**kw):
    base = dict(dataset="digits", stream="split", num_tasks=2, model="mlp", hidden=(64,),
                context="none", lr=1e-2, batch_size=32, epochs_per_task=3, seed=0)
    base.update(kw)
    return ContinualConfig(**base)


def adn(**kw):
    base = dict(model="active_dendrites_mlp", hidden=(64, 64), kw_fraction=0.25,
                weight_sparsity=0.5, num_segments=2, context="onehot")
    base.update(kw)
    return cfg(**base)


def comparable(results):
    """NaN != NaN; compare results with NaN spelled out."""
    def fix(v):
        if isinstance(v, float) and math.isnan(v):
            return "nan"
        if isinstance(v, list):
            return [fix(u) for u in v]
        return v
    return [{k: fix(v) for k, v in r.items()} for r in results]


@pytest.mark.slow
def test_matrix_shape_and_filled_after_each_task():
    exp = ContinualExperiment(cfg(num_tasks=3, classes_per_task=3, epochs_per_task=1),
                              device="cpu")
    assert exp.matrix.shape == (3, 3)
    results = run_to_end(exp)
    ends = [r for r in results if r["task_end"]]
    assert [r["task"] for r in ends] == [0, 1, 2] and len(results) == 3
    for t, r in enumerate(ends):
        assert len(r["matrix_row"]) == t + 1
        assert all(0.0 <= a <= 1.0 for a in r["matrix_row"])
        assert r["newest_accuracy"] == r["matrix_row"][-1]
        assert r["mean_accuracy"] == pytest.approx(sum(r["matrix_row"]) / (t + 1))
        assert exp.matrix.row(t) == r["matrix_row"]
    assert not torch.isnan(exp.matrix.values.tril()).any()
    assert torch.isnan(exp.matrix.values[0, 1])
    assert {"task", "epoch", "train_loss", "val_acc", "model", "context", "si", "num_tasks",
            "seed", "dataset"} <= set(results[0])
    with pytest.raises(RuntimeError):
        exp.step()


def test_conflicting_tasks_are_forgotten_and_metrics_say_so():
    """Split digits, labels remapped to 0..4: task 1 overwrites task 0's output mapping."""
    exp = ContinualExperiment(cfg(epochs_per_task=4), device="cpu")
    ends = [r for r in run_to_end(exp) if r["task_end"]]
    first, second = ends
    assert first["matrix_row"][0] > 0.8
    assert second["matrix_row"][0] < first["matrix_row"][0] - 0.3
    assert second["forgetting"] > 0.3 and second["bwt"] < -0.3
    assert math.isnan(first["forgetting"]) and math.isnan(first["bwt"])


@pytest.mark.slow
def test_one_hot_tasks_select_different_segments():
    from sparsenet.models.layers import DendriticSegments

    exp = ContinualExperiment(adn(stream="permuted", epochs_per_task=2), device="cpu")
    run_to_end(exp)
    segments = [m for m in exp.model.modules() if isinstance(m, DendriticSegments)]
    assert segments
    with torch.no_grad():
        for seg in segments:
            winners = [seg(exp.contexts.train_context(t)).abs().argmax(-1) for t in (0, 1)]
            assert (winners[0] != winners[1]).float().mean() > 0.2


def test_early_stopping_restores_best_weights():
    exp = ContinualExperiment(cfg(num_tasks=1, stream="permuted", lr=0.05, patience=2,
                                  max_epochs=30, val_fraction=0.2), device="cpu")
    results = run_to_end(exp)
    vals = [r["val_acc"] for r in results]
    end = results[-1]
    assert end["epochs_trained"] < 30 and len(vals) >= 3
    assert vals[-1] < max(vals)  # stopped for lack of improvement: last epoch not the best
    assert end["best_val_acc"] == max(vals)
    restored, _ = exp.evaluate_task(0, "val")
    assert restored == max(vals)


@pytest.mark.slow
def test_checkpoint_mid_sequence_resumes_identically():
    config = adn(num_tasks=3, classes_per_task=3, context="prototype", context_infer="nearest",
                 si=True, patience=2, max_epochs=3, val_fraction=0.2)
    full = run_to_end(ContinualExperiment(config, device="cpu"))
    exp = ContinualExperiment(config, device="cpu")
    head = [exp.step() for _ in range(len(full) - 4)]
    assert exp.task >= 1 and exp.epoch >= 1 and exp.early_stopping.best_model is not None  # mid-task, SI on
    buffer = io.BytesIO()
    torch.save(exp.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    del exp
    resumed = ContinualExperiment(config, device="cpu")
    resumed.load_state_dict(state)
    tail = run_to_end(resumed)
    assert comparable(head + tail) == comparable(full)


def test_resume_while_early_stopping_counts_stops_where_the_uninterrupted_run_stops():
    """Checkpointed in the middle of a task one epoch after the best one (patience half
    used up): the resumed run must stop at the same epoch and end the task on the same
    best weights. Catches a restore that skips the early-stopping state (deleting
    ``self.early_stopping.load_state_dict(state)`` in ``ContinualExperiment.load_state_dict``,
    or restoring only its counters): the test above never gets there, its validation
    accuracy rising every epoch."""
    config = cfg(num_tasks=2, stream="permuted", lr=0.05, patience=2, max_epochs=30,
                 val_fraction=0.2)
    full = run_to_end(ContinualExperiment(config, device="cpu"))
    first_task = [r for r in full if r["task"] == 0]
    assert first_task[-1]["epochs_trained"] < 30  # early stopping did end task 0
    exp = ContinualExperiment(config, device="cpu")
    head = [exp.step() for _ in range(len(first_task) - 1)]  # one epoch before the stop
    assert exp.task == 0 and exp.early_stopping.since_best == 1
    assert exp.early_stopping.best_model is not None
    assert exp.early_stopping.best_val > head[-1]["val_acc"]  # the last epoch was not the best
    buffer = io.BytesIO()
    torch.save(exp.state_dict(), buffer)
    buffer.seek(0)
    resumed = ContinualExperiment(config, device="cpu")
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    assert comparable(head + run_to_end(resumed)) == comparable(full)


def test_config_validation_and_flat_round_trip():
    config = adn(hidden=(32, 16), si=True)
    flat = config.to_flat()
    assert flat["hidden"] == [32, 16]
    assert ContinualConfig.from_flat(flat) == config
    with pytest.raises(ValueError, match="known"):
        cfg(context="task")
    with pytest.raises(ValueError, match="known"):
        ContinualConfig.from_flat({**flat, "segments": 3})
    with pytest.raises(ValueError):
        cfg(context="onehot")  # plain mlp would ignore it
    with pytest.raises(ValueError):
        adn(context="none")  # dendrites need a context
    with pytest.raises(ValueError):
        cfg(patience=3, val_fraction=0.0)
    with pytest.raises(ValueError, match="known"):
        cfg(model="resnet")
    with pytest.raises(ValueError, match="options"):
        cfg(num_segments=3)  # a plain mlp has no dendrites
    assert math.isfinite(cfg(context="onehot", context_input=True).lr)


@pytest.mark.slow
def test_sparse_weights_stay_zero_under_si_and_cnn_path_runs():
    from sparsenet.models.masks import masked_modules

    config = ContinualConfig(dataset="synthetic:3,16,16,4,200,100", stream="split", num_tasks=2,
                             model="active_dendrites_cnn", conv_channels=(8, 8),
                             hidden=(32, 16), context="prototype", context_infer="nearest",
                             si=True, augment=True, lr=3e-3, batch_size=32, epochs_per_task=2)
    exp = ContinualExperiment(config, device="cpu")
    zeros = {name: m.weight_mask == 0 for name, m in masked_modules(exp.model)}
    assert zeros
    end = run_to_end(exp)[-1]
    assert len(end["matrix_row"]) == 2 and 0.0 <= end["task_inference_acc"] <= 1.0
    for name, m in masked_modules(exp.model):
        assert torch.all(m.weight[zeros[name]] == 0), name


# --- the reference protocols' options in a run ---------------------------------------------

def tiny(**kwargs):
    base = dict(dataset="digits", num_tasks=2, hidden=(16, 16), epochs_per_task=1,
                batch_size=64, lr=2e-3)
    return ContinualExperiment(ContinualConfig(**{**base, **kwargs}), device="cpu")


def test_first_task_identity_leaves_task_zero_unpermuted():
    exp = tiny(first_task_identity=True)
    assert exp.tasks[0].permutation is None and exp.tasks[1].permutation is not None
    x = exp.tasks[0].train_x[:5]
    assert torch.equal(exp.model_transform(0)(x), exp.dataset.normalize(x))
    assert tiny().tasks[0].permutation is not None  # default: every task permuted
    with pytest.raises(ValueError, match="first_task_identity is for stream='permuted'"):
        ContinualConfig(stream="split", first_task_identity=True)


def test_eval_split_val_fills_the_matrix_from_validation_data():
    exp = tiny(eval_split="val", model="mlp", context="none")
    while not exp.done:
        row = exp.step()
    assert row["eval_split"] == "val"
    assert exp.matrix.row(1) == [exp.evaluate_task(i, "val")[0] for i in range(2)]
    with pytest.raises(ValueError, match="eval_split='val' needs val_fraction > 0"):
        ContinualConfig(eval_split="val", val_fraction=0.0)


def test_si_options_reach_the_run():
    exp = tiny(si=True, si_grad="total", si_start_task=2, si_clip=False)
    assert not any("segments" in n for n in exp.si.names)
    assert (exp.si.grad, exp.si.start_task, exp.si.clip) == ("total", 2, False)
    assert any("segments" in n for n in tiny(si=True, si_dendrites=True).si.names)


# --- the split-CIFAR CNN options -------------------------------------------------------------

CNN_DATA = "synthetic:3,8,8,4,64,32"


def cnn_cfg(**kw):
    base = dict(dataset=CNN_DATA, stream="split", num_tasks=2, model="sparse_cnn",
                conv_channels=(4, 4), context="none", lr=1e-3, batch_size=32,
                epochs_per_task=2, seed=0)
    base.update(kw)
    return ContinualConfig(**base)


def boosts(model):
    return [float(m.boost) for m in model.modules() if isinstance(m, (KWinners, KWinners2d))]


def test_boost_strength_decays_once_per_epoch_across_tasks():
    exp = ContinualExperiment(cnn_cfg(boost_strength=2.0, boost_strength_factor=0.5))
    assert boosts(exp.model) == [2.0] * 4
    for epoch in range(1, 5):  # 2 tasks x 2 epochs: before every epoch, the first too
        exp.step()
        assert boosts(exp.model) == pytest.approx([2.0 * 0.5 ** epoch] * 4)
    assert exp.done


def test_boost_decay_survives_a_checkpoint():
    a = ContinualExperiment(cnn_cfg(boost_strength=1.0, boost_strength_factor=0.8))
    a.step()
    state = a.state_dict()
    b = ContinualExperiment(cnn_cfg(boost_strength=1.0, boost_strength_factor=0.8))
    b.load_state_dict(state)
    a.step()
    b.step()
    assert boosts(a.model) == boosts(b.model) == pytest.approx([0.64] * 4)


def test_label_remap_paper_reaches_the_tasks():
    data = "synthetic:1,4,4,10,200,100"
    common = dict(dataset=data, model="mlp", conv_channels=None, hidden=(8,), num_tasks=5,
                  epochs_per_task=1, seed=3)
    correct = ContinualExperiment(cnn_cfg(**common))
    paper = ContinualExperiment(cnn_cfg(**common, label_remap="paper"))
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
        cnn_cfg(**kw)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_cnn_options_reach_the_model():
    exp = ContinualExperiment(cnn_cfg(fc_init="paper", mask_layout="layer"))
    first = exp.model.fcs[0]
    assert first.weight_mask.sum(1).unique().numel() > 1  # per-layer draw
    bound = first.weight.abs().max().item() * first.in_features ** 0.5
    assert bound == pytest.approx(2.0, rel=0.1)  # 1/sqrt(0.5 * 0.5)
    default = ContinualExperiment(cnn_cfg())
    assert default.model.fcs[0].weight_mask.sum(1).unique().tolist() == [
        default.model.fcs[0].in_features // 2]
    assert torch.is_tensor(default.model.fcs[0].weight)
