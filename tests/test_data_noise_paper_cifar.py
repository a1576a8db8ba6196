"""The paper's CIFAR noise (`paper_cifar`): int(3072 level / 3) channel values set to 1."""

import pytest
import torch

from sparsenet.data.noise import ALL_NOISE_TYPES, NOISE_TYPES, add_noise, paper_cifar_count
from sparsenet.experiments.noise import evaluate_under_noise

MEAN, STD = (0.49, 0.48, 0.45), (0.2, 0.2, 0.2)


def images(b=32):
    g = torch.Generator().manual_seed(3)
    return torch.rand(b, 3, 32, 32, generator=g) * 0.5  # below 1: every set value shows


def noisy(level, seed=0, x=None):
    x = images() if x is None else x
    return x, add_noise(x, "paper_cifar", level, mean=MEAN, std=STD,
                        generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("level", [0.1, 0.2, 0.3, 0.5, 1.0])
def test_count_is_int_of_3072_times_level_over_three(level):
    x, y = noisy(level)
    changed = (y != x).flatten(1).sum(1)
    expected = int(3072 * (level / 3))
    assert expected == paper_cifar_count(level, 3072)
    assert changed.tolist() == [expected] * x.shape[0]
    assert torch.all(y[y != x] == 1.0)  # 2 x the paper's stdev 0.5, raw scale


def test_values_are_picked_per_channel_not_per_pixel():
    x, y = noisy(0.3)
    changed = y != x
    per_pixel = changed.sum(1)  # channels changed at each position
    assert (per_pixel == 1).any() and (per_pixel == 2).any()  # positions not all-or-none
    channels = changed.sum(dim=(0, 2, 3))
    assert torch.all(channels > 0.25 * changed.sum())  # every channel gets its share


def test_deterministic_and_level_zero_is_identity():
    x, a = noisy(0.2, seed=5)
    _, b = noisy(0.2, seed=5, x=x)
    _, c = noisy(0.2, seed=6, x=x)
    assert torch.equal(a, b) and not torch.equal(a, c)
    _, zero = noisy(0.0, x=x)
    assert torch.equal(zero, x) and zero is not x


def test_paper_cifar_is_opt_in():
    assert "paper_cifar" in ALL_NOISE_TYPES and "paper_cifar" not in NOISE_TYPES


def test_noise_evaluation_scores_paper_cifar():
    x = images(8)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3072, 2))
    y = model(x).argmax(1)  # all right without noise
    out = evaluate_under_noise(model, x, y, normalize=lambda v: v, mean=MEAN, std=STD,
                               noise_types=("paper_cifar",), levels=(0.0, 1.0))
    assert out["total"] == 8 and out["correct/paper_cifar/0"] == 8
    assert out["noise_score/paper_cifar"] == 8 + out["correct/paper_cifar/1"]
