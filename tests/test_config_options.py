"""Allowed values declared once on config fields: one check in the base, one ValueError line,
the CLIs' choices read from the same declaration; the RNG capture every experiment uses."""

import pytest
import torch

from sparsenet.experiments.common import (Range, capture_rng, check_fields, choices_of,
                                          restore_rng)
from sparsenet.experiments.continual import ContinualConfig
from sparsenet.experiments.imp import IMPConfig
from sparsenet.experiments.noise import ControlConfig, NoiseConfig
from sparsenet.pruning import SCOPES, TICKET_KINDS


def test_range_membership_and_wording():
    assert str(Range(0, 1, high_open=True)) == "in [0, 1)"
    assert str(Range(0, 1, low_open=True)) == "in (0, 1]"
    assert (str(Range(low=1)), str(Range(low=0, low_open=True))) == (">= 1", "> 0")
    assert 0 in Range(0, 1, high_open=True) and 1 not in Range(0, 1, high_open=True)
    assert 0 not in Range(low=0, low_open=True) and None not in Range(low=0)


@pytest.mark.parametrize("make, message", [
    (lambda: IMPConfig(scope="team"), "unknown prune scope 'team'; known: layer, global"),
    (lambda: IMPConfig(val_fraction=1.0), "val_fraction must be in [0, 1), got 1.0"),
    (lambda: IMPConfig(lr=0.0), "lr must be > 0, got 0.0"),
    (lambda: IMPConfig(preset="mine"), "unknown preset 'mine'"),
    (lambda: ContinualConfig(si_xi=0.0), "si_xi must be > 0, got 0.0"),
    (lambda: ContinualConfig(stream="rotated"), "unknown stream 'rotated'"),
    (lambda: ContinualConfig(kw_fraction=1.5), "kw_fraction must be in [0, 1], got 1.5"),
    (lambda: ControlConfig(lr_gamma=0.0), "control lr_gamma must be in (0, 1], got 0.0"),
    (lambda: ControlConfig(momentum=0.9), "control momentum needs optimizer 'sgd'"),
    (lambda: ControlConfig(first_epoch_batch_size=0),
     "control first_epoch_batch_size must be >= 1, got 0"),
    (lambda: NoiseConfig(imp_dir="x", levels=[0.0, 1.5]), "noise levels must be in [0, 1], got 1.5"),
    (lambda: NoiseConfig(imp_dir="x", noise_types=["salt"]), "unknown noise type 'salt'"),
])
def test_declared_choices_and_ranges_fail_with_one_line(make, message):
    with pytest.raises(ValueError) as err:
        make()
    assert message in str(err.value) and "\n" not in str(err.value)


def test_none_passes_only_where_it_is_the_default():
    assert IMPConfig(preset=None).preset is None
    assert ContinualConfig(kw_fraction=None, fc_init=None).fc_init is None
    with pytest.raises(ValueError, match="unknown prune scope None"):
        IMPConfig(scope=None)
    check_fields(ControlConfig())  # plain dataclasses use the same check


def test_clis_read_choices_from_the_configs():
    assert choices_of(IMPConfig, "ticket") == TICKET_KINDS
    assert choices_of(IMPConfig, "scope") == SCOPES
    assert "numenta_sparse_cnn2" in choices_of(ControlConfig, "kind")
    assert choices_of(ContinualConfig, "label_remap") == ("correct", "paper")
    with pytest.raises(KeyError):
        choices_of(IMPConfig, "lr")  # a range, no choices


def test_rng_capture_restores_every_stream():
    gen, absent = torch.Generator().manual_seed(3), None
    torch.manual_seed(5)
    state = capture_rng(torch.device("cpu"), {"batches": gen, "augment": absent},
                        torch_key="torch", cuda_key="cuda")
    assert set(state) == {"batches", "augment", "torch", "cuda"}
    assert state["augment"] is None and state["cuda"] is None  # CPU: no CUDA stream
    first = (torch.rand(3, generator=gen), torch.rand(3))
    restore_rng(state, torch.device("cpu"), {"batches": gen, "augment": absent},
                torch_key="torch", cuda_key="cuda")
    assert all(torch.equal(a, b) for a, b in zip(first, (torch.rand(3, generator=gen),
                                                         torch.rand(3))))
