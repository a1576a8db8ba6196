"""Continual learning run: tasks trained in sequence, every seen task re-tested after each.

One ``step()`` is one epoch of the current task. A task ends after ``epochs_per_task``
epochs, or, with early stopping on (``patience > 0``), after ``patience`` epochs without a
better validation accuracy (at most ``max_epochs``), and then the best weights are restored.
Unlike the paper, which picked the best epoch on the *test* set, selection here uses the
task's validation split (carved from its training data); the test set is only reported.

Choices, and why:
- One shared output head for all tasks (the paper's and Numenta's setting).
- One Adam optimizer across the whole sequence by default, as Numenta's code does
  (``reset_optimizer=True`` builds a fresh one per task).
- Early stopping restores model weights (and the SI path integral, so importances match
  the restored weights); Adam's moments are kept as they are.
- Validation during a task uses the same context rule as the test (oracle or nearest).
- Dendritic segments are initialised for the context's density (``context_density``;
  None: 1/num_tasks for one-hot, 0.1 for prototypes, Numenta's configured value), as
  both reference codes do; ``context_density=1.0`` gives the earlier, smaller init.
- ``eval_split="val"`` fills the accuracy matrix from the validation split instead of the
  test split: hyper-parameter searches (``sparsenet.tune.search``) select on it.
- ``first_task_identity``: task 0 is the unpermuted dataset, as in both references.
- K-winners boost strengths decay once per epoch, before it (Numenta's
  ``UpdateBoostStrength``): a no-op unless ``boost_strength`` > 0.
- ``label_remap="paper"`` labels split tasks as the paper's split-CIFAR-100 code does (its
  in-place relabelling bug, see ``sparsenet.data.streams.paper_labels``).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import torch

from sparsenet.continual.contexts import (CONTEXT_KINDS, INFER_MODES, PrototypeContext,
                                          build_contexts)
from sparsenet.continual.metrics import AccuracyMatrix, bwt, forgetting, mean_accuracy
from sparsenet.continual.presets import PAPER_PMNIST, PMNIST_NETWORKS, PRESETS, SPLIT_CIFAR
from sparsenet.continual.si import SI_GRADS, SynapticIntelligence
from sparsenet.data.streams import LABEL_REMAPS
from sparsenet.engine import evaluate, setup_torch, train_epoch
from sparsenet import schema
from sparsenet.experiments.common import (Config, Range, capture_rng, check_dataset_name,
                                          check_state, finite, option, percent, restore_rng)
from sparsenet.experiments.early_stopping import EarlyStopping
from sparsenet.experiments.optim import use_fused
from sparsenet.models.cifar import FC_INITS
from sparsenet.models.layers import update_boost_strength
from sparsenet.models.masks import MASK_LAYOUTS

STREAMS = ("permuted", "split")
# Config fields passed to build_model when set (None: the permuted-MNIST study's value for
# an MLP arm, PMNIST_NETWORKS, else the model's own default).
MODEL_FIELDS = ("hidden", "kw_fraction", "weight_sparsity", "num_segments",
                "dendrite_sparsity", "conv_channels", "conv_kw", "fc_kw", "boost_strength",
                "hidden_input_density", "boost_strength_factor", "fc_init", "mask_layout")
# Context density assumed for prototype contexts when sizing the segments' init: the
# value Numenta's prototype configs set (context_percent_on; the prototype is dense), read
# from the numenta preset so it lives in one place.
PROTOTYPE_CONTEXT_DENSITY = PRESETS["numenta"].context_density
EVAL_SPLITS = ("test", "val")
STATE_VERSION = 2


@dataclass
class ContinualConfig(Config):
    """One continual run. Defaults: the paper's 10-task permuted MNIST ADN (one-hot context;
    its numbers are read from ``PAPER_PMNIST`` in sparsenet/continual/presets.py).

    Model fields left ``None`` take the permuted-MNIST study's network for an MLP arm
    (``PMNIST_NETWORKS``: 784-2048-2048-10 and its k-winners, sparsity and segments) and
    the model's own default otherwise; unknown or unsupported ones are rejected by the
    model registry.
    """

    kind: ClassVar[str] = "continual"

    dataset: str = "mnist"
    stream: str = option("permuted", choices=STREAMS)
    num_tasks: int = option(PAPER_PMNIST.num_tasks, range=Range(low=1), help="number of tasks")
    # split only; None: num_classes // num_tasks
    classes_per_task: int | None = option(None, range=Range(low=1))
    model: str = "active_dendrites_mlp"
    hidden: tuple[int, ...] | None = option(None, help="hidden widths")
    kw_fraction: float | None = option(None, range=Range(0, 1))
    weight_sparsity: float | None = option(None, range=Range(0, 1))
    num_segments: int | None = option(None, range=Range(low=1), help="dendritic segments")
    dendrite_sparsity: float | None = option(None, range=Range(0, 1))
    conv_channels: tuple[int, ...] | None = None
    conv_kw: float | None = option(None, range=Range(0, 1))
    fc_kw: float | None = option(None, range=Range(0, 1))
    boost_strength: float | None = option(None, range=Range(low=0))
    # plain MLP init; Numenta's MLP: 0.5
    hidden_input_density: float | None = option(None, range=Range(0, 1, low_open=True))
    # per-epoch decay of boost_strength
    boost_strength_factor: float | None = option(None, range=Range(0, 1))
    fc_init: str | None = option(
        None, choices=FC_INITS,
        help="sparse CNNs' FC init: density (rescaled for the mask's density, default), dense "
             "(nn.Linear's, then masked), paper (its code per model)")
    mask_layout: str | None = option(
        None, choices=MASK_LAYOUTS,
        help="sparse CNNs' FC masks: fan_in (every unit the same number of inputs, default) "
             "or layer (zeros anywhere in the matrix)")
    label_remap: str = option(
        "correct", choices=LABEL_REMAPS,
        help="split tasks' labels: correct (0..k-1 per task) or paper (the paper's in-place "
             "relabelling of one shared label list)")
    context_density: float | None = option(
        None, range=Range(0, 1, low_open=True),
        help="context density that sizes the segments' init (None: 1/tasks for onehot, 0.1 "
             "for prototype; 1.0: the old init)")
    context: str = option("onehot", choices=CONTEXT_KINDS,
                          help="context of dendritic networks (the paper: onehot task id; "
                               "Numenta: prototype)")
    context_infer: str = option(
        "oracle", choices=INFER_MODES,
        help="prototype at test time: the task's own or the nearest to the input")
    context_input: bool = option(
        False, help="give non-dendritic baselines the same context as an input")
    si: bool = False
    si_c: float = option(0.1, range=Range(low=0))
    si_xi: float = option(0.1, range=Range(low=0, low_open=True))
    si_dendrites: bool = option(
        False, help="SI also consolidates dendritic segments (default: no, Numenta's)")
    si_clip: bool = True  # per-task importance clipped at zero (Zenke et al., Numenta)
    # path integral of the task gradient (Zenke) or "total" (Numenta)
    si_grad: str = option("task", choices=SI_GRADS)
    # first penalised task; Numenta's mixin: 2
    si_start_task: int = option(1, range=Range(low=1))
    lr: float = option(PAPER_PMNIST.adn.lr, range=Range(low=0, low_open=True),
                       help="Adam step")
    weight_decay: float = option(0.0, range=Range(low=0))
    batch_size: int = option(PAPER_PMNIST.batch_size, range=Range(low=1), help="batch size")
    epochs_per_task: int = option(PAPER_PMNIST.adn.epochs_per_task, range=Range(low=1))
    patience: int = option(0, range=Range(low=0),
                           help="epochs without validation gain before a task ends (0 = off)")
    max_epochs: int = option(SPLIT_CIFAR.max_epochs, range=Range(low=1),
                             help="per task, with early stopping")
    reset_optimizer: bool = option(False, help="new Adam for every task")
    augment: bool = False  # CIFAR-style flips + affine on training batches
    val_fraction: float = option(0.1, range=Range(0, 1, high_open=True),
                                 help="training images held out as validation")
    # split the accuracy matrix is measured on ("val": searches)
    eval_split: str = option("test", choices=EVAL_SPLITS)
    first_task_identity: bool = option(
        False, help="task 0 is the unpermuted dataset (both references)")
    eval_batch_size: int = option(1000, range=Range(low=1))
    fused_optimizer: bool = True  # fused Adam kernel (same maths, less time per step)
    seed: int = 0
    arm: str = ""  # label of the comparison arm (set by sweeps; echoed in results)
    hp_source: str = ""  # where lr / epochs came from: "", "preset:<name>", "search", "cli"

    def __post_init__(self) -> None:
        for name in ("hidden", "conv_channels"):
            value = getattr(self, name)
            if value is not None:
                value = tuple(int(v) for v in value)
                if not value or min(value) < 1:
                    raise ValueError(f"{name} must be positive sizes, got {value}")
                setattr(self, name, value)
        super().__post_init__()  # the choices and ranges declared on the fields
        check_dataset_name(self.dataset)
        if self.classes_per_task is not None and self.stream != "split":
            raise ValueError("classes_per_task is only for stream='split'")
        if self.label_remap != "correct" and self.stream != "split":
            raise ValueError("label_remap is for stream='split'")
        from sparsenet.models.registry import MODEL_NAMES, model_options  # lazy import
        if self.model not in MODEL_NAMES:
            raise ValueError(f"unknown model {self.model!r}; known: {', '.join(MODEL_NAMES)}")
        options = model_options(self.model)
        wanted = [name for name in MODEL_FIELDS if getattr(self, name) is not None]
        wanted += ["context_input"] if self.context_input else []
        unsupported = [name for name in wanted if name not in options]
        if unsupported:
            raise ValueError(f"model {self.model} has no option(s) {unsupported}; "
                             f"its options: {', '.join(sorted(options))}")
        if self.context_infer == "nearest" and self.context != "prototype":
            raise ValueError("context_infer='nearest' needs context='prototype'")
        if self.dendritic:
            if self.context == "none":
                raise ValueError(f"model {self.model} has dendrites and needs a context "
                                 "(onehot or prototype)")
            if self.context_input:
                raise ValueError("context_input is for networks without dendrites")
        elif self.context_input and self.context == "none":
            raise ValueError("context_input=True needs context='onehot' or 'prototype'")
        elif not self.context_input and self.context != "none":
            raise ValueError(f"model {self.model} ignores context={self.context!r}; "
                             "set context_input=True or context='none'")
        if self.context_density is not None and "context_density" not in options:
            raise ValueError(f"model {self.model} has no dendrite init to scale; "
                             "context_density is for dendritic MLPs")
        if self.eval_split == "val" and self.val_fraction == 0.0:
            raise ValueError("eval_split='val' needs val_fraction > 0")
        if self.first_task_identity and self.stream != "permuted":
            raise ValueError("first_task_identity is for stream='permuted'")
        if self.patience > 0 and self.val_fraction == 0.0:
            raise ValueError("early stopping (patience > 0) needs val_fraction > 0")

    def check_dataset(self, info: Any) -> None:
        """Checks that need the dataset's metadata (run by sweeps before any trial starts)."""
        if self.stream == "split":
            from sparsenet.data.streams import classes_per_split

            classes_per_split(info.num_classes, self.num_tasks, self.classes_per_task)

    @property
    def dendritic(self) -> bool:
        """Hidden units gated by dendritic segments: the network needs a context."""
        from sparsenet.models.registry import model_entry  # lazy import

        return model_entry(self.model).takes_context

    @property
    def uses_context(self) -> bool:
        return self.dendritic or self.context_input

    @property
    def epoch_budget(self) -> int:
        """Epochs a task may run: ``max_epochs`` with early stopping, else ``epochs_per_task``."""
        return self.max_epochs if self.patience > 0 else self.epochs_per_task

    def resolved_context_density(self) -> float | None:
        """The density that sizes the segments' init (None: the model has no such option).

        Unset, it follows the context as the reference codes do: a one-hot task id has one
        non-zero entry in ``num_tasks`` (Numenta's one-hot configs: 0.1 for 10 tasks; the
        paper's code hard-codes 0.05), a prototype gets Numenta's configured 0.1.
        """
        from sparsenet.models.registry import model_options  # lazy import

        if not self.dendritic or "context_density" not in model_options(self.model):
            return None
        if self.context_density is not None:
            return self.context_density
        if self.context == "onehot":
            return 1.0 / self.num_tasks
        return PROTOTYPE_CONTEXT_DENSITY

    def model_kwargs(self, context_dim: int) -> dict[str, Any]:
        """``build_model``'s keywords: the study's chosen network, then the fields set."""
        kwargs: dict[str, Any] = PMNIST_NETWORKS.model_defaults(self.model)
        for name in MODEL_FIELDS:
            value = getattr(self, name)
            if value is not None:
                kwargs[name] = list(value) if isinstance(value, tuple) else value
        if self.dendritic:
            kwargs["context_dim"] = context_dim
            density = self.resolved_context_density()
            if density is not None:
                kwargs["context_density"] = density
        elif self.context_input:
            kwargs["context_input"] = True
            kwargs["context_dim"] = context_dim
        return kwargs


def _clone_state(state: dict) -> dict:
    return copy.deepcopy(state)


class ContinualExperiment:
    """Plain class (no Ray): ``step()`` trains one epoch; ``done`` after the last task.

    Every step reports ``task, epoch, train_loss, val_acc, task_end`` (+ config echo); a
    step that ends task ``t`` also reports ``matrix_row`` (R[t, 0..t]), ``mean_accuracy``,
    ``newest_accuracy``, ``forgetting``, ``bwt``, ``epochs_trained``, ``best_val_acc`` and,
    with nearest-prototype inference, ``task_inference_acc``. ``val_acc`` is NaN when the
    validation split is empty.
    """

    @staticmethod
    def summary(row: dict[str, Any]) -> str:
        """A finished trial's console line: mean accuracy and forgetting after its last task."""
        text = (f"after task {int(row.get('task', -1)) + 1}: mean acc "
                f"{percent(row.get('mean_accuracy'))}")
        if finite(row.get("forgetting")):
            text += f", forgetting {100 * row['forgetting']:.2f} pts"
        return text

    def __init__(self, config: ContinualConfig, *, data_dir: str | None = None,
                 device: str | torch.device = "auto", num_threads: int = 1):
        from sparsenet.data import load_dataset
        from sparsenet.data.streams import permuted_tasks, split_tasks
        from sparsenet.models.registry import build_model

        self.config = config
        self.device = setup_torch(num_threads, seed=config.seed, device=device)
        ds = load_dataset(config.dataset, data_dir, val_fraction=config.val_fraction,
                          seed=config.seed)
        self.dataset = ds.to(self.device)
        if config.stream == "permuted":
            self.tasks = permuted_tasks(self.dataset, config.num_tasks, config.seed)
            if config.first_task_identity:
                self.tasks[0] = dataclasses.replace(self.tasks[0], permutation=None,
                                                    _perm_on={})
            num_classes = self.dataset.info.num_classes
        else:
            self.tasks = split_tasks(self.dataset, config.num_tasks, config.seed,
                                     classes_per_task=config.classes_per_task,
                                     label_remap=config.label_remap)
            num_classes = max(len(task.classes) for task in self.tasks)
        if len(self.tasks) != config.num_tasks:
            raise ValueError(f"stream gave {len(self.tasks)} tasks, expected {config.num_tasks}")
        shape = tuple(self.dataset.info.shape)
        self.contexts = build_contexts(config.context, num_tasks=config.num_tasks,
                                       input_dim=math.prod(shape), infer=config.context_infer,
                                       device=self.device)
        self.model = build_model(config.model, shape, num_classes,
                                 **config.model_kwargs(self.contexts.dim)).to(self.device)
        if bool(getattr(self.model, "uses_context", config.uses_context)) != config.uses_context:
            raise ValueError(f"model {config.model} uses_context="
                             f"{getattr(self.model, 'uses_context')}, but the config expects "
                             f"{config.uses_context}; fix takes_context in its registry entry")
        self.optimizer = self._new_optimizer()
        self.si = (SynapticIntelligence(self.model, c=config.si_c, xi=config.si_xi,
                                        clip=config.si_clip,
                                        include_dendrites=config.si_dendrites,
                                        grad=config.si_grad, start_task=config.si_start_task)
                   if config.si else None)
        self.matrix = AccuracyMatrix(config.num_tasks)
        self.batch_generator = torch.Generator().manual_seed(config.seed)
        self.augment_generator = (torch.Generator(device=self.device).manual_seed(config.seed + 1)
                                  if config.augment else None)
        self.task = 0
        self.epoch = 0  # epochs finished in the current task
        self.epochs_total = 0
        self.done = False
        self.early_stopping = EarlyStopping(config.patience)

    # -- pieces ------------------------------------------------------------------------
    def _new_optimizer(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.model.parameters(), lr=self.config.lr,
                                weight_decay=self.config.weight_decay,
                                fused=self.config.fused_optimizer or None)

    def model_transform(self, task_id: int) -> Callable[[torch.Tensor], torch.Tensor]:
        """Raw batch -> what the network sees for ``task_id``: normalize, then permute."""
        task, normalize = self.tasks[task_id], self.dataset.normalize

        def transform(xb: torch.Tensor) -> torch.Tensor:
            return task.apply(normalize(xb)).reshape(xb.shape)
        return transform

    def _train_transform(self, task_id: int) -> Callable[[torch.Tensor], torch.Tensor]:
        model_space = self.model_transform(task_id)
        if not self.config.augment:
            return model_space
        from sparsenet.data.augment import augment_cifar
        generator = self.augment_generator

        def transform(xb: torch.Tensor) -> torch.Tensor:
            return model_space(augment_cifar(xb, generator))
        return transform

    def _eval_context(self, task_id: int, x: torch.Tensor) -> tuple[torch.Tensor | None,
                                                                     torch.Tensor | None]:
        """(context, inferred task ids or None) for evaluating ``x`` of ``task_id``."""
        if not self.config.uses_context:
            return None, None
        transform = self.model_transform(task_id)
        if isinstance(self.contexts, PrototypeContext) and self.contexts.infer == "nearest":
            ids = self.contexts.infer_tasks(x, transform)
            return self.contexts.prototypes[ids], ids
        return self.contexts.eval_context(task_id, x, transform), None

    def evaluate_task(self, task_id: int, split: str = "test") -> tuple[float, float | None]:
        """(accuracy, fraction of inputs whose task was inferred right, or None)."""
        task = self.tasks[task_id]
        x, y = getattr(task, f"{split}_x"), getattr(task, f"{split}_y")
        if x.shape[0] == 0:
            return float("nan"), None
        context, ids = self._eval_context(task_id, x)
        acc = evaluate(self.model, x, y, batch_size=self.config.eval_batch_size,
                       context=context, x_transform=self.model_transform(task_id))
        inferred = None if ids is None else int((ids == task_id).sum()) / ids.numel()
        return acc, inferred

    def _begin_task(self) -> None:
        t = self.task
        task = self.tasks[t]
        self.contexts.fit_task(t, task.train_x, self.model_transform(t))
        if self.config.reset_optimizer and t > 0:
            self.optimizer = self._new_optimizer()
        if self.si is not None:
            self.si.begin_task()
        self.early_stopping.reset()

    # -- the experiment interface ---------------------------------------------------------
    def step(self) -> dict[str, Any]:
        if self.done:
            raise RuntimeError("all tasks are trained; the experiment is done")
        cfg, t = self.config, self.task
        if self.epoch == 0:
            self._begin_task()
        task = self.tasks[t]
        context = self.contexts.train_context(t) if cfg.uses_context else None
        update_boost_strength(self.model)  # once per epoch, before it (as Numenta)
        loss = train_epoch(self.model, self.optimizer, task.train_x, task.train_y,
                           batch_size=cfg.batch_size, generator=self.batch_generator,
                           context=context, batch_transform=self._train_transform(t),
                           extra_loss=self.si.penalty if self.si is not None else None,
                           after_step=self.si.after_step if self.si is not None else None)
        self.epoch += 1
        self.epochs_total += 1
        val_acc, _ = self.evaluate_task(t, "val") if task.val_x.shape[0] else (float("nan"), None)

        task_end = self.epoch >= cfg.epoch_budget
        stop = self.early_stopping.update(val_acc, lambda: (
            _clone_state(self.model.state_dict()),
            self.si.running_state() if self.si is not None else None))
        task_end = task_end or stop

        result: dict[str, Any] = {
            schema.TASK: t, "epoch": self.epoch, "epochs_total": self.epochs_total,
            "train_loss": loss, "val_acc": val_acc, schema.TASK_END: task_end,
            "model": cfg.model, "context": cfg.context, "context_infer": cfg.context_infer,
            "context_input": cfg.context_input, "si": cfg.si,
            "num_tasks": cfg.num_tasks, "seed": cfg.seed, "dataset": cfg.dataset,
            "stream": cfg.stream, "lr": cfg.lr, "epochs_per_task": cfg.epochs_per_task,
            "arm": cfg.arm, "hp_source": cfg.hp_source, "eval_split": cfg.eval_split,
            "segment_init_density": cfg.resolved_context_density(),
            "label_remap": cfg.label_remap,
        }
        if task_end:
            result.update(self._end_task())
        return result

    def _end_task(self) -> dict[str, Any]:
        t = self.task
        best = self.early_stopping
        best_val = best.best_val
        if best.best_model is not None:
            self.model.load_state_dict(best.best_model)
            if self.si is not None and best.best_si is not None:
                self.si.load_running_state(best.best_si)
        if self.si is not None:
            self.si.end_task()
        row, inferred = [], []
        for i in range(t + 1):
            acc, inf = self.evaluate_task(i, self.config.eval_split)
            row.append(acc)
            if inf is not None:
                inferred.append(inf)
        self.matrix.set_row(t, row)
        out: dict[str, Any] = {
            schema.MATRIX_ROW: self.matrix.row(t),
            schema.MEAN_ACCURACY: mean_accuracy(self.matrix, t),
            schema.NEWEST_ACCURACY: row[t],
            schema.FORGETTING: forgetting(self.matrix, t),
            schema.BWT: bwt(self.matrix, t),
            "epochs_trained": self.epoch,
        }
        if self.config.patience > 0:
            out["best_val_acc"] = best_val
        if inferred:
            out["task_inference_acc"] = sum(inferred) / len(inferred)
        self.task += 1
        self.epoch = 0
        self.early_stopping.reset()
        self.done = self.task >= self.config.num_tasks
        return out

    # -- checkpoints ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue bit-for-bit (loads with ``weights_only=True``)."""
        rng = capture_rng(self.device, self._generators(), torch_key="torch", cuda_key="cuda")
        return {
            "version": STATE_VERSION,
            "config": self.config.to_flat(),
            "model": _clone_state(self.model.state_dict()),
            "optimizer": _clone_state(self.optimizer.state_dict()),
            "si": self.si.state_dict() if self.si is not None else None,
            "contexts": self.contexts.state_dict(),
            "matrix": self.matrix.state_dict(),
            "task": self.task, "epoch": self.epoch, "epochs_total": self.epochs_total,
            "done": self.done,
            **self.early_stopping.state_dict(),  # best_val, since_best, best_model, best_si
            "rng": rng,
        }

    def _generators(self) -> dict[str, torch.Generator | None]:
        """Its own random streams, by their checkpoint names (no augmentation: None)."""
        return {"batches": self.batch_generator, "augment": self.augment_generator}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        check_state("continual", state, STATE_VERSION, self.config)
        self.model.load_state_dict(state["model"])
        self.optimizer = self._new_optimizer()
        self.optimizer.load_state_dict(state["optimizer"])
        use_fused(self.optimizer, self.config.fused_optimizer)
        if self.si is not None:
            self.si.load_state_dict(state["si"])
        self.contexts.load_state_dict(state["contexts"])
        self.matrix.load_state_dict(state["matrix"])
        self.task, self.epoch = int(state["task"]), int(state["epoch"])
        self.epochs_total, self.done = int(state["epochs_total"]), bool(state["done"])
        self.early_stopping.load_state_dict(state)
        restore_rng(state["rng"], self.device, self._generators(), torch_key="torch",
                    cuda_key="cuda")
