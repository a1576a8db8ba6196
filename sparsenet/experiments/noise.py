"""Noise robustness of IMP tickets (the paper's claim 2), and the controls it lacked.

Two modes of one experiment kind:

- **tickets** (``imp_dir`` set): one network per ``step()``: the dense network (round 0)
  then, per target pruned fraction, the round whose pruned fraction is closest. Each is
  evaluated on the test set under every noise type x level.
- **control** (``control`` set): one network trained from scratch, one epoch per
  ``step()``; the last step also evaluates it under noise. Controls separate the two
  kinds of sparsity the hypothesis conflates: ``dense``, ``weight_sparse`` (random static
  mask at a matched weight fraction), ``activation_sparse`` (k-winners, dense weights),
  ``both``. ``numenta_dense_cnn2`` / ``numenta_sparse_cnn2`` are Numenta's own CNN-2
  networks ("How Can We Be So Dense?"), whose noise score showed activation sparsity
  helping; :meth:`ControlConfig.numenta` gives them Numenta's training recipe too.

Noise is drawn from a seed that depends only on (``noise_seed``, noise type, level), so
every network of a study sees exactly the same noisy images (paired comparisons).
Result keys are built only by :mod:`sparsenet.schema` (documented in docs/architecture.md,
"Result files").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Sequence

import torch
from torch import nn

from sparsenet.data.noise import ALL_NOISE_TYPES, NOISE_TYPES, add_noise
from sparsenet.engine import count_correct, evaluate, setup_torch, train_epoch
from sparsenet.experiments.common import (Config, Range, capture_rng, check_choice,
                                          check_dataset_name, check_fields, check_state,
                                          derived_seed, finite, nested, option, percent,
                                          restore_rng, seeded_model)
from sparsenet.models.layers import update_boost_strength
from sparsenet.models.masks import MaskEnforcer, random_mask, set_mask
from sparsenet.pruning import get_preset, prunable_layers, sparsity_stats
from sparsenet.pruning.ticket_files import load_ticket, read_ticket
# Result keys and network names are built only by the contract module (docs/architecture.md).
from sparsenet.schema import (CONTROL_KINDS, CONTROL_PREFIX, NUMENTA_KINDS, DENSE, TICKETS_DIR,  # noqa: F401
                              acc_key, control_network_name, correct_key, fraction_label,
                              level_label, score_key, ticket_network_name)

DEFAULT_LEVELS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
DEFAULT_PRUNED_FRACTIONS = (0.70, 0.80, 0.967)
ALL_CONTROL_KINDS = CONTROL_KINDS + NUMENTA_KINDS
NUMENTA_ARCHS = {"numenta_dense_cnn2": "numenta_cnn2_dense",
                 "numenta_sparse_cnn2": "numenta_cnn2_sparse"}
# Numenta's protocol: 11 levels 0..0.5, pixels set to mean + 2 sigma (noise type "numenta").
NUMENTA_LEVELS = tuple(round(0.05 * i, 2) for i in range(11))
NUMENTA_NOISE_TYPES = ("numenta",)
OPTIMIZERS = ("adam", "sgd")
STATE_VERSION = 1
# The controls train on the IMP study's budget: preset bain2022 (its numbers live there).
_PAPER = get_preset("bain2022", "lenet300_100")
_NOISE_STREAM, _MASK_STREAM = 11, 12


# ---------------------------------------------------------------- batched evaluation
@torch.no_grad()
def evaluate_under_noise(model: nn.Module, x_raw: torch.Tensor, y: torch.Tensor, *,
                         normalize: Callable[[torch.Tensor], torch.Tensor],
                         mean: Sequence[float], std: Sequence[float],
                         noise_types: Sequence[str] = NOISE_TYPES,
                         levels: Sequence[float] = DEFAULT_LEVELS, noise_seed: int = 0,
                         batch_size: int = 1000) -> dict[str, Any]:
    """Accuracy and correct count per noise x level, plus the noise score per type.

    Noise is added to the whole raw test set as tensors (no per-sample transforms), then
    normalized batch by batch inside the evaluation loop.
    """
    out: dict[str, Any] = {"total": int(y.shape[0])}
    for noise in noise_types:
        score = 0
        for level in levels:
            g = torch.Generator().manual_seed(
                derived_seed(noise_seed, _NOISE_STREAM, ALL_NOISE_TYPES.index(noise),
                             round(float(level) * 1_000_000)))
            noisy = add_noise(x_raw, noise, float(level), mean=mean, std=std, generator=g)
            correct = count_correct(model, noisy, y, batch_size=batch_size, x_transform=normalize)
            out[correct_key(noise, level)] = correct
            out[acc_key(noise, level)] = correct / max(int(y.shape[0]), 1)
            score += correct
        out[score_key(noise)] = score
    return out


# ---------------------------------------------------------------- configs
def numenta_recipe(kind: str) -> dict[str, Any]:
    """Numenta's MNIST training of ``kind`` (projects/whydense/mnist/experiments.cfg):
    SGD, StepLR gamma 0.8 per epoch, batch 64, 15 epochs on all 60k training images;
    dense CNN-2 lr 0.01 momentum 0.9, sparse CNN-2 lr 0.02 no momentum, first epoch batch 4."""
    check_choice("Numenta control kind", kind, NUMENTA_KINDS)
    sparse = kind == "numenta_sparse_cnn2"
    return dict(optimizer="sgd", lr=0.02 if sparse else 0.01, momentum=0.0 if sparse else 0.9,
                lr_gamma=0.8, weight_decay=0.0, batch_size=64,
                first_epoch_batch_size=4 if sparse else None, epochs=15, val_fraction=0.0)


@dataclass
class ControlConfig:
    """A control network trained from scratch (defaults: the paper's LeNet-300-100 budget,
    read from preset ``bain2022``, sparsenet/pruning/presets.py).

    ``weight_sparsity`` zeroes that fraction of every fully connected layer's weights
    (output included, like IMP's "fc" policy) at random, so the weight count matches a
    ticket at the same pruned fraction (0.7: 30% non-zero, as Numenta's weight-sparse net
    and the paper's 70%-pruned tickets). ``kw_fraction``: k-winners per hidden layer.
    ``hidden``, ``weight_sparsity``, ``kw_fraction``, ``boost_strength(_factor)`` shape the
    MLP kinds only; the Numenta kinds are their registry networks with Numenta's values.

    Training: ``optimizer`` adam (the paper) or sgd with ``momentum``; the rate is
    multiplied by ``lr_gamma`` after every epoch (StepLR); the first epoch uses
    ``first_epoch_batch_size`` (None: ``batch_size``). K-winners boost strengths decay by
    their factor before every epoch, the first included (Numenta's ``pre_epoch``).
    """

    kind: str = option("dense", choices=ALL_CONTROL_KINDS, what="control kind")
    dataset: str = "mnist"
    seed: int = 0
    hidden: tuple[int, ...] = option((300, 100), help="hidden widths of the MLP controls")
    weight_sparsity: float = option(
        0.7, range=Range(0, 1, high_open=True), what="control weight_sparsity",
        help="fraction of FC weights zeroed in weight-sparse controls")
    kw_fraction: float = option(0.1, range=Range(0, 1, low_open=True), what="control kw_fraction",
                                help="k-winners fraction of activation-sparse controls")
    boost_strength: float = option(0.0, range=Range(low=0), what="control boost_strength")
    epochs: int = option(_PAPER.epochs_per_round, range=Range(low=1), what="control epochs")
    lr: float = option(_PAPER.lr, range=Range(low=0, low_open=True), what="control lr")
    weight_decay: float = option(_PAPER.weight_decay, range=Range(low=0),
                                 what="control weight_decay")
    batch_size: int = option(_PAPER.batch_size, range=Range(low=1), what="control batch_size")
    val_fraction: float = option(_PAPER.val_fraction, range=Range(0, 1, high_open=True),
                                 what="control val_fraction")
    boost_strength_factor: float = option(1.0, range=Range(0, 1),
                                          what="control boost_strength_factor")
    optimizer: str = option("adam", choices=OPTIMIZERS, what="control optimizer")
    momentum: float = option(0.0, range=Range(0, 1, high_open=True), what="control momentum")
    lr_gamma: float = option(1.0, range=Range(0, 1, low_open=True), what="control lr_gamma")
    first_epoch_batch_size: int | None = option(None, range=Range(low=1),
                                                what="control first_epoch_batch_size")

    @classmethod
    def numenta(cls, kind: str, **overrides: Any) -> "ControlConfig":
        """A Numenta network trained with Numenta's recipe (:func:`numenta_recipe`)."""
        return cls(kind=kind, **{**numenta_recipe(kind), **overrides})

    def __post_init__(self) -> None:
        check_fields(self)  # the choices and ranges declared above
        if self.momentum > 0 and self.optimizer != "sgd":
            raise ValueError(f"control momentum needs optimizer 'sgd', got {self.momentum} "
                             f"with {self.optimizer!r}")
        check_dataset_name(self.dataset)
        self.hidden = tuple(int(h) for h in self.hidden)
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"control hidden sizes must be positive, got {self.hidden}")

    @property
    def sparse_weights(self) -> bool:
        """Random static masks added by the experiment (MLP kinds; Numenta's nets bring theirs)."""
        return self.kind in ("weight_sparse", "both")

    @property
    def sparse_activations(self) -> bool:
        return self.kind in ("activation_sparse", "both")


@dataclass
class NoiseConfig(Config):
    """Exactly one of ``imp_dir`` (an IMP trial folder holding ``tickets/round_XX.pt``;
    give it as an absolute path, Tune changes the working directory) or ``control``
    (flat keys ``control_<field>``)."""

    kind: ClassVar[str] = "noise"
    imp_dir: str | None = None
    control: ControlConfig | None = nested(ControlConfig)
    pruned_fractions: tuple[float, ...] = option(
        DEFAULT_PRUNED_FRACTIONS, range=Range(0, 1, True, True), what="pruned fractions",
        help="pruned fractions whose nearest rounds are evaluated")
    include_dense: bool = True
    noise_types: tuple[str, ...] = option(NOISE_TYPES, choices=ALL_NOISE_TYPES,
                                          what="noise type", help="noise types")
    levels: tuple[float, ...] = option(DEFAULT_LEVELS, range=Range(0, 1), what="noise levels",
                                       help="noise levels")
    noise_seed: int = 0
    eval_batch_size: int = option(1000, range=Range(low=1))

    def __post_init__(self) -> None:
        if isinstance(self.control, dict):
            self.control = ControlConfig(**self.control)
        if (self.imp_dir is None) == (self.control is None):
            raise ValueError("give exactly one of imp_dir (evaluate IMP tickets) or control")
        self.pruned_fractions = tuple(float(f) for f in self.pruned_fractions)
        self.levels = tuple(float(v) for v in self.levels)
        self.noise_types = tuple(self.noise_types)
        super().__post_init__()  # the choices and ranges declared above
        if not self.levels or not self.noise_types:
            raise ValueError("need at least one noise type and one level")

    @property
    def mode(self) -> str:
        return "tickets" if self.imp_dir is not None else "control"

    @property
    def dataset(self) -> str | None:
        """The dataset a control trains on (tickets bring their own)."""
        return self.control.dataset if self.control is not None else None


# ---------------------------------------------------------------- which rounds
@dataclass(frozen=True)
class PlannedNetwork:
    name: str
    path: str
    round: int
    weights_remaining: float
    target_pruned_fraction: float  # NaN for the dense network


def plan_tickets(imp_dir: str | Path, pruned_fractions: Sequence[float],
                 include_dense: bool = True) -> list[PlannedNetwork]:
    """Dense (round 0) and, per target, the round whose pruned fraction is closest
    (ties: the earlier round)."""
    folder = Path(imp_dir) / TICKETS_DIR
    paths = sorted(folder.glob("round_*.pt"))
    if not paths:
        raise FileNotFoundError(f"no tickets in {folder} (an IMP trial run with artifact_dir)")
    rounds = []
    for path in paths:
        record = read_ticket(path)
        rounds.append((int(record["round"]), float(record["weights_remaining"]),
                       str(record["config"]["ticket"]), str(path)))
    rounds.sort()
    plan = []
    if include_dense:
        if rounds[0][0] != 0:
            raise FileNotFoundError(f"round 0 (dense) is missing in {folder}")
        plan.append(PlannedNetwork(DENSE, rounds[0][3], 0, rounds[0][1], math.nan))
    for target in pruned_fractions:
        r, wr, ticket, path = min(rounds, key=lambda t: (abs((1.0 - t[1]) - target), t[0]))
        plan.append(PlannedNetwork(ticket_network_name(ticket, target), path, r, wr, target))
    return plan


# ---------------------------------------------------------------- the experiment
class NoiseExperiment:
    """Plain class (no Ray); see the module docstring for the two modes."""

    @staticmethod
    def summary(row: dict[str, Any]) -> str:
        """A finished trial's console line: its network, clean accuracy and noise scores."""
        scores = {k.split("/", 1)[1]: v for k, v in row.items()
                  if k.startswith("noise_score/") and finite(v)}
        clean = [v for k, v in row.items() if k.startswith("acc/") and k.endswith("/0")]
        parts = [f"{row.get('network', '?')}"]
        if clean:
            parts.append(f"clean acc {percent(clean[0])}")
        parts += [f"score {name} {score:.0f}" for name, score in scores.items()]
        return ", ".join(parts)

    def __init__(self, config: NoiseConfig, *, data_dir: str | None = None,
                 device: str = "auto", num_threads: int = 1):
        from sparsenet.data import load_dataset

        self.config = c = config
        seed = c.control.seed if c.control is not None else c.noise_seed
        self.device = setup_torch(num_threads, seed, device)
        self.done = False
        if c.control is None:
            self.plan = plan_tickets(c.imp_dir, c.pruned_fractions, c.include_dense)  # type: ignore[arg-type]
            meta = read_ticket(self.plan[0].path)["config"]
            self.meta = {"arch": meta["arch"], "dataset": meta["dataset"],
                         "ticket": meta["ticket"], "seed": meta["seed"]}
            ds = load_dataset(meta["dataset"], data_dir, val_fraction=meta["val_fraction"],
                              seed=meta["seed"])
            self.index = 0
        else:
            cc = c.control
            ds = load_dataset(cc.dataset, data_dir, val_fraction=cc.val_fraction, seed=cc.seed)
            self._build_control(cc, tuple(ds.info.shape), ds.info.num_classes)
        ds = ds.to(self.device)
        self.ds = ds
        self.test_x_raw, self.test_y = ds.test_x, ds.test_y

    # -------------------------------------------------------------- shared
    def _noise_keys(self, model: nn.Module) -> dict[str, Any]:
        c = self.config
        return evaluate_under_noise(model, self.test_x_raw, self.test_y,
                                    normalize=self.ds.normalize, mean=self.ds.info.mean,
                                    std=self.ds.info.std, noise_types=c.noise_types,
                                    levels=c.levels, noise_seed=c.noise_seed,
                                    batch_size=c.eval_batch_size)

    def step(self) -> dict[str, Any]:
        if self.done:
            raise RuntimeError("noise experiment is done; no more steps")
        return self._ticket_step() if self.config.control is None else self._control_step()

    # -------------------------------------------------------------- tickets mode
    def _ticket_step(self) -> dict[str, Any]:
        net = self.plan[self.index]
        model, record = load_ticket(net.path, self.device)
        row: dict[str, Any] = {
            "mode": "tickets", "network": net.name, "round": net.round,
            "weights_remaining": net.weights_remaining,
            "pruned_fraction": 1.0 - net.weights_remaining,
            "target_pruned_fraction": net.target_pruned_fraction,
            "params_remaining": float(record["params_remaining"]),
            **self.meta, "noise_seed": self.config.noise_seed,
        }
        row.update(self._noise_keys(model))
        self.index += 1
        self.done = self.index == len(self.plan)
        return row

    # -------------------------------------------------------------- control mode
    def _build_control(self, cc: ControlConfig, shape: tuple[int, ...], classes: int) -> None:
        policy = "fc"
        if cc.kind in NUMENTA_KINDS:  # all of its options are the registry's (Numenta's)
            arch, kwargs, policy = NUMENTA_ARCHS[cc.kind], {}, "all"
        elif cc.sparse_activations:
            arch, kwargs = "sparse_mlp", dict(kw_fraction=cc.kw_fraction, weight_sparsity=0.0,
                                              boost_strength=cc.boost_strength,
                                              boost_strength_factor=cc.boost_strength_factor,
                                              hidden=list(cc.hidden))
        else:
            arch, kwargs = "mlp", dict(hidden=list(cc.hidden))
        self.arch = arch
        self.model = seeded_model(arch, shape, classes, cc.seed, **kwargs)
        self.layers = prunable_layers(self.model, policy)
        if cc.sparse_weights:
            g = torch.Generator().manual_seed(derived_seed(cc.seed, _MASK_STREAM))
            for layer in self.layers:
                set_mask(layer.module, random_mask(layer.weight.shape, cc.weight_sparsity, g))
        self.model.to(self.device)
        self.enforcer = MaskEnforcer(self.model)
        if cc.optimizer == "sgd":
            self.optimizer: torch.optim.Optimizer = torch.optim.SGD(
                self.model.parameters(), lr=cc.lr, momentum=cc.momentum,
                weight_decay=cc.weight_decay)
        else:
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cc.lr,
                                              weight_decay=cc.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.StepLR(self.optimizer, step_size=1,
                                                         gamma=cc.lr_gamma)
        self.boosted = [m for m in self.model.modules() if getattr(m, "boosting", False)]
        self.train_gen = torch.Generator().manual_seed(cc.seed)
        self.epoch = 0
        self._train: tuple[torch.Tensor, ...] | None = None

    def _normalized_splits(self) -> tuple[torch.Tensor, ...]:
        if self._train is None:  # normalized once; raw test images stay for the noise
            ds = self.ds
            self._train = (ds.normalize(ds.train_x), ds.train_y, ds.normalize(ds.val_x),
                           ds.val_y, ds.normalize(ds.test_x))
        return self._train

    def _control_step(self) -> dict[str, Any]:
        cc = self.config.control
        assert cc is not None
        train_x, train_y, val_x, val_y, test_x = self._normalized_splits()
        batch_size = cc.batch_size
        if self.epoch == 0 and cc.first_epoch_batch_size is not None:
            batch_size = cc.first_epoch_batch_size
        update_boost_strength(self.model)  # before the epoch, the first too (as Numenta)
        lr = self.optimizer.param_groups[0]["lr"]
        loss = train_epoch(self.model, self.optimizer, train_x, train_y,
                           batch_size=batch_size, generator=self.train_gen,
                           enforcer=self.enforcer)
        self.scheduler.step()
        self.epoch += 1
        stats = sparsity_stats(self.model, self.layers)
        row: dict[str, Any] = {
            "mode": "control", "network": control_network_name(cc.kind), "epoch": self.epoch,
            "weights_remaining": stats.weights_remaining,
            "params_remaining": stats.params_remaining,
            "train_loss": loss,
            "val_acc": evaluate(self.model, val_x, val_y, batch_size=self.config.eval_batch_size),
            "test_acc": evaluate(self.model, test_x, self.test_y,
                                 batch_size=self.config.eval_batch_size),
            "arch": self.arch, "dataset": cc.dataset, "seed": cc.seed,
            "noise_seed": self.config.noise_seed,
            "kw_fraction": cc.kw_fraction if cc.sparse_activations else math.nan,
            "lr": lr, "batch_size": batch_size,
        }
        if self.boosted:  # the strength this epoch trained with (first k-winners layer)
            row["boost_strength"] = self.boosted[0].boost_strength
        if self.epoch == cc.epochs:
            row.update(self._noise_keys(self.model))
            self.done = True
        return row

    # -------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"version": STATE_VERSION, "config": self.config.to_flat(),
                                 "done": self.done}
        if self.config.control is None:
            state["index"] = self.index
        else:
            state.update(model=self.model.state_dict(), optimizer=self.optimizer.state_dict(),
                         scheduler=self.scheduler.state_dict(),
                         epoch=self.epoch,
                         **capture_rng(self.device, {"train_gen": self.train_gen}))
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        check_state("noise", state, STATE_VERSION, self.config)
        self.done = bool(state["done"])
        if self.config.control is None:
            self.index = int(state["index"])
            return
        self.model.load_state_dict(state["model"])
        self.enforcer.refresh(self.model)
        self.optimizer.load_state_dict(state["optimizer"])
        if "scheduler" in state:
            self.scheduler.load_state_dict(state["scheduler"])
        # older checkpoints have no cuda_rng: none is restored
        restore_rng(state, self.device, {"train_gen": self.train_gen})
        self.epoch = int(state["epoch"])
