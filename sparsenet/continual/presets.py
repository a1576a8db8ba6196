"""The continual studies' chosen values, each once with its source: permuted-MNIST protocol
presets (the paper's and Numenta's) and the paper's split-CIFAR settings.

A preset is what a reference code fixes besides the network: the context, how the
segments are initialised, the data protocol and, per arm (model, with or without SI), the
learning rate and epochs per task. Values are read from the reference codes:

- ``paper`` (bainro/active_dendrites, ``adn_pmnist.py``): one-hot task context, init
  density 0.05 (``context_percent_on``), Adam 5e-4, 3 epochs per task, batch 256, one Adam
  for the whole sequence, task 0 unpermuted, all 60k training images. The paper's code has
  no 10-task values for other arms: they get the ADN's (tune them with ``--tune``).
- ``numenta`` (numenta/nupic.research, ``projects/dendrites/permutedMNIST/experiments``):
  prototype context, nearest prototype at test time, init density 0.1, Adam re-created
  after every task (``reset_optimizer_after_task`` defaults to True there), task 0
  unpermuted, all 60k training images, one segment per task; ADN epochs / lr per number
  of tasks from ``prototype.py``, the 3-layer MLP's from ``mlp.py`` (``THREE_LAYER_MLP_*``,
  with its init assuming ReLU inputs half dense), ADN + SI from ``si_prototype.py`` (20
  epochs, Adam 5e-4 kept across tasks, width 2000, c = damping = 0.1, path integral of the
  total gradient, penalty from the third task on). Sparse-only and dendrites-only arms
  have no published 10-task configuration: they get the ADN's values.

``PAPER_PMNIST`` is the paper's 10-task ADN run; ``ContinualConfig``'s and the permuted
sweep's defaults read its learning rate, epochs per task and batch size from here.
``PMNIST_NETWORKS`` holds the permuted-MNIST study's networks (width, k-winners, weight
sparsity, segments per registry name); ``ContinualConfig`` builds an MLP arm with them
wherever its own model fields are unset (the registry's networks have no such defaults).
``SPLIT_CIFAR`` holds the paper's split-CIFAR-100 protocol and, per network, the values its
grid search chose; the sweep, the model registry and ``CifarBackbone`` read them from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any



@dataclass(frozen=True)
class ArmValues:
    """Learning rate and epochs per task of one arm, with where they come from."""

    lr: float
    epochs_per_task: int
    source: str

    def __post_init__(self) -> None:
        if not self.lr > 0:
            raise ValueError(f"preset lr must be > 0, got {self.lr}")
        if self.epochs_per_task < 1:
            raise ValueError(f"preset epochs_per_task must be >= 1, got {self.epochs_per_task}")


@dataclass(frozen=True)
class Preset:
    """A reference protocol. ``arm_values(model, si, num_tasks)`` -> config overrides."""

    name: str
    context: str
    context_infer: str
    context_density: float
    batch_size: int
    reset_optimizer: bool
    first_task_identity: bool = True
    val_fraction: float = 0.0  # no early stopping: every training image is trained on
    # Keys: "adn" (any model without SI unless listed), "mlp", "si"; each by num_tasks.
    values: dict[str, dict[int, ArmValues]] = field(default_factory=dict)
    mlp_hidden_input_density: float | None = None
    segments_per_task: bool = False  # Numenta's configs: num_segments = num_tasks
    si_overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 < self.context_density <= 1.0:
            raise ValueError(f"preset context_density must be in (0, 1], "
                             f"got {self.context_density}")
        if "adn" not in self.values:
            raise ValueError(f"preset {self.name} needs ADN values")

    def _table(self, model: str, si: bool) -> tuple[str, dict[int, ArmValues]]:
        if si and "si" in self.values:
            return "si", self.values["si"]
        if model == "mlp" and "mlp" in self.values:
            return "mlp", self.values["mlp"]
        return "adn", self.values["adn"]

    def arm_values(self, model: str, si: bool, num_tasks: int) -> ArmValues:
        key, table = self._table(model, si)
        if num_tasks in table:
            return table[num_tasks]
        if len(table) == 1 and 0 in table:  # one value for every number of tasks
            return table[0]
        raise ValueError(f"preset {self.name} has no {key} values for {num_tasks} tasks; "
                         f"known: {', '.join(str(n) for n in sorted(table))} "
                         "(or set --lr and --epochs, or --tune)")

    def overrides(self, model: str, si: bool, num_tasks: int,
                  need_hp: bool = True) -> dict[str, Any]:
        """ContinualConfig fields this preset sets for one arm (``need_hp=False``: a search
        chooses lr and epochs, so a task count without published values is fine)."""
        try:
            values = self.arm_values(model, si, num_tasks)
        except ValueError:
            if need_hp:
                raise
            values = ArmValues(1e-3, 1, "placeholder: chosen by the search")
        out: dict[str, Any] = {
            "lr": values.lr, "epochs_per_task": values.epochs_per_task,
            "reset_optimizer": self.reset_optimizer, "batch_size": self.batch_size,
            "first_task_identity": self.first_task_identity,
            "val_fraction": self.val_fraction,
            "hidden_input_density": (self.mlp_hidden_input_density if model == "mlp"
                                     else None),
            "context_density": (self.context_density if _scales_segment_init(model)
                                else None),
            "hp_source": f"preset:{self.name}",
        }
        if si:
            out.update(self.si_overrides)
        return out


@dataclass(frozen=True)
class PaperPmnist:
    """The paper's permuted-MNIST ADN run (``adn_pmnist.py``): Adam ``lr`` for
    ``epochs_per_task`` epochs, batch ``batch_size``, ``num_tasks`` tasks."""

    adn: ArmValues
    batch_size: int
    num_tasks: int


PAPER_PMNIST = PaperPmnist(adn=ArmValues(5e-4, 3, "bainro/active_dendrites adn_pmnist.py"),
                           batch_size=256, num_tasks=10)
_PAPER_ADN = PAPER_PMNIST.adn


@dataclass(frozen=True)
class PmnistNetworks:
    """The permuted-MNIST study's networks: per registry name, the options both references
    set (``source``). The ablation arms keep the ADN's values for what they still have."""

    chosen: dict[str, dict[str, Any]]
    source: str

    def model_defaults(self, model: str) -> dict[str, Any]:
        """The chosen options of network ``model`` (empty for a network of another study)."""
        return dict(self.chosen.get(model, {}))


_WIDTH = (2048, 2048)  # 784-2048-2048-10, the ADN and every ablation of it
_KW, _SPARSITY, _SEGMENTS = 0.05, 0.5, 10  # k-winners 5%; half the weights; 10 segments
PMNIST_NETWORKS = PmnistNetworks(
    chosen={
        "mlp": dict(hidden=_WIDTH),
        "sparse_mlp": dict(hidden=_WIDTH, kw_fraction=_KW, weight_sparsity=_SPARSITY),
        "dendrites_mlp": dict(hidden=_WIDTH, weight_sparsity=_SPARSITY, num_segments=_SEGMENTS),
        "active_dendrites_mlp": dict(hidden=_WIDTH, kw_fraction=_KW, weight_sparsity=_SPARSITY,
                                     num_segments=_SEGMENTS),
    },
    source="Iyer et al. 2022, numenta/nupic.research projects/dendrites/permutedMNIST/"
           "experiments prototype.py (PROTOTYPE_BASE: hidden_sizes [2048, 2048], "
           "kw_percent_on 0.05, weight_sparsity 0.5; num_segments = num_tasks, 10 at 10 "
           "tasks) and mlp.py (THREE_LAYER_MLP_10: hidden_sizes [2048, 2048]); Bain 2022, "
           "bainro/active_dendrites adn_pmnist.py: the same ADN values at 10 tasks")
_ADN = "numenta/nupic.research projects/dendrites/permutedMNIST/experiments/prototype.py"
_MLP = "numenta/nupic.research projects/dendrites/permutedMNIST/experiments/mlp.py"
_SI = "numenta/nupic.research projects/dendrites/permutedMNIST/experiments/si_prototype.py"

PRESETS: dict[str, Preset] = {
    "paper": Preset(
        name="paper", context="onehot", context_infer="oracle", context_density=0.05,
        batch_size=PAPER_PMNIST.batch_size, reset_optimizer=False, values={"adn": {0: _PAPER_ADN}}),
    "numenta": Preset(
        name="numenta", context="prototype", context_infer="nearest", context_density=0.1,
        batch_size=256, reset_optimizer=True,
        values={
            "adn": {2: ArmValues(5e-4, 1, _ADN), 5: ArmValues(5e-4, 1, _ADN),
                    10: ArmValues(5e-4, 3, _ADN), 25: ArmValues(3e-4, 5, _ADN),
                    50: ArmValues(3e-4, 3, _ADN), 100: ArmValues(1e-4, 3, _ADN)},
            "mlp": {10: ArmValues(3e-6, 5, _MLP), 100: ArmValues(1e-6, 3, _MLP)},
            "si": {n: ArmValues(5e-4, 20, _SI) for n in (10, 50, 100)},
        },
        mlp_hidden_input_density=0.5, segments_per_task=True,
        si_overrides={"reset_optimizer": False, "hidden": (2000, 2000), "si_c": 0.1,
                      "si_xi": 0.1, "si_grad": "total", "si_start_task": 2,
                      "si_dendrites": False}),
}


@dataclass(frozen=True)
class SplitCifar:
    """The paper's split-CIFAR-100 protocol and chosen settings (``source``).

    ``chosen``: per network, the values its grid search (seed 42) picked; ``grids``: those
    searches; early stopping with ``patience`` (at most ``max_epochs`` per task) over
    ``num_tasks`` tasks."""

    chosen: dict[str, dict[str, Any]]
    grids: dict[str, dict[str, tuple[Any, ...]]]
    num_tasks: int
    patience: int
    max_epochs: int
    source: str

    def model_defaults(self, model: str) -> dict[str, Any]:
        """The chosen values that are options of the network itself (not training's)."""
        return {k: v for k, v in self.chosen[model].items()
                if k not in ("batch_size", "lr", "weight_decay")}


_SPLIT_SEARCH = dict(lr=(1e-5, 1e-4, 1e-3), batch_size=(32, 64, 128))
_SPARSE_SEARCH = dict(**_SPLIT_SEARCH, conv_kw=(0.1, 0.2, 0.3), fc_kw=(0.1, 0.3),
                      weight_sparsity=(0.3, 0.5, 0.7))
SPLIT_CIFAR = SplitCifar(
    chosen={
        "cnn": dict(batch_size=64, lr=1e-3, weight_decay=1e-5),
        "sparse_cnn": dict(batch_size=32, lr=1e-3, conv_kw=0.2, fc_kw=0.1, weight_sparsity=0.5),
        "active_dendrites_cnn": dict(batch_size=128, lr=1e-3, conv_kw=0.2, fc_kw=0.3,
                                     weight_sparsity=0.5, num_segments=10),
    },
    grids={"cnn": dict(**_SPLIT_SEARCH, weight_decay=(0.0, 1e-5, 1e-4)),
           "sparse_cnn": _SPARSE_SEARCH, "active_dendrites_cnn": _SPARSE_SEARCH},
    num_tasks=10, patience=30, max_epochs=1000,
    source="bainro/active_dendrites cnn_split_cifar.py, sparse_split_cifar.py, "
           "adn_split_cifar.py (grid search on seed 42; early stopping on the test set)")


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    return PRESETS[name]


def _scales_segment_init(model: str) -> bool:
    """The network has dendritic segments whose init a context density scales (the
    dendritic MLPs; the registry says so through the option)."""
    from sparsenet.models.registry import model_options  # lazy: presets stay cheap to import

    return "context_density" in model_options(model)
