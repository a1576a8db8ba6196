import pytest
import torch

from sparsenet.models.layers import _SegmentSelect  # the fused fast path
from sparsenet.models.layers import (DendriticLayer, DendriticSegments, KWinners, KWinners2d,
                                     dendritic_bias, dendritic_gate, num_winners,
                                     select_segment, selected_segment_index, sparse_conv2d,
                                     sparse_linear, update_boost_strength)
from sparsenet.models.masks import MaskEnforcer, get_mask


def nonzeros_per_sample(y):
    return (y.flatten(1) != 0).sum(1)


# ----------------------------------------------------------------------------- k-winners

@pytest.mark.parametrize("fraction,units", [(0.05, 2048), (0.1, 37), (0.5, 10), (0.001, 50)])
def test_kwinners_keeps_exactly_k_largest(fraction, units):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, units, generator=g) + 5.0  # no zeros in the input
    y = KWinners(fraction)(x)
    k = max(1, round(fraction * units))
    assert torch.all(nonzeros_per_sample(y) == k)
    top = x.topk(k, dim=1).values
    assert torch.equal(y.sort(dim=1, descending=True).values[:, :k], top)


def test_kwinners_exact_k_with_ties_and_all_negative():
    x = torch.full((4, 20), 3.0)  # every unit tied
    x[1] = -torch.arange(1.0, 21.0)  # all negative: the k least negative win
    x[2] = torch.tensor([1.0, 2.0] * 10)  # ties at the threshold
    y = KWinners(0.25)(x)
    assert torch.all(nonzeros_per_sample(y) == 5)
    assert torch.equal(y[1][y[1] != 0].sort().values, torch.tensor([-5.0, -4, -3, -2, -1]))
    assert torch.all(y[2][y[2] != 0] == 2.0)
    assert torch.all(y[0][y[0] != 0] == 3.0)


def test_kwinners2d_exact_k_over_all_units_with_ties():
    x = torch.randn(3, 4, 5, 5)
    x[0] = 1.0  # constant image: every unit tied
    x[1] = -x[1].abs() - 0.1  # all negative
    y = KWinners2d(0.1)(x)
    assert y.shape == x.shape
    assert torch.all(nonzeros_per_sample(y) == num_winners(0.1, 100))
    # winners keep their values and are the largest ones of the sample
    kept = y[2][y[2] != 0]
    assert torch.equal(kept.sort().values, x[2].flatten().topk(10).values.sort().values)


def test_kwinners_gradient_flows_only_to_winners():
    x = torch.randn(2, 10, requires_grad=True)
    y = KWinners(0.3)(x)
    y.sum().backward()
    assert torch.equal(x.grad, (y != 0).float())


def test_k_inference_factor_widens_k_in_eval_only():
    kw = KWinners(0.1, k_inference_factor=1.5)
    x = torch.randn(3, 20)
    assert torch.all(nonzeros_per_sample(kw.train()(x)) == 2)
    assert torch.all(nonzeros_per_sample(kw.eval()(x)) == 3)
    kw2 = KWinners2d(0.5, k_inference_factor=4.0).eval()  # capped at all units
    assert torch.equal(kw2(torch.ones(1, 2, 2, 2)), torch.ones(1, 2, 2, 2))


def test_kwinners_rejects_bad_fraction_and_shape():
    with pytest.raises(ValueError):
        KWinners(0.0)
    with pytest.raises(ValueError):
        KWinners(1.5)
    with pytest.raises(ValueError):
        KWinners(0.1)(torch.randn(2, 3, 4))
    with pytest.raises(ValueError):
        KWinners2d(0.1)(torch.randn(2, 3))


def test_boosting_moves_winners_towards_rarely_active_units():
    units, k = 20, 2
    x = torch.linspace(1.0, 0.5, units).repeat(16, 1)  # units 0 and 1 always largest
    plain = KWinners(k / units)
    boosted = KWinners(k / units, boost_strength=20.0, duty_cycle_period=100, units=units)
    boosted.train()
    first = boosted(x)
    assert torch.equal(first != 0, plain(x) != 0)  # duty cycles start at 0: same winners
    winners = set()
    for _ in range(30):
        y = boosted(x)
        winners |= set(torch.nonzero(y[0]).flatten().tolist())
        assert torch.all(nonzeros_per_sample(y) == k)
        assert torch.equal(y[y != 0], x[y != 0])  # kept values are un-boosted
    assert len(winners) > 6  # formerly silent units have won
    assert boosted.duty_cycle[:2].max() < 0.9  # the dominant units no longer always win


def test_boosting_duty_cycles_only_move_in_train_mode_and_decay():
    kw = KWinners(0.1, boost_strength=2.0, boost_strength_factor=0.5, units=10).eval()
    kw(torch.randn(4, 10))
    assert torch.all(kw.duty_cycle == 0)
    kw.train()
    kw(torch.randn(4, 10))
    assert torch.isclose(kw.duty_cycle.sum(), torch.tensor(1.0))  # one winner per sample
    update_boost_strength(torch.nn.Sequential(kw))
    assert kw.boost_strength == pytest.approx(1.0)


def test_boosting_state_round_trips_through_state_dict():
    kw = KWinners2d(0.2, boost_strength=1.0).train()  # lazily sized duty cycle
    kw(torch.randn(3, 4, 2, 2))
    fresh = KWinners2d(0.2, boost_strength=1.0)
    fresh.load_state_dict(kw.state_dict())
    assert torch.equal(fresh.duty_cycle, kw.duty_cycle)
    assert fresh.duty_cycle.shape == (4,)  # per channel
    assert int(fresh.learning_iterations) == 3


# ----------------------------------------------------------------------------- dendrites

def test_dendritic_segments_shape_and_einsum():
    seg = DendriticSegments(num_units=3, num_segments=4, context_dim=5)
    assert seg.weight.shape == (3, 4, 5)
    ctx = torch.randn(2, 5)
    acts = seg(ctx)
    assert acts.shape == (2, 3, 4)
    assert torch.allclose(acts, torch.einsum("bd,usd->bus", ctx, seg.weight), atol=1e-6)


def test_dendritic_gate_and_bias_hand_computed():
    y = torch.tensor([[1.0, 2.0, -3.0]])
    acts = torch.tensor([[[0.5, -2.0, 1.0],    # abs-max is the negative -2
                          [0.1, 0.3, -0.2],    # 0.3
                          [-1.0, 4.0, -5.0]]])  # -5
    expected_sel = torch.tensor([[-2.0, 0.3, -5.0]])
    assert torch.equal(select_segment(acts), expected_sel)
    assert torch.equal(selected_segment_index(acts), torch.tensor([[1, 1, 2]]))
    gate = 1.0 / (1.0 + torch.exp(-expected_sel))
    assert torch.allclose(dendritic_gate(y, acts), y * gate)
    assert torch.allclose(dendritic_gate(y, acts),
                          torch.tensor([[0.11920292, 1.14888503, -0.02007855]]))
    assert torch.allclose(dendritic_bias(y, acts), torch.tensor([[-1.0, 2.3, -8.0]]))


def test_dendritic_gate_per_channel_on_feature_maps():
    y = torch.ones(2, 3, 4, 4)
    acts = torch.tensor([[[1.0, -3.0]], [[2.0, 0.0]]]).expand(2, 3, 2).contiguous()
    acts[:, 1] = 0.0
    out = dendritic_gate(y, acts)
    assert torch.allclose(out[0, 0], torch.full((4, 4), torch.sigmoid(torch.tensor(-3.0)).item()))
    assert torch.allclose(out[1, 0], torch.full((4, 4), torch.sigmoid(torch.tensor(2.0)).item()))
    assert torch.allclose(out[:, 1], torch.full((2, 4, 4), 0.5))
    with pytest.raises(ValueError):
        dendritic_gate(torch.ones(2, 5), acts)  # 5 units vs 3 dendrite units


def test_absmax_backward_matches_autograd_reference():
    acts = torch.randn(4, 6, 5, requires_grad=True)
    g = torch.randn(4, 6)
    select_segment(acts).backward(g)
    ours = acts.grad.clone()
    acts.grad = None
    ref = acts.gather(-1, acts.detach().abs().argmax(-1, keepdim=True)).squeeze(-1)
    ref.backward(g)
    assert torch.allclose(ours, acts.grad)


def test_broadcast_and_repeated_contexts_take_exact_shortcuts():
    torch.manual_seed(0)
    seg = DendriticSegments(7, 3, 4)
    one = torch.randn(1, 4)
    full = seg(one.repeat(6, 1))
    assert torch.allclose(seg.select(one.expand(6, -1)), select_segment(full))
    few = torch.randn(2, 4)[torch.tensor([0, 1, 1, 0, 0, 1])]
    assert torch.allclose(seg.select(few), select_segment(seg(few)))
    # gradients agree with the full path
    g = torch.randn(6, 7)
    seg.select(few).backward(g)
    fast = seg.weight.grad.clone()
    seg.weight.grad = None
    select_segment(seg(few)).backward(g)
    assert torch.allclose(fast, seg.weight.grad, atol=1e-6)


def test_fused_select_matches_reference_values_and_gradients():
    torch.manual_seed(0)
    seg = DendriticSegments(6, 4, 3).double()
    ctx = torch.randn(5, 3, dtype=torch.double, requires_grad=True)  # distinct rows
    ref_acts = torch.einsum("bd,usd->bus", ctx, seg.weight)
    ref = ref_acts.gather(-1, ref_acts.detach().abs().argmax(-1, keepdim=True)).squeeze(-1)
    assert torch.allclose(seg.select(ctx), ref)
    assert torch.autograd.gradcheck(_SegmentSelect.apply, (ctx, seg.weight))
    g = torch.randn(5, 6, dtype=torch.double)
    seg.select(ctx).backward(g)
    ours = (seg.weight.grad.clone(), ctx.grad.clone())
    seg.weight.grad, ctx.grad = None, None
    ref.backward(g)
    assert torch.allclose(ours[0], seg.weight.grad) and torch.allclose(ours[1], ctx.grad)


def test_selected_segment_depends_on_context():
    torch.manual_seed(0)
    layer = DendriticLayer(torch.nn.Linear(8, 64), num_segments=10, context_dim=4)
    ctx = torch.eye(4)
    idx = selected_segment_index(layer.segments(ctx))
    assert idx.shape == (4, 64)
    for a in range(4):
        for b in range(a + 1, 4):
            assert (idx[a] != idx[b]).float().mean() > 0.5


def test_dendritic_layer_modes_and_base_types():
    torch.manual_seed(0)
    lin = DendriticLayer(torch.nn.Linear(5, 3), 2, 4)
    x, ctx = torch.randn(2, 5), torch.randn(2, 4)
    assert torch.allclose(lin(x, ctx), dendritic_gate(lin.base(x), lin.segments(ctx)))
    conv = DendriticLayer(torch.nn.Conv2d(2, 6, 3, padding=1), 2, 4, mode="bias")
    out = conv(torch.randn(2, 2, 5, 5), ctx)
    assert out.shape == (2, 6, 5, 5)
    with pytest.raises(ValueError):
        DendriticLayer(torch.nn.Linear(5, 3), 2, 4, mode="nope")


# ----------------------------------------------------------------------------- sparse layers

@pytest.mark.parametrize("make,n", [
    (lambda g: sparse_linear(30, 20, 0.7, g), 600),
    (lambda g: sparse_conv2d(3, 8, 3, 0.7, g, padding=1), 216),
    (lambda g: DendriticSegments(10, 4, 5, sparsity=0.7, generator=g), 200),
])
def test_sparse_layers_exact_zeros_survive_adam_with_weight_decay(make, n):
    layer = make(torch.Generator().manual_seed(0))
    mask = get_mask(layer)
    assert int((layer.weight == 0).sum()) == round(0.7 * n)
    assert int((mask == 0).sum()) == round(0.7 * n)
    zeros = mask == 0
    enforce = MaskEnforcer(layer)
    opt = torch.optim.Adam(layer.parameters(), lr=1e-2, weight_decay=1e-2)
    in_shape = {torch.nn.Linear: (16, 30), torch.nn.Conv2d: (4, 3, 6, 6),
                DendriticSegments: (16, 5)}[type(layer)]
    g = torch.Generator().manual_seed(1)
    for _ in range(100):
        out = layer(torch.randn(*in_shape, generator=g))
        loss = (out ** 2).mean() + out.mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        enforce()
    assert torch.all(layer.weight[zeros] == 0)
    assert torch.all(layer.weight[~zeros] != 0)
    if getattr(layer, "bias", None) is not None:
        assert torch.all(layer.bias != 0)  # biases are never masked


def test_sparsity_zero_attaches_no_mask_and_is_seeded():
    assert get_mask(sparse_linear(4, 3, 0.0)) is None
    a = sparse_linear(10, 10, 0.5, torch.Generator().manual_seed(3))
    b = sparse_linear(10, 10, 0.5, torch.Generator().manual_seed(3))
    assert torch.equal(get_mask(a), get_mask(b))
    with pytest.raises(ValueError):
        sparse_linear(4, 3, 1.0)


def test_select_segment_matches_argmax_abs_gather_for_any_layout():
    acts = torch.randn(32, 50, 10)
    ref = acts.gather(-1, acts.abs().argmax(-1, keepdim=True)).squeeze(-1)
    assert torch.equal(select_segment(acts), ref)
    assert torch.equal(select_segment(acts.transpose(1, 2).contiguous().transpose(1, 2)), ref)
