"""The IMP protocol options that reproduce the paper's code (docs/fidelity.md)."""

import pytest
import torch
from torch import nn

from sparsenet.engine import evaluate
from sparsenet.experiments.imp import IMPConfig, IMPExperiment, ticket_path
from sparsenet.pruning import get_preset, prunable_layers, rewind_target, snapshot
from test_experiments_imp import cfg, run  # the same tiny digits IMP runs


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


def _bias_after_rewind(exp, rows_until_round):
    """Biases just after the rewind that starts `rows_until_round`, and just before it."""
    before = None
    while exp.round < rows_until_round:
        if exp.epoch == exp.config.epochs_per_round - 1:
            before = {l.name: l.module.bias.detach().clone() for l in exp.layers}
        exp.step()
    after = {l.name: l.module.bias.detach().clone() for l in exp.layers}
    return before, after


@pytest.mark.parametrize("ticket", ["winning", "random"])
def test_aliased_biases_reproduce_the_papers_bug(ticket):
    exp = IMPExperiment(cfg(ticket=ticket, alias_biases=True), device="cpu")
    init = {l.name: exp.init_state[f"{l.name}.bias"] for l in exp.layers}
    trained0, after1 = _bias_after_rewind(exp, 1)
    trained1, after2 = _bias_after_rewind(exp, 2)
    for name in init:
        if ticket == "winning":  # the first rewind restores the true init biases ...
            assert torch.equal(after1[name], init[name])
        else:  # ... the random arm's biases were aliased at round 0 already
            assert not torch.equal(after1[name], init[name])
        assert not torch.equal(after2[name], init[name])  # trained biases kept
    # the corrected default rewinds biases every round
    ok = IMPExperiment(cfg(ticket=ticket), device="cpu")
    _, ok_after2 = _bias_after_rewind(ok, 2)
    for name in init:
        assert torch.equal(ok_after2[name], init[name])


def test_aliased_biases_are_the_trained_ones():
    exp = IMPExperiment(cfg(alias_biases=True, epochs_per_round=1), device="cpu")
    exp.step()  # round 0 -> rewind 1 (true init biases)
    trained = None
    # train round 1's single epoch, capturing its biases right before the round-2 rewind
    orig = exp._next_round

    def capture():
        nonlocal trained
        trained = {l.name: l.module.bias.detach().clone() for l in exp.layers}
        orig()

    exp._next_round = capture
    exp.step()
    for l in exp.layers:
        assert torch.equal(l.module.bias, trained[l.name])


@pytest.mark.parametrize("save", ["last", "best_val", "best_test"])
def test_saved_network_is_the_one_named(tmp_path, save):
    exp = IMPExperiment(cfg(rounds=1, epochs_per_round=4, save_network=save, lr=5e-3),
                        device="cpu", artifact_dir=tmp_path)
    rows = run(exp)
    end0 = [r for r in rows if r["round_end"]][0]
    assert end0["saved_network"] == save
    rec = torch.load(ticket_path(tmp_path, 0), weights_only=True)
    assert rec["saved_network"] == save
    expected = {"last": end0["test_acc"], "best_val": end0["round_test_acc_at_best_val"],
                "best_test": end0["round_best_test_acc"]}[save]
    assert rec["test_acc"] == pytest.approx(expected)
    # the saved weights really give that accuracy
    from sparsenet.experiments.imp import load_ticket

    model, _ = load_ticket(ticket_path(tmp_path, 0))
    assert evaluate(model, exp.test_x, exp.test_y) == pytest.approx(expected)


def test_eval_before_epoch_measures_the_untrained_net_and_never_the_last():
    c = cfg(rounds=0, epochs_per_round=3, eval_before_epoch=True)
    exp = IMPExperiment(c, device="cpu")
    untrained = evaluate(exp.model, exp.test_x, exp.test_y)
    rows = run(exp)
    assert rows[0]["test_acc"] == pytest.approx(untrained)
    after = IMPExperiment(cfg(rounds=0, epochs_per_round=3), device="cpu")
    after_rows = run(after)
    # the paper's row e is the network after e-1 epochs
    assert [r["test_acc"] for r in rows[1:]] == pytest.approx(
        [r["test_acc"] for r in after_rows[:-1]], abs=0.02)


def test_full_training_set_and_validation_rules():
    full = IMPExperiment(cfg(rounds=0, epochs_per_round=1, val_fraction=0.0,
                             save_network="best_test"), device="cpu")
    split = IMPExperiment(cfg(rounds=0, epochs_per_round=1), device="cpu")
    assert full.val_x.shape[0] == 0
    assert full.train_x.shape[0] == split.train_x.shape[0] + split.val_x.shape[0]
    row = full.step()
    assert row["round_best_test_acc"] > 0.5
    with pytest.raises(ValueError, match="validation split"):
        cfg(val_fraction=0.0, save_network="best_val")
    for kw in (dict(rewind_scope="most"), dict(save_network="best_train")):
        with pytest.raises(ValueError) as err:
            cfg(**kw)
        assert "\n" not in str(err.value)


def test_bain2022_code_preset_sets_every_papers_behaviour():
    p = get_preset("bain2022_code")
    assert (p.rewind_scope, p.alias_biases, p.save_network, p.eval_before_epoch,
            p.val_fraction) == ("prunable+biases", True, "best_test", True, 0.0)
    assert get_preset("bain2022", "mnist_conv").rewind_scope == "prunable+biases"
    assert get_preset("bain2022", "lenet300_100").rewind_scope == "all"
    c = IMPConfig.from_preset("bain2022_code", dataset="digits")
    assert c.alias_biases and c.val_fraction == 0.0 and c.preset == "bain2022_code"


def test_resume_with_the_papers_protocol_is_exact(tmp_path):
    c = IMPConfig.from_preset("bain2022_code", dataset="digits", rounds=2, epochs_per_round=2,
                              rate_hidden=0.5, rate_output=0.5, batch_size=64)
    full = run(IMPExperiment(c, device="cpu"))
    first = IMPExperiment(c, device="cpu")
    head = [first.step() for _ in range(3)]
    torch.save(first.state_dict(), tmp_path / "s.pt")
    second = IMPExperiment(c, device="cpu")
    second.load_state_dict(torch.load(tmp_path / "s.pt", weights_only=True))
    assert repr(head + run(second)) == repr(full)  # repr: NaN validation accuracy compares equal


def test_fused_and_plain_adam_agree():
    fused = run(IMPExperiment(cfg(rounds=0, epochs_per_round=2), device="cpu"))
    plain = run(IMPExperiment(cfg(rounds=0, epochs_per_round=2, fused_optimizer=False),
                              device="cpu"))
    assert fused[-1]["train_loss"] == pytest.approx(plain[-1]["train_loss"], rel=1e-3)
