"""Numenta's CNN-2 as noise controls, trained with Numenta's recipe (SGD, StepLR, boost decay)."""

import dataclasses

import pytest
import torch

from sparsenet.experiments.noise import (NUMENTA_LEVELS, ControlConfig,
                                         NoiseConfig, NoiseExperiment, acc_key, numenta_recipe,
                                         score_key)
from sparsenet.models.layers import KWinners, KWinners2d
from test_experiments_noise import assert_resume_is_exact, run  # the same step loop




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
    return exp, run(exp)


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


def test_numenta_controls_learn(sparse_run):
    dense = run(NoiseExperiment(NoiseConfig(control=digits_control("numenta_dense_cnn2"),
                                            levels=(0.0,), noise_types=("numenta",)),
                                device="cpu"))
    for kind, rows in (("numenta_sparse_cnn2", sparse_run[1]), ("numenta_dense_cnn2", dense)):
        assert rows[-1]["network"] == f"control:{kind}"
        assert rows[-1]["test_acc"] > 0.3 and rows[-1]["val_acc"] > 0.3  # chance is 0.1
    assert "boost_strength" not in dense[-1]
    assert [r["lr"] for r in dense] == pytest.approx([0.01, 0.008, 0.0064])
    assert dense[-1]["weights_remaining"] == 1.0


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
