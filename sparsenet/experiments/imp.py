"""One iterative-magnitude-pruning run (one seed, one ticket kind) as a plain class.

``step()`` trains one epoch. Round 0 trains the dense network; after the last epoch of
round r < ``rounds`` the network is pruned (per the ticket kind) and restarted for round
r + 1, so a run trains ``rounds + 1`` networks and prunes ``rounds`` times. Each round
gets a fresh Adam optimizer; masks are re-applied after every optimizer step.

Ticket kinds follow one trajectory each: ``random`` and ``reinit`` prune their own
trained networks by magnitude too (``random`` keeps only the per-layer counts of that
pruning), as in the paper's code, rather than borrowing the winning run's masks.
The saved ticket of a round is by default the network after the round's last epoch
(``save_network``: or the best-validation / best-test epoch's). The protocol options that
reproduce the paper's code (rewind scope, aliased biases, evaluation before each epoch,
no validation split) are listed in docs/fidelity.md; ``bain2022_code`` sets them all.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch

from sparsenet.engine import evaluate, setup_torch, train_epoch
from sparsenet.experiments.common import (Config, Range, check_arch_name, check_dataset_name,
                                          capture_rng, check_state, derived_seed, option, percent,
                                          restore_rng, seeded_model)
from sparsenet.models.masks import MaskEnforcer
from sparsenet.pruning import (POLICIES, PRESET_NAMES, REWIND_SCOPES, SAVE_NETWORKS, SCOPES,
                               TICKET_KINDS, MagnitudePruner, PruneRates, SparsityStats,
                               apply_ticket, get_preset, prunable_layers, rewind_target,
                               snapshot, sparsity_stats)
# Ticket file I/O lives in sparsenet.pruning.ticket_files; re-exported for older imports.
from sparsenet.pruning.ticket_files import (load_ticket, read_ticket,  # noqa: F401
                                            ticket_path, write_ticket)
from sparsenet.schema import (ROUND_BEST_TEST_ACC, ROUND_BEST_VAL_ACC, ROUND_END,
                              ROUND_TEST_ACC_AT_BEST_VAL, TICKETS_DIR)  # noqa: F401

STATE_VERSION = 2
_MASK_STREAM, _REINIT_STREAM = 1, 2


# The defaults are preset bain2022's for a fully connected network: its numbers (and their
# source) live once, in sparsenet/pruning/presets.py.
_PAPER = get_preset("bain2022", "lenet300_100")


@dataclass
class IMPConfig(Config):
    """Defaults are the paper's (``bain2022``) LeNet-300-100 settings, read from its preset."""

    kind: ClassVar[str] = "imp"

    dataset: str = "mnist"
    arch: str = "lenet300_100"
    ticket: str = option("winning", choices=TICKET_KINDS, what="ticket kind")
    seed: int = 0
    rounds: int = option(_PAPER.rounds, range=Range(low=0), help="pruning rounds")
    epochs_per_round: int = option(_PAPER.epochs_per_round, range=Range(low=1))
    rate_conv: float = option(_PAPER.rates.conv,
                              help="per-round rate of conv layers (needs a policy that "
                                   "prunes them)")
    rate_hidden: float = option(_PAPER.rates.hidden)
    rate_output: float = option(_PAPER.rates.output)
    scope: str = option(_PAPER.scope, choices=SCOPES, what="prune scope",
                        help="rank weights per layer or over the whole network")
    policy: str = option(_PAPER.policy, choices=POLICIES, what="prune policy")
    rewind_iter: int = option(_PAPER.rewind_iter, range=Range(low=0),
                              help="rewind winning tickets to this iteration (0 = init)")
    lr: float = option(_PAPER.lr, range=Range(low=0, low_open=True))
    weight_decay: float = option(_PAPER.weight_decay, range=Range(low=0))
    batch_size: int = option(_PAPER.batch_size, range=Range(low=1))
    val_fraction: float = option(
        _PAPER.val_fraction, range=Range(0, 1, high_open=True),
        help="validation split carved from the training set (0 = train on all of it, as "
             "the paper; selection then uses the test set)")
    eval_batch_size: int = option(1000, range=Range(low=1))
    rewind_scope: str = option(
        _PAPER.rewind_scope, choices=REWIND_SCOPES, what="rewind scope",
        help="what a rewind restores (paper on conv nets: prunable+biases, conv weights keep "
             "training)")
    alias_biases: bool = option(
        _PAPER.alias_biases,
        help="reproduce the paper's bug: trained biases kept after the first rewind")
    save_network: str = option(
        _PAPER.save_network, choices=SAVE_NETWORKS,
        help="which network of a round the ticket file holds (noise test): last (default), "
             "best_val, best_test (the paper's)")
    eval_before_epoch: bool = option(
        _PAPER.eval_before_epoch,
        help="measure before each epoch as the paper does (its last epoch is never measured)")
    fused_optimizer: bool = True  # fused Adam kernel (same maths, less time per step)
    # a label only: which preset the values came from
    preset: str | None = option(None, choices=PRESET_NAMES)

    def __post_init__(self) -> None:
        super().__post_init__()  # the choices and ranges declared above
        check_dataset_name(self.dataset)
        check_arch_name(self.arch)
        _ = self.rates  # validates the three rates
        if self.val_fraction == 0 and self.save_network == "best_val":
            raise ValueError("save_network best_val needs a validation split (val_fraction > 0)")

    @property
    def rates(self) -> PruneRates:
        return PruneRates(conv=self.rate_conv, hidden=self.rate_hidden, output=self.rate_output)

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> "IMPConfig":
        """``IMPConfig.from_preset("bain2022", dataset="digits", rounds=2)``."""
        arch = overrides.get("arch", cls.arch)
        p = get_preset(name, arch)
        values: dict[str, Any] = dict(
            rate_conv=p.rates.conv, rate_hidden=p.rates.hidden, rate_output=p.rates.output,
            scope=p.scope, policy=p.policy, lr=p.lr, weight_decay=p.weight_decay,
            batch_size=p.batch_size, epochs_per_round=p.epochs_per_round, rounds=p.rounds,
            rewind_iter=p.rewind_iter, rewind_scope=p.rewind_scope,
            alias_biases=p.alias_biases, save_network=p.save_network,
            eval_before_epoch=p.eval_before_epoch, val_fraction=p.val_fraction, preset=name)
        values.update(overrides)
        return cls(**values)


def _to(snap: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device) for k, v in snap.items()}


@dataclass
class _RoundBest:
    """Per-round selection: test accuracy at the best validation epoch, and best test."""

    best_val: float = -math.inf
    test_at_best_val: float = math.nan
    best_test: float = -math.inf

    def update(self, val_acc: float, test_acc: float) -> tuple[bool, bool]:
        """Record one evaluation; returns (new best validation, new best test)."""
        new_val = not math.isnan(val_acc) and val_acc > self.best_val  # earliest epoch wins ties
        if new_val:
            self.best_val, self.test_at_best_val = val_acc, test_acc
        new_test = test_acc > self.best_test
        if new_test:
            self.best_test = test_acc
        return new_val, new_test


class IMPExperiment:
    """Plain class (no Ray); see the module docstring for the schedule."""

    @staticmethod
    def summary(row: dict[str, Any]) -> str:
        """A finished trial's console line: its last round's sparsity and accuracy."""
        acc = row.get(ROUND_TEST_ACC_AT_BEST_VAL, row.get("test_acc"))
        return (f"round {row.get('round', '?')}, {percent(row.get('weights_remaining'))} of "
                f"weights left: test acc {percent(acc)}")

    def __init__(self, config: IMPConfig, *, data_dir: str | None = None,
                 device: str = "auto", num_threads: int = 1,
                 artifact_dir: str | Path | None = None):
        from sparsenet.data import load_dataset

        self.config = c = config
        self.device = setup_torch(num_threads, c.seed, device)
        self.artifact_dir = Path(artifact_dir) if artifact_dir is not None else None
        ds = load_dataset(c.dataset, data_dir, val_fraction=c.val_fraction, seed=c.seed).to(self.device)
        # Normalized once: IMP never needs raw pixels, and per-batch normalizing costs time.
        self.train_x, self.train_y = ds.normalize(ds.train_x), ds.train_y
        self.val_x, self.val_y = ds.normalize(ds.val_x), ds.val_y
        self.test_x, self.test_y = ds.normalize(ds.test_x), ds.test_y
        self._shape, self._classes = tuple(ds.info.shape), ds.info.num_classes
        steps_per_round = math.ceil(self.train_x.shape[0] / c.batch_size) * c.epochs_per_round
        if c.rewind_iter > steps_per_round:
            raise ValueError(f"rewind_iter {c.rewind_iter} exceeds the {steps_per_round} "
                             "optimizer steps of round 0")

        self.model = seeded_model(c.arch, self._shape, self._classes, c.seed).to(self.device)
        self.layers = prunable_layers(self.model, c.policy)
        self.pruner = MagnitudePruner(self.layers, c.rates, c.scope)  # attaches masks
        self.enforcer = MaskEnforcer(self.model)
        self.init_state = snapshot(self.model)
        self.rewind_state: dict[str, torch.Tensor] | None = (
            self.init_state if c.rewind_iter == 0 else None)
        self.train_gen = torch.Generator().manual_seed(c.seed)
        self.mask_gen = torch.Generator().manual_seed(derived_seed(c.seed, _MASK_STREAM))
        self.optimizer: torch.optim.Optimizer | None = None
        self.round = 0
        self.epoch = 0  # epochs finished in the current round
        self.steps = 0  # optimizer steps taken in round 0 (for the rewind point)
        self.best = _RoundBest()
        self.best_state: dict[str, torch.Tensor] | None = None  # for save_network best_*
        self.done = False
        self.stats: SparsityStats = sparsity_stats(self.model, self.layers)

    # ------------------------------------------------------------------ training
    def _new_optimizer(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.model.parameters(), lr=self.config.lr,
                                weight_decay=self.config.weight_decay,
                                fused=self.config.fused_optimizer or None)

    def _evaluate(self) -> tuple[float, float]:
        """(validation, test) accuracy now; the round's best and saved network follow them."""
        c = self.config
        val_acc = evaluate(self.model, self.val_x, self.val_y, batch_size=c.eval_batch_size)
        test_acc = evaluate(self.model, self.test_x, self.test_y, batch_size=c.eval_batch_size)
        new_val, new_test = self.best.update(val_acc, test_acc)
        if (c.save_network == "best_val" and new_val) or (c.save_network == "best_test" and new_test):
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        return val_acc, test_acc

    def _count_step(self) -> None:
        self.steps += 1
        if self.steps == self.config.rewind_iter:
            self.rewind_state = snapshot(self.model)

    def step(self) -> dict[str, Any]:
        """Train one epoch; at a round's last epoch also save, prune and rewind."""
        if self.done:
            raise RuntimeError("IMP run is done; no more steps")
        c = self.config
        if self.optimizer is None:
            self.optimizer = self._new_optimizer()
        counting = self.round == 0 and self.rewind_state is None
        if c.eval_before_epoch:  # the paper's timing: the trained last epoch is never measured
            val_acc, test_acc = self._evaluate()
        loss = train_epoch(self.model, self.optimizer, self.train_x, self.train_y,
                           batch_size=c.batch_size, generator=self.train_gen,
                           enforcer=self.enforcer,
                           after_step=self._count_step if counting else None)
        self.epoch += 1
        if not c.eval_before_epoch:
            val_acc, test_acc = self._evaluate()
        row: dict[str, Any] = {
            "round": self.round, "epoch": self.epoch,
            "weights_remaining": self.stats.weights_remaining,
            "params_remaining": self.stats.params_remaining,
            "compression": self.stats.compression,
            "compression_all_params": 1.0 / self.stats.params_remaining,
            "train_loss": loss, "val_acc": val_acc, "test_acc": test_acc,
            ROUND_END: self.epoch == c.epochs_per_round,
            "arch": c.arch, "dataset": c.dataset, "ticket": c.ticket, "seed": c.seed,
        }
        if row[ROUND_END]:
            row[ROUND_TEST_ACC_AT_BEST_VAL] = self.best.test_at_best_val
            row[ROUND_BEST_TEST_ACC] = self.best.best_test  # the paper's test-set selection
            row[ROUND_BEST_VAL_ACC] = (self.best.best_val if self.best.best_val > -math.inf
                                       else math.nan)
            row["saved_network"] = c.save_network
            if self.artifact_dir is not None:
                self._save_ticket(row)
            if self.round == c.rounds:
                self.done = True
            else:
                self._next_round()
        return row

    def _next_round(self) -> None:
        c = self.config
        if self.rewind_state is None:  # cannot happen after validation; guard anyway
            raise RuntimeError("rewind point was never reached in round 0")
        fresh = None
        # The paper's aliasing keeps trained biases from its first restore on: round 1 for
        # random tickets (restored at round 0 too), round 2 for winning tickets.
        keep_biases = c.alias_biases and (c.ticket == "random" or self.round > 0)
        target = rewind_target(self.model, self.rewind_state, self.layers, c.rewind_scope,
                               keep_biases)
        if c.ticket == "reinit":
            seed = derived_seed(c.seed, _REINIT_STREAM, self.round + 1)
            fresh = _to(snapshot(seeded_model(c.arch, self._shape, self._classes, seed)),
                        self.device)
        apply_ticket(c.ticket, self.layers, self.pruner.step(), model=self.model,
                     rewind_to=target, fresh_init=fresh, generator=self.mask_gen)
        self.enforcer.refresh(self.model)
        self.optimizer = None
        self.round += 1
        self.epoch = 0
        self.best = _RoundBest()
        self.best_state = None
        self.stats = sparsity_stats(self.model, self.layers)

    def _saved_network(self, row: dict[str, Any]) -> tuple[dict[str, torch.Tensor], float]:
        """(state, test accuracy) of the network this round's ticket file holds."""
        c = self.config
        if c.save_network == "best_val":
            return self.best_state, self.best.test_at_best_val  # type: ignore[return-value]
        if c.save_network == "best_test":
            return self.best_state, self.best.best_test  # type: ignore[return-value]
        test_acc = row["test_acc"]
        if c.eval_before_epoch:  # the last epoch was never measured: measure what is saved
            test_acc = evaluate(self.model, self.test_x, self.test_y, batch_size=c.eval_batch_size)
        return self.model.state_dict(), test_acc

    def _save_ticket(self, row: dict[str, Any]) -> None:
        state, test_acc = self._saved_network(row)
        record = {
            "state_dict": {k: v.detach().cpu() for k, v in state.items()},
            "saved_network": self.config.save_network,
            "round": self.round,
            "weights_remaining": self.stats.weights_remaining,
            "params_remaining": self.stats.params_remaining,
            "compression": self.stats.compression,
            "layers": {k: list(v) for k, v in self.stats.layers.items()},
            "input_shape": list(self._shape), "num_classes": self._classes,
            "test_acc": test_acc,
            "config": self.config.to_flat(),
        }
        write_ticket(ticket_path(self.artifact_dir, self.round), record)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything to resume bit-for-bit; loads with ``torch.load(weights_only=True)``."""
        return {
            "version": STATE_VERSION,
            "config": self.config.to_flat(),
            "model": self.model.state_dict(),
            "optimizer": None if self.optimizer is None else self.optimizer.state_dict(),
            "init_state": self.init_state,
            "rewind_state": self.rewind_state,
            "pruner": self.pruner.state_dict(),
            **capture_rng(self.device, self._generators()),  # + torch_rng, cuda_rng
            "round": self.round, "epoch": self.epoch, "steps": self.steps, "done": self.done,
            "best": dataclasses.asdict(self.best),
            "best_state": self.best_state,
        }

    def _generators(self) -> dict[str, torch.Generator]:
        return {"train_gen": self.train_gen, "mask_gen": self.mask_gen}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        check_state("IMP", state, STATE_VERSION, self.config)
        self.model.load_state_dict(state["model"])
        self.enforcer.refresh(self.model)
        self.init_state = _to(state["init_state"], self.device)
        self.rewind_state = (None if state["rewind_state"] is None
                             else _to(state["rewind_state"], self.device))
        if self.config.rewind_iter == 0:
            self.rewind_state = self.init_state
        self.optimizer = None
        if state["optimizer"] is not None:
            self.optimizer = self._new_optimizer()
            self.optimizer.load_state_dict(state["optimizer"])
        self.pruner.load_state_dict(state["pruner"])
        restore_rng(state, self.device, self._generators())  # older: no cuda_rng, none set
        self.round, self.epoch = int(state["round"]), int(state["epoch"])
        self.steps, self.done = int(state["steps"]), bool(state["done"])
        self.best = _RoundBest(**{k: float(v) for k, v in state["best"].items()})
        self.best_state = (None if state["best_state"] is None
                           else _to(state["best_state"], self.device))
        self.stats = sparsity_stats(self.model, self.layers)
