"""add_noise: exact pixel counts, the right replacement values, determinism, validation;
and the paper's CIFAR noise (``paper_cifar``): int(3072 level / 3) channel values set to 1."""

import pytest
import torch

from sparsenet.data.noise import ALL_NOISE_TYPES, NOISE_TYPES, add_noise, paper_cifar_count

MEAN, STD = (0.2, 0.4, 0.6), (0.1, 0.2, 0.3)


def _images(b=16, c=3, h=7, w=9):
    # values no noise type can produce, so every changed entry is detectable
    g = torch.Generator().manual_seed(1)
    return torch.full((b, c, h, w), -5.0) + torch.rand(b, c, h, w, generator=g)


def _noisy(kind, level, x=None, seed=0, mean=MEAN, std=STD):
    x = _images() if x is None else x
    g = torch.Generator().manual_seed(seed)
    return x, add_noise(x, kind, level, mean=mean, std=std, generator=g)


@pytest.mark.parametrize("kind", NOISE_TYPES)
@pytest.mark.parametrize("level", [0.1, 0.35, 0.5, 1.0])
def test_exact_number_of_positions_all_channels(kind, level):
    x, y = _noisy(kind, level)
    changed = y != x  # (B, C, H, W)
    pos = changed.any(1)
    assert torch.equal(changed, pos.unsqueeze(1).expand_as(changed))  # all channels together
    assert pos.flatten(1).sum(1).tolist() == [round(level * 7 * 9)] * x.shape[0]
    if level < 1:
        assert not torch.equal(pos[0], pos[1])  # positions differ between images
    assert torch.equal(y[~changed], x[~changed])


@pytest.mark.parametrize("kind", NOISE_TYPES)
def test_replacement_values(kind):
    x, y = _noisy(kind, 0.5)
    pos = (y != x).any(1)  # (B, H, W)
    for c in range(3):
        v = y[:, c][pos]
        if kind == "set_2sigma":
            assert torch.allclose(v, torch.full_like(v, 2 * STD[c]))
        elif kind == "zero":
            assert torch.all(v == 0)
        elif kind == "numenta":
            assert torch.allclose(v, torch.full_like(v, MEAN[c] + 2 * STD[c]))
        elif kind == "abs_gaussian":
            assert v.min() >= 0 and v.unique().numel() > 100
            assert v.mean().item() == pytest.approx(STD[c] * (2 / torch.pi) ** 0.5, rel=0.15)
        else:  # uniform
            assert v.min() >= 0 and v.max() <= 2 * STD[c] and v.unique().numel() > 100
            assert v.mean().item() == pytest.approx(STD[c], rel=0.15)


@pytest.mark.parametrize("kind", NOISE_TYPES)
def test_level_zero_is_identity_and_input_untouched(kind):
    x = _images()
    before = x.clone()
    _, y = _noisy(kind, 0.0, x)
    assert torch.equal(y, x) and y is not x
    _noisy(kind, 0.4, x)
    assert torch.equal(x, before)


@pytest.mark.parametrize("kind", NOISE_TYPES)
def test_seeded_generator_is_deterministic(kind):
    _, a = _noisy(kind, 0.3, seed=7)
    _, b = _noisy(kind, 0.3, seed=7)
    _, c = _noisy(kind, 0.3, seed=8)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_scalar_and_tensor_statistics_on_grayscale():
    x = torch.full((4, 1, 28, 28), 0.5)
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    a = add_noise(x, "set_2sigma", 0.1, mean=0.1307, std=0.3081, generator=g1)
    b = add_noise(x, "set_2sigma", 0.1, mean=torch.tensor([0.1307]), std=[0.3081],
                  generator=g2)
    assert torch.equal(a, b)
    assert (a != 0.5).flatten(1).sum(1).tolist() == [78] * 4  # round(0.1 * 784)
    assert torch.allclose(a[a != 0.5], torch.tensor(2 * 0.3081))


@pytest.mark.parametrize("bad", [
    dict(kind="salt"), dict(level=-0.1), dict(level=1.5), dict(level="0.1"),
    dict(mean=(0.1, 0.2)), dict(x=torch.zeros(3, 7, 9)),
])
def test_validation(bad):
    args = dict(x=_images(), kind="zero", level=0.1, mean=MEAN, std=STD)
    args.update(bad)
    with pytest.raises(ValueError):
        add_noise(args["x"], args["kind"], args["level"], mean=args["mean"], std=args["std"],
                  generator=torch.Generator())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
@pytest.mark.parametrize("kind", NOISE_TYPES)
def test_cpu_generator_gives_the_same_noise_on_the_gpu(kind):
    x = _images()
    _, cpu = _noisy(kind, 0.3, x)
    _, gpu = _noisy(kind, 0.3, x.cuda())
    assert gpu.is_cuda and torch.allclose(gpu.cpu(), cpu)
    g = torch.Generator(device="cuda").manual_seed(0)
    y = add_noise(x.cuda(), kind, 0.3, mean=MEAN, std=STD, generator=g)
    assert ((y != x.cuda()).any(1).flatten(1).sum(1) == round(0.3 * 63)).all()


# --- the paper's CIFAR noise (paper_cifar) ---------------------------------------------

CIFAR_MEAN, CIFAR_STD = (0.49, 0.48, 0.45), (0.2, 0.2, 0.2)


def cifar_images(b=32):
    g = torch.Generator().manual_seed(3)
    return torch.rand(b, 3, 32, 32, generator=g) * 0.5  # below 1: every set value shows


def paper_noisy(level, seed=0, x=None):
    x = cifar_images() if x is None else x
    return x, add_noise(x, "paper_cifar", level, mean=CIFAR_MEAN, std=CIFAR_STD,
                        generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("level", [0.1, 0.2, 0.3, 0.5, 1.0])
def test_count_is_int_of_3072_times_level_over_three(level):
    x, y = paper_noisy(level)
    changed = (y != x).flatten(1).sum(1)
    expected = int(3072 * (level / 3))
    assert expected == paper_cifar_count(level, 3072)
    assert changed.tolist() == [expected] * x.shape[0]
    assert torch.all(y[y != x] == 1.0)  # 2 x the paper's stdev 0.5, raw scale


def test_values_are_picked_per_channel_not_per_pixel():
    x, y = paper_noisy(0.3)
    changed = y != x
    per_pixel = changed.sum(1)  # channels changed at each position
    assert (per_pixel == 1).any() and (per_pixel == 2).any()  # positions not all-or-none
    channels = changed.sum(dim=(0, 2, 3))
    assert torch.all(channels > 0.25 * changed.sum())  # every channel gets its share


def test_paper_cifar_is_deterministic_and_level_zero_is_identity():
    x, a = paper_noisy(0.2, seed=5)
    _, b = paper_noisy(0.2, seed=5, x=x)
    _, c = paper_noisy(0.2, seed=6, x=x)
    assert torch.equal(a, b) and not torch.equal(a, c)
    _, zero = paper_noisy(0.0, x=x)
    assert torch.equal(zero, x) and zero is not x


def test_paper_cifar_is_opt_in():
    assert "paper_cifar" in ALL_NOISE_TYPES and "paper_cifar" not in NOISE_TYPES
