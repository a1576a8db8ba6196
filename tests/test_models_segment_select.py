"""The fused dendritic segment selection in both memory layouts (sparsenet.models.layers).

``_SegmentSelect`` picks segment-major for narrow contexts and unit-major (the weight's own
layout) when the weights outnumber the activations: a wide (prototype) context or a
broadcast one. Both must give the reference values and gradients.
"""

import pytest
import torch

from sparsenet.models.layers import DendriticLayer, DendriticSegments, _SegmentSelect


def _reference(ctx: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    acts = torch.einsum("bd,usd->bus", ctx, weight)
    return acts.gather(-1, acts.detach().abs().argmax(-1, keepdim=True)).squeeze(-1)


@pytest.mark.parametrize("batch,dim,unit_major", [(5, 3, False), (2, 40, True), (1, 7, True)],
                         ids=["segment_major", "unit_major_wide", "unit_major_one_row"])
def test_select_matches_reference_values_and_gradients(batch, dim, unit_major):
    """Catches a wrong reshape of either layout's weight gradient (e.g. ``view(segments,
    units, dim)`` in the unit-major backward) and a reduction over the wrong axis."""
    torch.manual_seed(0)
    seg = DendriticSegments(6, 4, dim).double()
    ctx = torch.randn(batch, dim, dtype=torch.double, requires_grad=True)
    assert (seg.weight.numel() >= batch * 6 * 4) == unit_major  # both layouts covered
    out = _SegmentSelect.apply(ctx, seg.weight)
    ref = _reference(ctx, seg.weight)
    assert torch.allclose(out, ref)
    g = torch.randn(batch, 6, dtype=torch.double)
    ours = torch.autograd.grad(out, (ctx, seg.weight), g)
    theirs = torch.autograd.grad(ref, (ctx, seg.weight), g)
    assert torch.allclose(ours[0], theirs[0]) and torch.allclose(ours[1], theirs[1])
    assert ours[1].is_contiguous() or not unit_major  # the point of the unit-major layout
    assert torch.autograd.gradcheck(_SegmentSelect.apply, (ctx, seg.weight))


def test_broadcast_wide_context_layer_matches_per_row_computation():
    """A layer fed one prototype-like context for the whole batch (stride 0, as the engine
    passes it) equals the same layer fed B materialised copies, gradients included."""
    torch.manual_seed(0)
    layer = DendriticLayer(torch.nn.Linear(12, 16), num_segments=5, context_dim=64).double()
    x = torch.randn(8, 12, dtype=torch.double)
    one = torch.randn(1, 64, dtype=torch.double)
    g = torch.randn(8, 16, dtype=torch.double)
    params = [layer.base.weight, layer.segments.weight]
    fast = torch.autograd.grad(layer(x, one.expand(8, -1)), params, g)
    full = torch.autograd.grad(layer(x, one.repeat(8, 1).requires_grad_()), params, g)
    for a, b in zip(fast, full):
        assert torch.allclose(a, b, atol=1e-12)
