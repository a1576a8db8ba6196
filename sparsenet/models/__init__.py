"""Networks and layers: sparse weights (masks), k-winners, active dendrites, the registry.

Never imports ``sparsenet.data``: models are sized from ``input_shape`` / ``num_classes``.
"""

from sparsenet.models.base import Network
from sparsenet.models.cifar import CifarBackbone
from sparsenet.models.conv import ConvN, MnistConv
from sparsenet.models.layers import (DendriticLayer, DendriticSegments, KWinners, KWinners2d,
                                     dendritic_bias, dendritic_gate, select_segment,
                                     selected_segment_index, sparse_conv2d, sparse_linear,
                                     update_boost_strength)
from sparsenet.models.masks import (MaskEnforcer, get_mask, masked_modules, random_mask,
                                    set_mask)
from sparsenet.models.mlp import MLP, LeNet300_100
from sparsenet.models.registry import MODEL_NAMES, build_model, model_options

__all__ = [
    "MODEL_NAMES", "build_model", "model_options",
    "Network", "MLP", "LeNet300_100", "MnistConv", "ConvN", "CifarBackbone",
    "KWinners", "KWinners2d", "DendriticSegments", "DendriticLayer", "dendritic_gate",
    "dendritic_bias", "select_segment", "selected_segment_index", "sparse_linear",
    "sparse_conv2d", "update_boost_strength",
    "MaskEnforcer", "get_mask", "masked_modules", "random_mask", "set_mask",
]
