"""Building blocks: k-winners activations, dendritic segments and gates, sparse layers.

Everything here is written for speed on the training hot path: k-winners is one ``topk``
plus one ``scatter`` (exactly k winners, ties included), dendritic segments are one matmul
for all units and segments, and the absolute-max segment selection uses ``amax``/``amin``
instead of an ``argmax`` + gather over the (batch, units, segments) tensor.
Sparse weights reuse :mod:`sparsenet.models.masks` (a ``weight_mask`` buffer on the module
owning ``weight``), so one ``MaskEnforcer`` keeps linear, conv and dendrite weights sparse.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from sparsenet.models.masks import random_mask, set_mask, static_mask

__all__ = [
    "KWinners",
    "KWinners2d",
    "DendriticSegments",
    "DendriticLayer",
    "dendritic_gate",
    "dendritic_bias",
    "select_segment",
    "selected_segment_index",
    "sparse_linear",
    "sparse_conv2d",
    "update_boost_strength",
    "num_winners",
]


def num_winners(fraction: float, units: int) -> int:
    """k = max(1, round(fraction * units)): the number of units a k-winners layer keeps."""
    return max(1, int(round(fraction * units)))


# --------------------------------------------------------------------------- k-winners


class _KWinnersBase(nn.Module):
    """Shared options and duty-cycle bookkeeping of :class:`KWinners` / :class:`KWinners2d`.

    Boosting (Numenta's "How can we be so dense"): a unit's duty cycle is a running
    average of how often it wins; winners are chosen on ``x * exp((target - duty) *
    boost_strength)`` so rarely active units get a chance, but the values kept are the
    un-boosted activations. Duty cycles only move in train mode. With boosting off (the
    default) no buffers exist and the layer is a pure function of its input.
    ``k_inference_factor`` (Numenta's option, used by the paper's sparse CNN code) scales k
    in eval mode only.
    """

    def __init__(self, fraction: float, boost_strength: float = 0.0,
                 boost_strength_factor: float = 1.0, duty_cycle_period: int = 1000,
                 units: int | None = None, k_inference_factor: float = 1.0):
        super().__init__()
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"k-winners fraction must be in (0, 1], got {fraction}")
        if boost_strength < 0.0:
            raise ValueError(f"boost_strength must be >= 0, got {boost_strength}")
        if not 0.0 <= boost_strength_factor <= 1.0:
            raise ValueError(f"boost_strength_factor must be in [0, 1], "
                             f"got {boost_strength_factor}")
        if duty_cycle_period < 1:
            raise ValueError(f"duty_cycle_period must be >= 1, got {duty_cycle_period}")
        if units is not None and units < 1:
            raise ValueError(f"units must be >= 1, got {units}")
        if k_inference_factor <= 0.0:
            raise ValueError(f"k_inference_factor must be > 0, got {k_inference_factor}")
        self.fraction = float(fraction)
        self.k_inference_factor = float(k_inference_factor)
        self.boost_strength_factor = float(boost_strength_factor)
        self.duty_cycle_period = int(duty_cycle_period)
        self.boosting = boost_strength > 0.0
        if self.boosting:
            # Buffers, not attributes: they must survive state_dict() / checkpoints.
            self.register_buffer("boost", torch.tensor(float(boost_strength)))
            self.register_buffer("duty_cycle", torch.zeros(units or 0))
            self.register_buffer("learning_iterations", torch.zeros((), dtype=torch.long))

    def num_winners(self, units: int) -> int:
        """k for the current mode (eval scales the fraction by ``k_inference_factor``)."""
        fraction = self.fraction if self.training else self.fraction * self.k_inference_factor
        return min(units, num_winners(fraction, units))

    @property
    def boost_strength(self) -> float:
        return float(self.boost) if self.boosting else 0.0

    def decay_boost_strength(self) -> None:
        """Multiply the boost strength by ``boost_strength_factor`` (call once per epoch)."""
        if self.boosting:
            self.boost.mul_(self.boost_strength_factor)

    def _duty(self, units: int, like: torch.Tensor) -> torch.Tensor:
        if self.duty_cycle.numel() == 0:  # created lazily when units was not given
            self.duty_cycle = torch.zeros(units, device=like.device, dtype=like.dtype)
        elif self.duty_cycle.numel() != units:
            raise ValueError(f"k-winners built for {self.duty_cycle.numel()} duty-cycle units, "
                             f"got input with {units}")
        return self.duty_cycle

    def _boost_factors(self, units: int, target_density: float, like: torch.Tensor) -> torch.Tensor:
        duty = self._duty(units, like)
        return torch.exp((target_density - duty) * self.boost)

    @torch.no_grad()
    def _update_duty(self, active: torch.Tensor, batch: int) -> None:
        """Running mean over the last ``duty_cycle_period`` samples of per-unit activity.

        ``active`` is the per-unit number of wins summed over the batch.
        """
        self.learning_iterations += batch
        period = self.learning_iterations.clamp(max=self.duty_cycle_period).clamp(min=batch)
        period = period.to(self.duty_cycle.dtype)
        self.duty_cycle.mul_(period - batch).add_(active).div_(period)

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
        key = prefix + "duty_cycle"
        if self.boosting and key in state_dict and self.duty_cycle.shape != state_dict[key].shape:
            if self.duty_cycle.numel() == 0:  # lazily sized buffer: take the saved size
                self.duty_cycle = torch.zeros_like(state_dict[key], device=self.duty_cycle.device)
        super()._load_from_state_dict(state_dict, prefix, *args)

    def extra_repr(self) -> str:
        s = f"fraction={self.fraction}"
        if self.k_inference_factor != 1.0:
            s += f", k_inference_factor={self.k_inference_factor}"
        if self.boosting:
            s += (f", boost_strength={self.boost_strength:.4g}, boost_strength_factor="
                  f"{self.boost_strength_factor}, duty_cycle_period={self.duty_cycle_period}")
        return s


class KWinners(_KWinnersBase):
    """Per sample, exactly k = max(1, round(fraction * units)) units keep their value; rest 0.

    Input (batch, units). Ties are broken by ``topk`` so the count is exact even for
    constant or all-negative rows. ``units`` (optional) sizes the duty-cycle buffer up front.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2:
            raise ValueError(f"KWinners expects (batch, units), got shape {tuple(x.shape)}")
        units = x.shape[1]
        k = self.num_winners(units)
        if not self.boosting:
            if k >= units:
                return x
            values, idx = x.topk(k, dim=1, sorted=False)
            return torch.zeros_like(x).scatter_(1, idx, values)
        boosted = x.detach() * self._boost_factors(units, k / units, x)
        idx = boosted.topk(k, dim=1, sorted=False).indices
        mask = torch.zeros_like(x).scatter_(1, idx, 1.0)
        if self.training:
            self._update_duty(mask.sum(0), x.shape[0])
        return x * mask


class KWinners2d(_KWinnersBase):
    """k-winners over all C*H*W units of each sample of a (B, C, H, W) input.

    Boosting works per channel (duty cycle = fraction of a channel's positions that win),
    the natural convolutional analogue: a channel is one feature detector. ``units`` here
    means channels.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"KWinners2d expects (B, C, H, W), got shape {tuple(x.shape)}")
        b, c, h, w = x.shape
        units = c * h * w
        k = self.num_winners(units)
        flat = x.reshape(b, units)
        if not self.boosting:
            if k >= units:
                return x
            values, idx = flat.topk(k, dim=1, sorted=False)
            return torch.zeros_like(flat).scatter_(1, idx, values).view_as(x)
        factors = self._boost_factors(c, k / units, x).view(1, c, 1, 1)
        idx = (x.detach() * factors).reshape(b, units).topk(k, dim=1, sorted=False).indices
        mask = torch.zeros_like(flat).scatter_(1, idx, 1.0).view_as(x)
        if self.training:
            self._update_duty(mask.sum(dim=(0, 2, 3)) / (h * w), b)
        return x * mask


def update_boost_strength(model: nn.Module) -> None:
    """Decay the boost strength of every k-winners layer in ``model`` (once per epoch)."""
    for m in model.modules():
        if isinstance(m, _KWinnersBase):
            m.decay_boost_strength()


# --------------------------------------------------------------------------- dendrites


class DendriticSegments(nn.Module):
    """Each of ``num_units`` units has ``num_segments`` segments, each a linear map of the context.

    The parameter is named ``weight`` (units, segments, context_dim) so the shared
    ``weight_mask`` mechanism (static sparsity, pruning, ``MaskEnforcer``) covers it.

    ``context_density`` is the fraction of context entries taken as non-zero when sizing
    the initial weights (see :meth:`reset_parameters`): 1/num_tasks for a one-hot task id.
    """

    def __init__(self, num_units: int, num_segments: int, context_dim: int,
                 sparsity: float = 0.0, generator: torch.Generator | None = None,
                 context_density: float = 1.0):
        super().__init__()
        for name, v in (("num_units", num_units), ("num_segments", num_segments),
                        ("context_dim", context_dim)):
            if int(v) < 1:
                raise ValueError(f"{name} must be >= 1, got {v}")
        if not 0.0 < context_density <= 1.0:
            raise ValueError(f"context_density must be in (0, 1], got {context_density}")
        self.num_units, self.num_segments, self.context_dim = num_units, num_segments, context_dim
        self.sparsity = float(sparsity)
        self.context_density = float(context_density)
        self.weight = nn.Parameter(torch.empty(num_units, num_segments, context_dim))
        self.reset_parameters()
        if sparsity > 0.0:
            set_mask(self, random_mask(self.weight.shape, sparsity, generator))

    def reset_parameters(self) -> None:
        """U(-b, b), b = 1/sqrt(context_density * (1 - sparsity) * context_dim).

        Numenta's and the paper's sparse-aware Kaiming bound for segments: the expected
        number of non-zero context * weight terms, so a segment's activation has the same
        scale whatever the context's sparsity. With a one-hot context only one term is
        non-zero: sizing by ``context_dim`` alone makes the segments sqrt(num_tasks) too small.
        """
        nn.init.uniform_(self.weight, -self.init_bound, self.init_bound)

    @property
    def init_bound(self) -> float:
        """The bound :meth:`reset_parameters` draws from (for tests and reports)."""
        return 1.0 / math.sqrt(max(self.context_density * (1.0 - self.sparsity)
                                   * self.context_dim, 1e-12))

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        """context (B, context_dim) -> segment activations (B, units, segments), one matmul."""
        if context.dim() != 2 or context.shape[1] != self.context_dim:
            raise ValueError(f"context must be (batch, {self.context_dim}), "
                             f"got shape {tuple(context.shape)}")
        batch = context.shape[0]
        if batch > 1 and context.stride(0) == 0:
            # A broadcast context (one task id for the whole batch, as the engine passes it):
            # compute one row and hand back a stride-0 view; select_segment keeps it cheap.
            return self(context[:1]).expand(batch, -1, -1)
        # Laid out (B, segments, units) in memory and returned as a (B, units, segments)
        # view: the reduction over segments then runs over a strided axis, which vectorises
        # across units (several times faster than reducing a contiguous last axis of 10).
        w = self.weight.transpose(0, 1).reshape(-1, self.context_dim)
        out = F.linear(context, w).view(batch, self.num_segments, self.num_units)
        return out.transpose(1, 2)

    def select(self, context: torch.Tensor) -> torch.Tensor:
        """``select_segment(self(context))`` -> (B, units), computed once per distinct context.

        In continual learning a batch holds one or a few contexts (task id, prototype). A
        stride-0 (broadcast) context is computed once; on the CPU, a batch with few distinct
        rows is computed per distinct row and indexed back (exact, and it avoids the
        (B, units, segments) tensor). On a GPU the full path is cheap and ``unique`` would
        force a host sync, so it is not tried there.
        """
        selected = self.select_rows(context)
        return selected.expand(context.shape[0], -1) if selected.shape[0] == 1 else selected

    def select_rows(self, context: torch.Tensor) -> torch.Tensor:
        """Like :meth:`select`, but a broadcast context gives one (1, units) row.

        Callers that broadcast against (B, ...) outputs use this so the gate's sigmoid
        and its backward run over one row instead of B identical ones.
        """
        if context.dim() != 2 or context.shape[1] != self.context_dim:
            raise ValueError(f"context must be (batch, {self.context_dim}), "
                             f"got shape {tuple(context.shape)}")
        batch = context.shape[0]
        if batch > 1 and context.stride(0) == 0:
            return _SegmentSelect.apply(context[:1], self.weight)
        if batch > 1 and context.device.type == "cpu" and not context.requires_grad:
            distinct, inverse = torch.unique(context, dim=0, return_inverse=True)
            if 2 * distinct.shape[0] <= batch:
                return _SegmentSelect.apply(distinct, self.weight).index_select(0, inverse)
        return _SegmentSelect.apply(context, self.weight)

    def extra_repr(self) -> str:
        return (f"num_units={self.num_units}, num_segments={self.num_segments}, "
                f"context_dim={self.context_dim}, sparsity={self.sparsity}, "
                f"context_density={self.context_density}")


class _AbsMaxSegment(torch.autograd.Function):
    """Signed absolute-max over the last axis with a one-pass mask backward.

    amax/amin's own backward builds per-op masks and tie counts; here the gradient is
    ``(acts == selected) * grad``: one elementwise pass over (B, units, segments). On an
    exact tie (measure zero for real-valued contexts) every tied segment gets the gradient.
    """

    @staticmethod
    def forward(ctx: Any, acts: torch.Tensor) -> torch.Tensor:
        hi = acts.amax(dim=-1)
        lo = acts.amin(dim=-1)
        selected = torch.where(hi >= -lo, hi, lo)
        ctx.save_for_backward(acts, selected)
        return selected

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        acts, selected = ctx.saved_tensors
        return (acts == selected.unsqueeze(-1)) * grad.unsqueeze(-1)


class _SegmentSelect(torch.autograd.Function):
    """context (B, D), weight (U, S, D) -> signed abs-max segment activation (B, U).

    Fused, with one memory layout for both passes, picked by which tensor is larger:

    - segment-major (B, S, U) when the activations outnumber the weights (narrow contexts,
      e.g. a one-hot task id): the reductions over segments run across contiguous units,
      and the weight gradient is ``context^T @ G`` (K = batch), which BLAS does several
      times faster than the ``G^T @ context`` a Linear backward would use. The weight's
      transposed copy and the gradient's permute are cheap at this size.
    - unit-major (B, U, S), the weight's own layout, when the weights outnumber the
      activations (wide contexts such as a 784-wide prototype, or the single row of a
      broadcast context): no copy of the weight in the forward pass and a weight gradient
      born contiguous. In the segment-major layout those two transposing copies of a
      (2048 x 10 x 784) weight cost about 80% of the prototype ADN's training step.
    """

    @staticmethod
    def forward(ctx: Any, context: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        units, segments, dim = weight.shape
        batch = context.shape[0]
        unit_major = weight.numel() >= batch * units * segments
        if unit_major:
            flat = weight.reshape(units * segments, dim)  # a view: the weight is contiguous
            acts = (context @ flat.t()).view(batch, units, segments)
            axis = 2
        else:
            flat = weight.transpose(0, 1).reshape(segments * units, dim)
            acts = (context @ flat.t()).view(batch, segments, units)
            axis = 1
        hi = acts.amax(dim=axis)
        lo = acts.amin(dim=axis)
        selected = torch.where(hi >= -lo, hi, lo)
        ctx.unit_major = unit_major
        ctx.save_for_backward(context, flat, acts, selected)
        return selected

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        context, flat, acts, selected = ctx.saved_tensors
        axis = 2 if ctx.unit_major else 1
        batch = acts.shape[0]
        g = torch.where(acts == selected.unsqueeze(axis), grad.unsqueeze(axis), 0.0)
        g = g.view(batch, -1)
        grad_weight = grad_context = None
        if ctx.needs_input_grad[1]:
            if ctx.unit_major:
                units, segments = acts.shape[1], acts.shape[2]
                grad_weight = (g.t() @ context).view(units, segments, -1)
            else:
                segments, units = acts.shape[1], acts.shape[2]
                grad_weight = (context.t() @ g).view(-1, segments, units).permute(2, 1, 0)
        if ctx.needs_input_grad[0]:
            grad_context = g @ flat
        return grad_context, grad_weight


def select_segment(acts: torch.Tensor) -> torch.Tensor:
    """Per unit, the segment activation with the largest absolute value, sign kept.

    (B, units, segments) -> (B, units). Max and min over segments, then a choice by
    magnitude: cheaper than argmax(abs) + gather. On an exact tie (max == -min) the
    positive value wins. A stride-0 (broadcast) batch axis is reduced once, not B times.
    """
    if acts.dim() != 3:
        raise ValueError(f"dendrite activations must be (B, units, segments), "
                         f"got {tuple(acts.shape)}")
    if acts.shape[0] > 1 and acts.stride(0) == 0:
        return select_segment(acts[:1]).expand(acts.shape[0], -1)
    return _AbsMaxSegment.apply(acts)


@torch.no_grad()
def selected_segment_index(acts: torch.Tensor) -> torch.Tensor:
    """Index of the segment :func:`select_segment` picks, (B, units) int64 (for analysis)."""
    chosen = select_segment(acts).unsqueeze(-1)
    return (acts == chosen).to(torch.uint8).argmax(dim=-1)


def _per_unit(y: torch.Tensor, selected: torch.Tensor) -> torch.Tensor:
    """Shape the (B or 1, units) selection to broadcast against y: (B, units) or (B, C, H, W)."""
    if selected.dim() != 2 or selected.shape[0] not in (1, y.shape[0]):
        raise ValueError(f"dendrite selection of shape {tuple(selected.shape)} does not match "
                         f"a batch of {y.shape[0]}")
    if selected.shape[-1] != y.shape[1]:
        raise ValueError(f"dendrites have {selected.shape[-1]} units but the layer output has "
                         f"{y.shape[1]} (shape {tuple(y.shape)})")
    if y.dim() == 2:
        return selected
    if y.dim() == 4:
        return selected[:, :, None, None]
    raise ValueError(f"dendritic output must be (B, units) or (B, C, H, W), got {tuple(y.shape)}")


def _gate_selected(y: torch.Tensor, selected: torch.Tensor) -> torch.Tensor:
    return y * torch.sigmoid(_per_unit(y, selected))


def _bias_selected(y: torch.Tensor, selected: torch.Tensor) -> torch.Tensor:
    return y + _per_unit(y, selected)


def dendritic_gate(y: torch.Tensor, dendrite_acts: torch.Tensor) -> torch.Tensor:
    """y * sigmoid(absmax segment): multiplicative modulation of each unit (or channel)."""
    return _gate_selected(y, select_segment(dendrite_acts))


def dendritic_bias(y: torch.Tensor, dendrite_acts: torch.Tensor) -> torch.Tensor:
    """y + absmax segment: additive modulation of each unit (or channel)."""
    return _bias_selected(y, select_segment(dendrite_acts))


_MODES = {"gate": _gate_selected, "bias": _bias_selected}


class DendriticLayer(nn.Module):
    """A feed-forward layer (Linear or Conv2d) whose outputs are modulated by dendrites.

    ``forward(x, context)`` = gate(base(x), segments(context)); for a conv base each output
    channel is one unit (gate broadcast over H, W). ``base`` keeps its own mask (if sparse),
    so it is prunable like any Linear/Conv2d; the segments are not returned by
    ``prunable_layers``.

    Conv bases with one context for the whole batch (the engine's broadcast task id) fold
    the modulation into the convolution: gate: conv(x, W * g) with bias b * g, g =
    sigmoid(segment); bias: conv(x, W) with bias b + segment. That is the same function
    (equal up to float rounding) at the cost of scaling C_out x C_in x k x k weights instead
    of multiplying a (B, C, H, W) output forward and backward: the dendritic CNN's gate
    was about a third of its extra cost per epoch. Linear bases are not folded: their
    weight matrix is usually larger than a batch of outputs.
    """

    def __init__(self, base: nn.Linear | nn.Conv2d, num_segments: int, context_dim: int,
                 dendrite_sparsity: float = 0.0, generator: torch.Generator | None = None,
                 mode: str = "gate", context_density: float = 1.0):
        super().__init__()
        if isinstance(base, nn.Linear):
            units = base.out_features
        elif isinstance(base, nn.Conv2d):
            units = base.out_channels
        else:
            raise TypeError(f"DendriticLayer base must be nn.Linear or nn.Conv2d, got {type(base)}")
        if mode not in _MODES:
            raise ValueError(f"unknown dendrite mode {mode!r}; known: {sorted(_MODES)}")
        self.base = base
        self.segments = DendriticSegments(units, num_segments, context_dim, dendrite_sparsity,
                                          generator, context_density=context_density)
        self.mode = mode
        self._combine = _MODES[mode]
        self.fold = True  # False: always modulate the output (the unfolded computation)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        selected = self.segments.select_rows(context)
        if self.fold and selected.shape[0] == 1 and isinstance(self.base, nn.Conv2d):
            return self._folded_conv(x, selected[0])
        return self._combine(self.base(x), selected)

    def _folded_conv(self, x: torch.Tensor, selected: torch.Tensor) -> torch.Tensor:
        """The modulation of one context folded into the conv's weight and bias."""
        conv = self.base
        weight, bias = conv.weight, conv.bias
        if self.mode == "gate":
            g = torch.sigmoid(selected)
            weight = weight * g.view(-1, 1, 1, 1)
            bias = None if bias is None else bias * g
        else:
            bias = selected if bias is None else bias + selected
        return conv._conv_forward(x, weight, bias)

    def extra_repr(self) -> str:
        return f"mode={self.mode}"


# --------------------------------------------------------------------------- sparse layers


def _attach_random_mask(module: nn.Module, sparsity: float,
                        generator: torch.Generator | None, layout: str = "layer") -> None:
    if sparsity < 0.0 or sparsity >= 1.0:
        raise ValueError(f"weight sparsity must be in [0, 1), got {sparsity}")
    if sparsity > 0.0:
        set_mask(module, static_mask(module.weight.shape, sparsity, layout, generator))


def sparse_linear(in_features: int, out_features: int, sparsity: float,
                  generator: torch.Generator | None = None, bias: bool = True, *,
                  mask_layout: str = "layer") -> nn.Linear:
    """A plain ``nn.Linear`` with round(sparsity * n) weights masked to zero.

    Sparsity 0 gives no mask at all (no enforcement cost). The bias is never masked.
    ``mask_layout="fan_in"`` gives every output unit the same number of inputs (Numenta's
    ``SparseWeights``); "layer" places the zeros over the whole matrix.
    """
    layer = nn.Linear(in_features, out_features, bias=bias)
    _attach_random_mask(layer, sparsity, generator, mask_layout)
    return layer


def sparse_conv2d(in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                  sparsity: float, generator: torch.Generator | None = None, *,
                  stride: int = 1, padding: int = 0, bias: bool = True,
                  mask_layout: str = "layer") -> nn.Conv2d:
    """A plain ``nn.Conv2d`` with a random static mask over its weight (none at sparsity 0)."""
    layer = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                      bias=bias)
    _attach_random_mask(layer, sparsity, generator, mask_layout)
    return layer
