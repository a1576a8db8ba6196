import pytest
import torch

from sparsenet.continual.contexts import PrototypeContext, build_contexts


def two_tasks(n=200, dim=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, 1, 3, 4, generator=g) * 0.3 + 2.0
    b = torch.randn(n, 1, 3, 4, generator=g) * 0.3 - 2.0
    return a, b


def test_onehot_and_none():
    ctx = build_contexts("onehot", num_tasks=4, input_dim=12)
    assert ctx.dim == 4
    assert ctx.train_context(2).tolist() == [[0.0, 0.0, 1.0, 0.0]]
    none = build_contexts("none", num_tasks=4, input_dim=12)
    assert none.dim == 0 and none.train_context(1) is None
    with pytest.raises(ValueError, match="known"):
        build_contexts("task_id", num_tasks=4, input_dim=12)
    with pytest.raises(ValueError):
        build_contexts("onehot", num_tasks=4, input_dim=12, infer="nearest")


def test_prototypes_are_per_task_means_of_transformed_inputs():
    a, b = two_tasks()
    ctx = PrototypeContext(2, 12, chunk=64)  # chunking must not change the mean
    scale = lambda x: 2 * x + 1  # noqa: E731  (stands in for normalize + permute)
    ctx.fit_task(0, a, scale)
    ctx.fit_task(1, b)
    torch.testing.assert_close(ctx.train_context(0)[0], scale(a).flatten(1).mean(0))
    torch.testing.assert_close(ctx.train_context(1)[0], b.flatten(1).mean(0))


def test_nearest_prototype_picks_the_right_task():
    a, b = two_tasks()
    ctx = build_contexts("prototype", num_tasks=3, input_dim=12, infer="nearest")
    ctx.fit_task(0, a[:100])
    ctx.fit_task(1, b[:100])
    x = torch.cat([a[100:], b[100:]])
    truth = torch.cat([torch.zeros(100), torch.ones(100)]).long()
    assert torch.equal(ctx.infer_tasks(x), truth)
    per_sample = ctx.eval_context(0, x)  # the task id passed is ignored when inferring
    assert per_sample.shape == (200, 12)
    assert torch.equal(per_sample[150], ctx.prototypes[1])
    oracle = build_contexts("prototype", num_tasks=3, input_dim=12, infer="oracle")
    oracle.load_state_dict(ctx.state_dict())
    assert oracle.eval_context(0, x).shape == (1, 12)


def test_unfitted_tasks_are_never_inferred():
    a, b = two_tasks()
    ctx = PrototypeContext(3, 12, infer="nearest")
    ctx.fit_task(1, a)
    assert set(ctx.infer_tasks(torch.cat([a, b])).tolist()) == {1}
    with pytest.raises(ValueError):
        ctx.train_context(0)
