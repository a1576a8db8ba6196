"""IMPExperiment on sklearn digits: rounds, tickets, checkpoints, and the protocol options
that reproduce the paper's code (docs/fidelity.md)."""

import math

import pytest
import torch

from conftest import run_to_end
from sparsenet.engine import evaluate
from sparsenet.experiments.imp import IMPConfig, IMPExperiment, load_ticket, ticket_path
from sparsenet.pruning import get_preset


def cfg(**kw):
    base = dict(dataset="digits", rounds=2, epochs_per_round=2, rate_hidden=0.5,
                rate_output=0.5, batch_size=64)
    base.update(kw)
    return IMPConfig.from_preset("bain2022", **base)


@pytest.mark.slow
def test_two_round_imp_on_digits_learns_and_saves_tickets(tmp_path):
    exp = IMPExperiment(cfg(epochs_per_round=3), device="cpu", artifact_dir=tmp_path)
    rows = run_to_end(exp)
    assert len(rows) == 9 and [r["round"] for r in rows] == [0] * 3 + [1] * 3 + [2] * 3
    ends = [r for r in rows if r["round_end"]]
    assert [r["weights_remaining"] for r in ends] == pytest.approx([1.0, 0.5, 0.25], abs=2e-3)
    for r in ends:
        assert r["round_test_acc_at_best_val"] > 0.7  # chance is 0.1
        assert r["round_best_test_acc"] >= r["round_test_acc_at_best_val"]
        assert r["compression"] == pytest.approx(1 / r["weights_remaining"])
        if r["round"] > 0:
            assert r["params_remaining"] > r["weights_remaining"]  # biases are never pruned
        assert {"arch", "dataset", "ticket", "seed", "train_loss", "val_acc"} <= set(r)
    assert "round_best_test_acc" not in rows[0]
    for rnd in range(3):
        rec = torch.load(ticket_path(tmp_path, rnd), weights_only=True)
        assert rec["round"] == rnd and rec["config"]["ticket"] == "winning"
        assert rec["weights_remaining"] == ends[rnd]["weights_remaining"]
    with pytest.raises(RuntimeError):
        exp.step()


@pytest.mark.slow
@pytest.mark.parametrize("ticket,rewind", [("winning", 0), ("random", 5), ("reinit", 0)])
def test_resume_from_mid_run_state_gives_identical_numbers(tmp_path, ticket, rewind):
    c = cfg(ticket=ticket, rewind_iter=rewind, weight_decay=1e-3)
    full = run_to_end(IMPExperiment(c, device="cpu"))
    first = IMPExperiment(c, device="cpu")
    head = [first.step() for _ in range(3)]  # stop mid round 1 (optimizer state live)
    torch.save(first.state_dict(), tmp_path / "s.pt")
    torch.manual_seed(1234)  # a restored run must not depend on the global RNG
    second = IMPExperiment(c, device="cpu")
    second.load_state_dict(torch.load(tmp_path / "s.pt", weights_only=True))
    tail = run_to_end(second)
    assert head + tail == full


def test_rewind_point_is_the_weights_after_k_steps(tmp_path):
    c = cfg(rounds=1, epochs_per_round=2)
    probe = IMPExperiment(c, device="cpu")
    k = math.ceil(probe.train_x.shape[0] / c.batch_size)  # one epoch of steps
    exp = IMPExperiment(cfg(rounds=1, epochs_per_round=2, rewind_iter=k), device="cpu")
    exp.step()
    after_k = {n: t.clone() for n, t in exp.model.state_dict().items()}
    exp.step()  # round end: prune and rewind
    for layer in exp.layers:
        m = layer.module.weight_mask.bool()
        assert torch.equal(layer.weight[m], after_k[f"{layer.name}.weight"][m])
        assert not torch.equal(after_k[f"{layer.name}.weight"], exp.init_state[f"{layer.name}.weight"])
        assert torch.equal(layer.module.bias, after_k[f"{layer.name}.bias"])


def test_ticket_kinds_share_counts_and_differ_as_intended():
    exps = {t: IMPExperiment(cfg(rounds=1, epochs_per_round=1, ticket=t), device="cpu")
            for t in ("winning", "random", "reinit")}
    for e in exps.values():
        e.step()
    win, rnd, rei = (exps[t] for t in ("winning", "random", "reinit"))
    for lw, lr, li in zip(win.layers, rnd.layers, rei.layers):
        mw, mr, mi = (l.module.weight_mask for l in (lw, lr, li))
        assert int(mw.sum()) == int(mr.sum()) == int(mi.sum())
        assert not torch.equal(mw, mr)
        init = win.init_state[f"{lw.name}.weight"]
        assert torch.equal(lw.weight[mw.bool()], init[mw.bool()])
        assert torch.equal(lr.weight[mr.bool()], init[mr.bool()])  # same init, random mask
        assert not torch.equal(li.weight[mi.bool()], init[mi.bool()])  # learned mask, new init


def test_pruned_weights_exactly_zero_after_training_with_weight_decay():
    exp = IMPExperiment(cfg(rounds=1, epochs_per_round=2, weight_decay=1e-2), device="cpu")
    run_to_end(exp)
    for layer in exp.layers:
        m = layer.module.weight_mask
        assert int((m == 0).sum()) > 0 and (layer.weight[m == 0] == 0).all()


def test_config_validation_and_flat_round_trip():
    c = cfg()
    assert IMPConfig.from_flat(c.to_flat()) == c
    assert c.preset == "bain2022" and c.lr == 1.2e-3 and c.weight_decay == 1e-4
    fc = IMPConfig.from_preset("frankle2019")
    p = get_preset("frankle2019")
    assert (fc.rate_hidden, fc.rate_output, fc.batch_size, fc.weight_decay) == (0.2, 0.1, 60, 0.0)
    assert fc.epochs_per_round == p.epochs_per_round
    bad = [dict(rate_hidden=1.0), dict(rate_output=-0.1), dict(ticket="golden"),
           dict(arch="resnet9000"), dict(dataset="imagenet"), dict(rounds=-1),
           dict(scope="team"), dict(policy="conv_only"), dict(epochs_per_round=0)]
    for kw in bad:
        with pytest.raises(ValueError) as err:
            IMPConfig(**kw)
        assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="unknown"):
        IMPConfig.from_flat({**c.to_flat(), "lerning_rate": 1})
    with pytest.raises(ValueError, match="rewind_iter"):
        IMPExperiment(cfg(rewind_iter=10**6), device="cpu")


def test_checkpoint_carries_cuda_rng_and_older_checkpoints_still_resume(tmp_path):
    """The CUDA generator is saved like continual's (None on the CPU); a checkpoint written
    before that key existed (``--resume`` of an older experiment) still loads and continues
    bit-for-bit."""
    a = IMPExperiment(cfg(rounds=1, epochs_per_round=1), device="cpu")
    a.step()
    state = a.state_dict()
    assert "cuda_rng" in state and state["cuda_rng"] is None
    torch.save({k: v for k, v in state.items() if k != "cuda_rng"}, tmp_path / "old.pt")
    expected = a.step()
    b = IMPExperiment(cfg(rounds=1, epochs_per_round=1), device="cpu")
    b.load_state_dict(torch.load(tmp_path / "old.pt", weights_only=True))
    assert b.step() == expected


# --- the paper's protocol options ---------------------------------------------------------

def _bias_after_rewind(exp, rows_until_round):
    """Biases just after the rewind that starts `rows_until_round`, and just before it."""
    before = None
    while exp.round < rows_until_round:
        if exp.epoch == exp.config.epochs_per_round - 1:
            before = {l.name: l.module.bias.detach().clone() for l in exp.layers}
        exp.step()
    after = {l.name: l.module.bias.detach().clone() for l in exp.layers}
    return before, after


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.parametrize("save", ["last", "best_val", "best_test"])
def test_saved_network_is_the_one_named(tmp_path, save):
    exp = IMPExperiment(cfg(rounds=1, epochs_per_round=4, save_network=save, lr=5e-3),
                        device="cpu", artifact_dir=tmp_path)
    rows = run_to_end(exp)
    end0 = [r for r in rows if r["round_end"]][0]
    assert end0["saved_network"] == save
    rec = torch.load(ticket_path(tmp_path, 0), weights_only=True)
    assert rec["saved_network"] == save
    expected = {"last": end0["test_acc"], "best_val": end0["round_test_acc_at_best_val"],
                "best_test": end0["round_best_test_acc"]}[save]
    assert rec["test_acc"] == pytest.approx(expected)
    # the saved weights really give that accuracy
    model, _ = load_ticket(ticket_path(tmp_path, 0))
    assert evaluate(model, exp.test_x, exp.test_y) == pytest.approx(expected)


@pytest.mark.slow
def test_eval_before_epoch_measures_the_untrained_net_and_never_the_last():
    c = cfg(rounds=0, epochs_per_round=3, eval_before_epoch=True)
    exp = IMPExperiment(c, device="cpu")
    untrained = evaluate(exp.model, exp.test_x, exp.test_y)
    rows = run_to_end(exp)
    assert rows[0]["test_acc"] == pytest.approx(untrained)
    after = IMPExperiment(cfg(rounds=0, epochs_per_round=3), device="cpu")
    after_rows = run_to_end(after)
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


@pytest.mark.slow
def test_resume_with_the_papers_protocol_is_exact(tmp_path):
    c = IMPConfig.from_preset("bain2022_code", dataset="digits", rounds=2, epochs_per_round=2,
                              rate_hidden=0.5, rate_output=0.5, batch_size=64)
    full = run_to_end(IMPExperiment(c, device="cpu"))
    first = IMPExperiment(c, device="cpu")
    head = [first.step() for _ in range(3)]
    torch.save(first.state_dict(), tmp_path / "s.pt")
    second = IMPExperiment(c, device="cpu")
    second.load_state_dict(torch.load(tmp_path / "s.pt", weights_only=True))
    assert repr(head + run_to_end(second)) == repr(full)  # repr: NaN validation accuracy compares equal


def test_fused_and_plain_adam_agree():
    fused = run_to_end(IMPExperiment(cfg(rounds=0, epochs_per_round=2), device="cpu"))
    plain = run_to_end(IMPExperiment(cfg(rounds=0, epochs_per_round=2, fused_optimizer=False),
                                     device="cpu"))
    assert fused[-1]["train_loss"] == pytest.approx(plain[-1]["train_loss"], rel=1e-3)
