"""The continual experiment's Adam: fused by default, same numbers as the plain kernel,
and checkpoints written before the ``fused_optimizer`` field existed still resume."""

import pytest
import torch

from sparsenet.experiments.continual import ContinualConfig, ContinualExperiment


def cfg(**kw):
    base = dict(dataset="digits", stream="permuted", num_tasks=2, model="active_dendrites_mlp",
                hidden=(32, 32), kw_fraction=0.25, weight_sparsity=0.5, num_segments=2,
                context="prototype", lr=1e-2, batch_size=64, epochs_per_task=2, seed=0)
    base.update(kw)
    return ContinualConfig(**base)


def run(exp):
    out = []
    while not exp.done:
        out.append(exp.step())
    return out


def test_fused_is_the_default_and_agrees_with_plain_adam():
    """Catches the continual experiment building a plain Adam while the config says fused,
    and a fused kernel that does different maths (losses and accuracies would drift)."""
    fused_exp = ContinualExperiment(cfg(), device="cpu")
    assert fused_exp.optimizer.param_groups[0]["fused"] is True
    fused = run(fused_exp)
    plain = run(ContinualExperiment(cfg(fused_optimizer=False), device="cpu"))
    assert not plain[0].get("fused_optimizer")  # not a result key: results are unchanged
    for a, b in zip(fused, plain):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert a["val_acc"] == pytest.approx(b["val_acc"], abs=0.02)
    assert fused[-1]["matrix_row"] == pytest.approx(plain[-1]["matrix_row"], abs=0.02)


def test_checkpoint_from_before_the_field_resumes_on_the_fused_kernel(tmp_path):
    """An older checkpoint (config without ``fused_optimizer``, plain Adam state) must load
    and continue. Catches check_state refusing an added field at its default, and
    load_state_dict leaving the optimizer on the checkpoint's plain kernel."""
    old = ContinualExperiment(cfg(fused_optimizer=False), device="cpu")
    head = [old.step() for _ in range(2)]
    state = old.state_dict()
    del state["config"]["fused_optimizer"]  # what the older code wrote
    torch.save(state, tmp_path / "s.pt")
    resumed = ContinualExperiment(cfg(), device="cpu")
    resumed.load_state_dict(torch.load(tmp_path / "s.pt", weights_only=True))
    assert resumed.optimizer.param_groups[0]["fused"] is True
    tail = run(resumed)
    full = run(ContinualExperiment(cfg(fused_optimizer=False), device="cpu"))
    assert len(head) + len(tail) == len(full)
    assert tail[-1]["train_loss"] == pytest.approx(full[-1]["train_loss"], rel=1e-4)
    # a field absent from the checkpoint matches only at its default
    with pytest.raises(ValueError, match="different config"):
        ContinualExperiment(cfg(fused_optimizer=False), device="cpu").load_state_dict(
            torch.load(tmp_path / "s.pt", weights_only=True))
