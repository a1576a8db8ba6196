import math

import pytest
import torch

from sparsenet.experiments.imp import IMPConfig, IMPExperiment, ticket_path
from sparsenet.pruning import get_preset


def cfg(**kw):
    base = dict(dataset="digits", rounds=2, epochs_per_round=2, rate_hidden=0.5,
                rate_output=0.5, batch_size=64)
    base.update(kw)
    return IMPConfig.from_preset("bain2022", **base)


def run(exp):
    rows = []
    while not exp.done:
        rows.append(exp.step())
    return rows


def test_two_round_imp_on_digits_learns_and_saves_tickets(tmp_path):
    exp = IMPExperiment(cfg(epochs_per_round=3), device="cpu", artifact_dir=tmp_path)
    rows = run(exp)
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


@pytest.mark.parametrize("ticket,rewind", [("winning", 0), ("random", 5), ("reinit", 0)])
def test_resume_from_mid_run_state_gives_identical_numbers(tmp_path, ticket, rewind):
    c = cfg(ticket=ticket, rewind_iter=rewind, weight_decay=1e-3)
    full = run(IMPExperiment(c, device="cpu"))
    first = IMPExperiment(c, device="cpu")
    head = [first.step() for _ in range(3)]  # stop mid round 1 (optimizer state live)
    torch.save(first.state_dict(), tmp_path / "s.pt")
    torch.manual_seed(1234)  # a restored run must not depend on the global RNG
    second = IMPExperiment(c, device="cpu")
    second.load_state_dict(torch.load(tmp_path / "s.pt", weights_only=True))
    tail = run(second)
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
    run(exp)
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
