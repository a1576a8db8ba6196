"""NoiseExperiment: tickets of an IMP run and controls trained from scratch, evaluated under
noise; Numenta's CNN-2 controls with Numenta's recipe (SGD, StepLR, boost decay); the
evaluation every network shares."""

import dataclasses
import math

import pytest
import torch

from conftest import run_to_end
from sparsenet.data.noise import NOISE_TYPES
from sparsenet.engine import evaluate
from sparsenet.experiments.imp import IMPConfig, IMPExperiment, load_ticket
from sparsenet.experiments.noise import (NUMENTA_LEVELS, ControlConfig, NoiseConfig,
                                         NoiseExperiment, acc_key, correct_key,
                                         evaluate_under_noise, fraction_label, numenta_recipe,
                                         score_key)
from sparsenet.models.layers import KWinners, KWinners2d

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


def assert_resume_is_exact(cfg, tmp_path):
    """Stopped after one step, saved, restored into a fresh experiment: the same rows."""
    full = run_to_end(NoiseExperiment(cfg, device="cpu"))
    a = NoiseExperiment(cfg, device="cpu")
    head = [a.step()]
    torch.save(a.state_dict(), tmp_path / "s.pt")
    b = NoiseExperiment(cfg, device="cpu")
    b.load_state_dict(torch.load(tmp_path / "s.pt", weights_only=True))
    assert head + run_to_end(b) == full


def test_tickets_every_key_and_clean_accuracy_exact(imp_dir):
    cfg = NoiseConfig(imp_dir=str(imp_dir), pruned_fractions=(0.5, 0.7), levels=LEVELS)
    exp = NoiseExperiment(cfg, device="cpu")
    rows = run_to_end(exp)
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


def test_every_network_of_a_study_sees_the_same_noisy_images(imp_dir, tmp_path_factory,
                                                            monkeypatch):
    """The paired test compares networks image by image, so the noise must depend only on
    (noise_seed, noise type, level): the dense network, every ticket, every control, of
    every seed, get the very same noisy test images. Catches the mutation that offsets the
    noise seed per ticket or per seed (e.g. ``noise_seed=c.noise_seed + self.index`` in
    ``NoiseExperiment._noise_keys``), which the counts of one network cannot show."""
    import sparsenet.experiments.noise as noise_module

    seen: list[tuple[str, dict]] = []  # (network, {(noise, level): noisy images})
    real_add_noise = noise_module.add_noise

    def recording_add_noise(x, kind, level, **kwargs):
        noisy = real_add_noise(x, kind, level, **kwargs)
        seen[-1][1][(kind, level)] = noisy.clone()
        return noisy

    monkeypatch.setattr(noise_module, "add_noise", recording_add_noise)
    other_seed = tmp_path_factory.mktemp("imp_seed_1")  # a second IMP trial, seed 1
    exp = IMPExperiment(IMPConfig.from_preset("bain2022", dataset="digits", rounds=1,
                                              epochs_per_round=1, rate_hidden=0.5,
                                              rate_output=0.5, batch_size=64, seed=1),
                        device="cpu", artifact_dir=other_seed)
    run_to_end(exp)
    shared = dict(levels=(0.0, 0.3), noise_types=("uniform", "set_2sigma"))
    studies = [NoiseConfig(imp_dir=str(imp_dir), pruned_fractions=(0.5, 0.7), **shared),
               NoiseConfig(imp_dir=str(other_seed), pruned_fractions=(0.5,), **shared)]
    studies += [NoiseConfig(control=ControlConfig(kind=kind, dataset="digits", epochs=1,
                                                  hidden=(16,), batch_size=128, seed=seed),
                            **shared)
                for kind, seed in (("dense", 0), ("both", 0), ("both", 1))]
    for config in studies:
        experiment = NoiseExperiment(config, device="cpu")
        while not experiment.done:
            seen.append(("?", {}))
            row = experiment.step()
            seen[-1] = (f"{row['network']} (seed {row['seed']})", seen[-1][1])
    evaluated = [(name, images) for name, images in seen if images]
    assert len(evaluated) == 3 + 2 + 3  # dense + 2 tickets, dense + 1 ticket, 3 controls
    (first_name, first), *rest = evaluated
    assert set(first) == {(n, lv) for n in shared["noise_types"] for lv in shared["levels"]}
    for name, images in rest:
        assert images.keys() == first.keys(), name
        for key, noisy in images.items():
            assert torch.equal(noisy, first[key]), f"{name} saw other {key} noise than {first_name}"
    # and the noise is noise: level 0.3 changed the clean images
    assert not torch.equal(first[("uniform", 0.3)], first[("uniform", 0.0)])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["dense", "weight_sparse", "activation_sparse", "both"])
def test_controls_train_above_chance_then_face_noise(kind):
    control = ControlConfig(kind=kind, dataset="digits", epochs=3, batch_size=64,
                            kw_fraction=0.2)
    exp = NoiseExperiment(NoiseConfig(control=control, levels=LEVELS), device="cpu")
    rows = run_to_end(exp)
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


@pytest.mark.slow
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


def test_noise_evaluation_scores_paper_cifar():
    x = torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(3)) * 0.5
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3072, 2))
    y = model(x).argmax(1)  # all right without noise
    out = evaluate_under_noise(model, x, y, normalize=lambda v: v, mean=(0.49, 0.48, 0.45),
                               std=(0.2, 0.2, 0.2), noise_types=("paper_cifar",),
                               levels=(0.0, 1.0))
    assert out["total"] == 8 and out["correct/paper_cifar/0"] == 8
    assert out["noise_score/paper_cifar"] == 8 + out["correct/paper_cifar/1"]


# --- Numenta's CNN-2 controls ----------------------------------------------------------

def digits_control(kind, **kw):
    # digits keeps a validation split, so the held-out accuracy is measured too
    return ControlConfig.numenta(kind, dataset="digits", **{"epochs": 3, "val_fraction": 0.1, **kw})


def test_recipe_is_numentas():
    sparse, dense = numenta_recipe("numenta_sparse_cnn2"), numenta_recipe("numenta_dense_cnn2")
    assert (sparse["lr"], sparse["momentum"], sparse["first_epoch_batch_size"]) == (0.02, 0.0, 4)
    assert (dense["lr"], dense["momentum"], dense["first_epoch_batch_size"]) == (0.01, 0.9, None)
    for r in (sparse, dense):
        assert (r["optimizer"], r["lr_gamma"], r["batch_size"], r["epochs"], r["val_fraction"],
                r["weight_decay"]) == ("sgd", 0.8, 64, 15, 0.0, 0.0)
    assert NUMENTA_LEVELS == (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)


@pytest.fixture(scope="module")
def sparse_run():
    cfg = NoiseConfig(control=digits_control("numenta_sparse_cnn2"), levels=(0.0, 0.3),
                      noise_types=("numenta",))
    exp = NoiseExperiment(cfg, device="cpu")
    return exp, run_to_end(exp)


@pytest.mark.slow
def test_sparse_cnn2_control_boost_decays_and_rate_steps(sparse_run):
    exp, rows = sparse_run
    # decayed before every epoch, the first included (Numenta's pre_epoch)
    assert [r["boost_strength"] for r in rows] == pytest.approx([1.5 * 0.85 ** e for e in (1, 2, 3)])
    layers = [m for m in exp.model.modules() if isinstance(m, (KWinners, KWinners2d))]
    assert len(layers) == 3
    assert all(m.boost_strength == pytest.approx(1.5 * 0.85 ** 3) for m in layers)
    assert [r["lr"] for r in rows] == pytest.approx([0.02, 0.016, 0.0128])
    assert exp.optimizer.param_groups[0]["momentum"] == 0.0
    assert [r["batch_size"] for r in rows] == [4, 64, 64]
    assert rows[-1]["arch"] == "numenta_cnn2_sparse"
    # all four weight layers counted (8x8 digits: FC input 64*2*2 = 256, 51 of them kept)
    stats_remaining = (15 * 32 + 360 * 64 + 51 * 700 + 700 * 10) / (
        25 * 32 + 800 * 64 + 256 * 700 + 700 * 10)
    assert rows[-1]["weights_remaining"] == pytest.approx(stats_remaining)
    for layer in exp.layers:  # masks held through SGD
        mask = getattr(layer.module, "weight_mask", None)
        if mask is not None:
            assert (layer.weight[mask == 0] == 0).all()
    assert score_key("numenta") in rows[-1] and acc_key("numenta", 0.3) in rows[-1]


@pytest.mark.slow
def test_numenta_controls_learn(sparse_run):
    config = NoiseConfig(control=digits_control("numenta_dense_cnn2"), levels=(0.0,),
                         noise_types=("numenta",))
    dense = run_to_end(NoiseExperiment(config, device="cpu"))
    for kind, rows in (("numenta_sparse_cnn2", sparse_run[1]), ("numenta_dense_cnn2", dense)):
        assert rows[-1]["network"] == f"control:{kind}"
        assert rows[-1]["test_acc"] > 0.3 and rows[-1]["val_acc"] > 0.3  # chance is 0.1
    assert "boost_strength" not in dense[-1]
    assert [r["lr"] for r in dense] == pytest.approx([0.01, 0.008, 0.0064])
    assert dense[-1]["weights_remaining"] == 1.0


@pytest.mark.slow
def test_resume_keeps_rate_schedule_and_boost(tmp_path):
    cfg = NoiseConfig(control=digits_control("numenta_sparse_cnn2", first_epoch_batch_size=32,
                                             epochs=2),
                      levels=(0.0,), noise_types=("numenta",))
    assert_resume_is_exact(cfg, tmp_path)


def test_mlp_controls_keep_their_defaults_and_options_are_checked():
    c = ControlConfig()
    assert (c.optimizer, c.momentum, c.lr_gamma, c.first_epoch_batch_size,
            c.boost_strength_factor, c.lr, c.batch_size, c.epochs) == (
        "adam", 0.0, 1.0, None, 1.0, 1.2e-3, 200, 35)
    flat = NoiseConfig(control=ControlConfig.numenta("numenta_dense_cnn2")).to_flat()
    assert flat["control_optimizer"] == "sgd" and NoiseConfig.from_flat(flat).control.momentum == 0.9
    bad = [dict(optimizer="rmsprop"), dict(momentum=0.9), dict(optimizer="sgd", momentum=1.0),
           dict(lr_gamma=0.0), dict(lr_gamma=1.5), dict(first_epoch_batch_size=0),
           dict(boost_strength_factor=1.2), dict(kind="numenta_cnn3")]
    for kw in bad:
        with pytest.raises(ValueError) as err:
            ControlConfig(**kw)
        assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="Numenta control kind"):
        ControlConfig.numenta("dense")
    assert dataclasses.replace(ControlConfig.numenta("numenta_sparse_cnn2"), epochs=2).epochs == 2
