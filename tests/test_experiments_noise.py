import math

import pytest
import torch

from sparsenet.data.noise import NOISE_TYPES
from sparsenet.engine import evaluate
from sparsenet.experiments.imp import IMPConfig, IMPExperiment, load_ticket
from sparsenet.experiments.noise import (ControlConfig, NoiseConfig, NoiseExperiment, acc_key,
                                         correct_key, fraction_label, score_key)

LEVELS = (0.0, 0.2, 0.5)


@pytest.fixture(scope="module")
def imp_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("imp_trial")
    c = IMPConfig.from_preset("bain2022", dataset="digits", rounds=2, epochs_per_round=2,
                              rate_hidden=0.5, rate_output=0.5, batch_size=64)
    exp = IMPExperiment(c, device="cpu", artifact_dir=folder)
    while not exp.done:
        exp.step()
    return folder


def run(exp):
    rows = []
    while not exp.done:
        rows.append(exp.step())
    return rows


def assert_resume_is_exact(cfg, tmp_path):
    """Stopped after one step, saved, restored into a fresh experiment: the same rows."""
    full = run(NoiseExperiment(cfg, device="cpu"))
    a = NoiseExperiment(cfg, device="cpu")
    head = [a.step()]
    torch.save(a.state_dict(), tmp_path / "s.pt")
    b = NoiseExperiment(cfg, device="cpu")
    b.load_state_dict(torch.load(tmp_path / "s.pt", weights_only=True))
    assert head + run(b) == full


def test_tickets_every_key_and_clean_accuracy_exact(imp_dir):
    cfg = NoiseConfig(imp_dir=str(imp_dir), pruned_fractions=(0.5, 0.7), levels=LEVELS)
    exp = NoiseExperiment(cfg, device="cpu")
    rows = run(exp)
    assert [r["network"] for r in rows] == ["dense", "winning@0.50", "winning@0.70"]
    assert [r["round"] for r in rows] == [0, 1, 2]
    assert [r["weights_remaining"] for r in rows] == pytest.approx([1.0, 0.5, 0.25], abs=2e-3)
    for r in rows:
        for noise in NOISE_TYPES:
            assert sum(r[correct_key(noise, lv)] for lv in LEVELS) == r[score_key(noise)]
            for lv in LEVELS:
                assert r[acc_key(noise, lv)] == r[correct_key(noise, lv)] / r["total"]
        model, _ = load_ticket(imp_dir / "tickets" / f"round_{r['round']:02d}.pt")
        clean = evaluate(model, exp.ds.normalize(exp.ds.test_x), exp.ds.test_y)
        for noise in NOISE_TYPES:  # level 0 is the clean test set, bit for bit
            assert r[acc_key(noise, 0.0)] == clean
        assert r["acc/set_2sigma/0.5"] < clean  # and noise does hurt
    assert rows[0]["total"] == exp.ds.test_y.shape[0]
    # same noise for every run: a second evaluation gives identical counts
    again = NoiseExperiment(cfg, device="cpu").step()
    assert again == rows[0]


def test_state_resumes_ticket_index(imp_dir, tmp_path):
    cfg = NoiseConfig(imp_dir=str(imp_dir), pruned_fractions=(0.7,), levels=(0.0,),
                      noise_types=("zero",))
    a = NoiseExperiment(cfg, device="cpu")
    first = a.step()
    torch.save(a.state_dict(), tmp_path / "s.pt")
    b = NoiseExperiment(cfg, device="cpu")
    b.load_state_dict(torch.load(tmp_path / "s.pt", weights_only=True))
    assert first["network"] == "dense" and b.step()["network"] == "winning@0.70" and b.done


@pytest.mark.parametrize("kind", ["dense", "weight_sparse", "activation_sparse", "both"])
def test_controls_train_above_chance_then_face_noise(kind):
    control = ControlConfig(kind=kind, dataset="digits", epochs=3, batch_size=64,
                            kw_fraction=0.2)
    exp = NoiseExperiment(NoiseConfig(control=control, levels=LEVELS), device="cpu")
    rows = run(exp)
    assert len(rows) == 3 and all(r["network"] == f"control:{kind}" for r in rows)
    last = rows[-1]
    assert last["test_acc"] > 0.6  # chance is 0.1
    assert acc_key("set_2sigma", 0.5) in last and acc_key("set_2sigma", 0.5) not in rows[0]
    assert last[acc_key("zero", 0.0)] == last["test_acc"]
    expected = 0.3 if kind in ("weight_sparse", "both") else 1.0
    assert last["weights_remaining"] == pytest.approx(expected, abs=2e-3)
    if kind in ("weight_sparse", "both"):
        for layer in exp.layers:
            assert (layer.weight[layer.module.weight_mask == 0] == 0).all()


def test_control_resume_is_exact(tmp_path):
    cfg = NoiseConfig(control=ControlConfig(kind="both", dataset="digits", epochs=3,
                                            batch_size=64), levels=(0.0, 0.3),
                      noise_types=("uniform",))
    assert_resume_is_exact(cfg, tmp_path)


def test_config_validation_and_flat_round_trip(imp_dir):
    t = NoiseConfig(imp_dir=str(imp_dir))
    assert NoiseConfig.from_flat(t.to_flat()) == t and t.mode == "tickets"
    c = NoiseConfig(control=ControlConfig(kind="both", dataset="digits"))
    flat = c.to_flat()
    assert flat["control_kind"] == "both" and NoiseConfig.from_flat(flat) == c
    assert NoiseConfig.from_flat({**flat, "control_kind": "dense"}).control.kind == "dense"
    bad = [lambda: NoiseConfig(), lambda: NoiseConfig(imp_dir="x", control=ControlConfig()),
           lambda: NoiseConfig(imp_dir="x", levels=(1.5,)),
           lambda: NoiseConfig(imp_dir="x", noise_types=("salt",)),
           lambda: NoiseConfig(imp_dir="x", pruned_fractions=(1.0,)),
           lambda: ControlConfig(kind="sparse"), lambda: ControlConfig(weight_sparsity=1.0),
           lambda: ControlConfig(dataset="imagenet")]
    for make in bad:
        with pytest.raises(ValueError) as err:
            make()
        assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="unknown"):
        NoiseConfig.from_flat({**flat, "control_colour": 1})
    assert (fraction_label(0.7), fraction_label(0.967), fraction_label(0.5)) == ("0.70", "0.967", "0.50")
    assert math.isnan(NoiseExperiment(t, device="cpu").plan[0].target_pruned_fraction)
