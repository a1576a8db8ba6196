"""augment_cifar: batched flip + affine; geometry checked against exact tensor ops."""

import math

import pytest
import torch

from sparsenet.data.augment import affine_theta, apply_theta, augment_cifar, random_affine_theta


def _one(v):
    return torch.tensor([v], dtype=torch.float64)


def _theta(flip=False, angle=0.0, tx=0.0, ty=0.0, scale=1.0, h=6, w=6):
    return affine_theta(torch.tensor([flip]), _one(angle), _one(tx), _one(ty), _one(scale), h, w)


X = torch.rand(1, 3, 6, 6, generator=torch.Generator().manual_seed(0))


def test_identity_flip_rotation_and_shift_are_exact():
    assert torch.allclose(apply_theta(X, _theta()), X, atol=1e-6)
    assert torch.allclose(apply_theta(X, _theta(flip=True)), X.flip(-1), atol=1e-6)
    rot = apply_theta(X, _theta(angle=math.pi / 2))
    assert torch.allclose(rot, torch.rot90(X, 1, (-2, -1)), atol=1e-6)  # counter-clockwise
    right = apply_theta(X, _theta(tx=1 / 6))  # one pixel to the right, zeros come in
    assert torch.allclose(right[..., 1:], X[..., :-1], atol=1e-6)
    assert right[..., 0].abs().max() < 1e-6
    down = apply_theta(X, _theta(ty=1 / 6))
    assert torch.allclose(down[..., 1:, :], X[..., :-1, :], atol=1e-6)


def test_rotation_respects_the_aspect_ratio():
    x = torch.rand(1, 1, 4, 8)
    rot = apply_theta(x, _theta(angle=math.pi / 2, h=4, w=8))
    assert torch.allclose(rot[..., 2:6], torch.rot90(x[..., 2:6], 1, (-2, -1)), atol=1e-6)


def test_random_parameters_stay_in_range():
    theta = random_affine_theta(4000, 32, 32, torch.Generator().manual_seed(0))
    lin = theta[:, :, :2]
    det = torch.linalg.det(lin)  # +-1 / scale^2
    scale = det.abs().rsqrt()
    assert scale.min() >= 0.8 - 1e-9 and scale.max() <= 1.2 + 1e-9
    flips = (det < 0).double().mean().item()
    assert 0.45 < flips < 0.55
    # recover the forward shift t = -M^-1 b: within +-0.2 of the size (= +-0.4 normalized)
    shift = -torch.linalg.solve(lin, theta[:, :, 2:]).squeeze(-1)
    assert shift.abs().max() <= 0.4 + 1e-9 and shift.abs().max() > 0.35
    cos_angle = lin[:, 1, 1] * scale  # unaffected by the flip
    assert torch.all(cos_angle >= math.cos(math.radians(30)) - 1e-9)


def test_augment_is_batched_seeded_and_changes_images():
    x = torch.rand(64, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    a = augment_cifar(x, torch.Generator().manual_seed(5))
    b = augment_cifar(x, torch.Generator().manual_seed(5))
    c = augment_cifar(x, torch.Generator().manual_seed(6))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert torch.equal(a, b) and not torch.equal(a, c)
    changed = (a - x).abs().flatten(1).amax(1) > 1e-3
    assert changed.all()
    assert a.min() >= 0 and a.max() <= 1  # bilinear mixing and zero fill stay in range
    # images are transformed independently: not one transform for the whole batch
    d = augment_cifar(x[:1].expand(8, -1, -1, -1), torch.Generator().manual_seed(5))
    assert not torch.allclose(d[0], d[1])


def test_augment_rejects_bad_shapes_and_handles_empty_batches():
    with pytest.raises(ValueError):
        augment_cifar(torch.zeros(3, 32, 32), torch.Generator())
    assert augment_cifar(torch.zeros(0, 3, 8, 8), torch.Generator()).shape == (0, 3, 8, 8)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_augment_on_the_gpu_matches_the_cpu_with_a_cpu_generator():
    x = torch.rand(16, 3, 32, 32)
    cpu = augment_cifar(x, torch.Generator().manual_seed(0))
    gpu = augment_cifar(x.cuda(), torch.Generator().manual_seed(0))
    assert gpu.is_cuda and torch.allclose(gpu.cpu(), cpu, atol=1e-5)
    cuda_gen = augment_cifar(x.cuda(), torch.Generator(device="cuda").manual_seed(0))
    assert cuda_gen.shape == x.shape
