"""Published IMP settings as typed presets, so a sweep names a paper instead of ten numbers.

``bain2022``: Bain (2022) / bainro/LTH: fully connected layers incl. the output pruned
12.5% per round, conv layers never; Adam 1.2e-3, weight decay 1e-4, batch 200, 35 epochs
per round, 35 rounds.

``bain2022_code``: bain2022 plus every behaviour of the paper's code that differs from
sparsenet's corrected protocol (docs/fidelity.md), to measure what each one changes.

``frankle2019``: Frankle & Carbin (2019). LeNet-300-100: hidden 20%, output 10% per round,
Adam 1.2e-3, batch 60, 50k iterations per round. With the 10% validation split, MNIST
has 54k training images = 900 iterations per epoch at batch 60, so **55 epochs** (49.5k
iterations) per round. 20 rounds (hidden 0.8^20 = 1.2% remaining, past the 3.6% where
the paper's tickets still match dense accuracy). For the conv nets (Conv-2/4/6, CIFAR-10
45k training images = 750 iterations per epoch): conv layers are pruned too (10% for
Conv-2/4, 15% for Conv-6), lr 2e-4 (Conv-2) / 3e-4 (Conv-4/6), 20k/25k/30k iterations
= 27/33/40 epochs. Other conv architectures get the Conv-4 settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from sparsenet.pruning.magnitude import PruneRates

# Which network of a round its ticket file holds: the one after the round's last epoch,
# the one with the best validation accuracy, or the best *test* accuracy (bainro/LTH).
SAVE_NETWORKS = ("last", "best_val", "best_test")

# Model families whose conv layers these presets treat apart (models.registry.FAMILIES).
CONV_FAMILIES = ("conv", "cnn")


def is_conv_arch(arch: str) -> bool:
    """A Frankle & Carbin conv net or the split-CIFAR backbone (unknown names: no)."""
    from sparsenet.models.registry import MODELS  # lazy: presets stay cheap to import

    entry = MODELS.get(arch)
    return entry is not None and entry.family in CONV_FAMILIES


@dataclass(frozen=True)
class IMPPreset:
    name: str
    rates: PruneRates
    policy: str
    scope: str
    lr: float
    weight_decay: float
    batch_size: int
    epochs_per_round: int
    rounds: int
    rewind_iter: int = 0
    # Protocol (docs/fidelity.md): sparsenet's corrected defaults unless a preset says otherwise.
    rewind_scope: str = "all"
    alias_biases: bool = False
    save_network: str = "last"
    eval_before_epoch: bool = False
    val_fraction: float = 0.1


def _bain2022(arch: str) -> IMPPreset:
    """The paper's settings with sparsenet's corrected protocol; on conv nets the conv
    weights are not rewound (the paper's choice, a setting rather than a bug)."""
    return IMPPreset("bain2022", PruneRates(conv=0.0, hidden=0.125, output=0.125), policy="fc",
                     scope="layer", lr=1.2e-3, weight_decay=1e-4, batch_size=200,
                     epochs_per_round=35, rounds=35,
                     rewind_scope="prunable+biases" if is_conv_arch(arch) else "all")


def _bain2022_code(arch: str) -> IMPPreset:
    """bainro/LTH main.py as it runs: every bias rewound but aliased to the live tensor (so
    trained biases are kept from the second rewind on), test accuracy measured before each
    epoch, the best-test-accuracy network saved, all 60k training images (no validation)."""
    base = _bain2022(arch)
    return IMPPreset("bain2022_code", base.rates, policy=base.policy, scope=base.scope,
                     lr=base.lr, weight_decay=base.weight_decay, batch_size=base.batch_size,
                     epochs_per_round=base.epochs_per_round, rounds=base.rounds,
                     rewind_scope="prunable+biases", alias_biases=True, save_network="best_test",
                     eval_before_epoch=True, val_fraction=0.0)


_FC_CONV = {"conv2": (0.10, 2e-4, 27), "conv4": (0.10, 3e-4, 33), "conv6": (0.15, 3e-4, 40)}


def _frankle2019(arch: str) -> IMPPreset:
    if is_conv_arch(arch):
        conv, lr, epochs = _FC_CONV.get(arch, _FC_CONV["conv4"])
        return IMPPreset("frankle2019", PruneRates(conv=conv, hidden=0.2, output=0.1),
                         policy="all", scope="layer", lr=lr, weight_decay=0.0, batch_size=60,
                         epochs_per_round=epochs, rounds=20)
    return IMPPreset("frankle2019", PruneRates(conv=0.0, hidden=0.2, output=0.1), policy="fc",
                     scope="layer", lr=1.2e-3, weight_decay=0.0, batch_size=60,
                     epochs_per_round=55, rounds=20)


_PRESETS = {"bain2022": _bain2022, "bain2022_code": _bain2022_code, "frankle2019": _frankle2019}
PRESET_NAMES = tuple(_PRESETS)


def get_preset(name: str, arch: str = "lenet300_100") -> IMPPreset:
    """The preset ``name`` for ``arch`` (Frankle & Carbin's settings depend on the net)."""
    if name not in _PRESETS:
        raise ValueError(f"unknown IMP preset {name!r}; known: {', '.join(PRESET_NAMES)}")
    return _PRESETS[name](arch)
