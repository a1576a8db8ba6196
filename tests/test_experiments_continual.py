"""ContinualExperiment end to end on sklearn digits (8x8, offline), tiny widths."""

import io
import math

import pytest
import torch

from sparsenet.experiments.continual import ContinualConfig, ContinualExperiment


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


def run(exp):
    results = []
    while not exp.done:
        results.append(exp.step())
    return results


def test_matrix_shape_and_filled_after_each_task():
    exp = ContinualExperiment(cfg(num_tasks=3, classes_per_task=3, epochs_per_task=1),
                              device="cpu")
    assert exp.matrix.shape == (3, 3)
    results = run(exp)
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
    ends = [r for r in run(exp) if r["task_end"]]
    first, second = ends
    assert first["matrix_row"][0] > 0.8
    assert second["matrix_row"][0] < first["matrix_row"][0] - 0.3
    assert second["forgetting"] > 0.3 and second["bwt"] < -0.3
    assert math.isnan(first["forgetting"]) and math.isnan(first["bwt"])


def test_one_hot_tasks_select_different_segments():
    from sparsenet.models.layers import DendriticSegments

    exp = ContinualExperiment(adn(stream="permuted", epochs_per_task=2), device="cpu")
    run(exp)
    segments = [m for m in exp.model.modules() if isinstance(m, DendriticSegments)]
    assert segments
    with torch.no_grad():
        for seg in segments:
            winners = [seg(exp.contexts.train_context(t)).abs().argmax(-1) for t in (0, 1)]
            assert (winners[0] != winners[1]).float().mean() > 0.2


def test_early_stopping_restores_best_weights():
    exp = ContinualExperiment(cfg(num_tasks=1, stream="permuted", lr=0.05, patience=2,
                                  max_epochs=30, val_fraction=0.2), device="cpu")
    results = run(exp)
    vals = [r["val_acc"] for r in results]
    end = results[-1]
    assert end["epochs_trained"] < 30 and len(vals) >= 3
    assert vals[-1] < max(vals)  # stopped for lack of improvement: last epoch not the best
    assert end["best_val_acc"] == max(vals)
    restored, _ = exp.evaluate_task(0, "val")
    assert restored == max(vals)


def test_checkpoint_mid_sequence_resumes_identically():
    config = adn(num_tasks=3, classes_per_task=3, context="prototype", context_infer="nearest",
                 si=True, patience=2, max_epochs=3, val_fraction=0.2)
    full = run(ContinualExperiment(config, device="cpu"))
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
    tail = run(resumed)
    assert comparable(head + tail) == comparable(full)


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


def test_sparse_weights_stay_zero_under_si_and_cnn_path_runs():
    from sparsenet.models.masks import masked_modules

    config = ContinualConfig(dataset="synthetic:3,16,16,4,200,100", stream="split", num_tasks=2,
                             model="active_dendrites_cnn", conv_channels=(8, 8),
                             hidden=(32, 16), context="prototype", context_infer="nearest",
                             si=True, augment=True, lr=3e-3, batch_size=32, epochs_per_task=2)
    exp = ContinualExperiment(config, device="cpu")
    zeros = {name: m.weight_mask == 0 for name, m in masked_modules(exp.model)}
    assert zeros
    end = run(exp)[-1]
    assert len(end["matrix_row"]) == 2 and 0.0 <= end["task_inference_acc"] <= 1.0
    for name, m in masked_modules(exp.model):
        assert torch.all(m.weight[zeros[name]] == 0), name
