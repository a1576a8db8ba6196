"""Iterative magnitude pruning on the shared weight masks (``sparsenet.models.masks``)."""

from sparsenet.pruning.accounting import SparsityStats, layer_remaining, sparsity_stats
from sparsenet.pruning.layers import POLICIES, ROLES, PrunableLayer, ensure_masks, prunable_layers
from sparsenet.pruning.magnitude import SCOPES, MagnitudePruner, PruneRates
from sparsenet.pruning.presets import (PRESET_NAMES, SAVE_NETWORKS, IMPPreset, is_conv_arch,
                                       get_preset)
from sparsenet.pruning.tickets import (REWIND_SCOPES, TICKET_KINDS, apply_ticket,
                                       random_masks_like, restore, rewind_target, snapshot)

__all__ = ["SparsityStats", "layer_remaining", "sparsity_stats", "POLICIES", "ROLES",
           "PrunableLayer", "ensure_masks", "prunable_layers", "SCOPES", "MagnitudePruner",
           "PruneRates", "is_conv_arch", "PRESET_NAMES", "SAVE_NETWORKS", "IMPPreset", "get_preset",
           "TICKET_KINDS", "REWIND_SCOPES", "rewind_target", "apply_ticket", "random_masks_like", "restore", "snapshot"]
