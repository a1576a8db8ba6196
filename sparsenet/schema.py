"""The result-file contract: file names, experiment kinds and result keys, defined once.

The experiments write these names and ``analysis`` reads them; both import this module.
It imports nothing but the standard library, so ``analysis`` can use it without torch or
ray (``sparsenet/__init__.py`` is empty on purpose). Changing a name here changes every
existing result folder's meaning: keep them stable. The experiment kinds are declared here
too (:data:`EXPERIMENTS`, at the end): one line per kind, which both sides key by.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass

# --- the experiment folder -------------------------------------------------------------
EXPERIMENT_FILE = "sparsenet_experiment.json"
PARAMS_FILE = "params.json"
RESULT_FILE = "result.json"
ERROR_FILE = "error.txt"
TICKETS_DIR = "tickets"
# A --tune run (sparsenet.tune.search): NAME/search/<arm>/ the searches, NAME/FINAL_DIR/ the
# final runs; the choice and every grid point beside them (copied into FINAL_DIR at the end).
FINAL_DIR = "final"
CHOSEN_FILE = "chosen.json"
TUNED_RECORD_FILE = "sparsenet_tuned.json"  # the flags of the first start (for --resume)
SEARCH_TRIALS_FILE = "search_trials.csv"

def ticket_file(round_: int) -> str:
    """The ticket saved at the end of IMP round ``round_``, relative to its trial folder."""
    return f"{TICKETS_DIR}/round_{int(round_):02d}.pt"


# --- IMP ---------------------------------------------------------------------------------
TICKET = "ticket"
ROUND = "round"
ROUND_END = "round_end"
WEIGHTS_REMAINING = "weights_remaining"
COMPRESSION = "compression"
# A round's accuracy, on its round_end row, best first: test accuracy at the best validation
# epoch (ours), best test accuracy (the paper's selection), then the last epoch's.
ROUND_TEST_ACC_AT_BEST_VAL = "round_test_acc_at_best_val"
ROUND_BEST_TEST_ACC = "round_best_test_acc"
ROUND_BEST_VAL_ACC = "round_best_val_acc"
TEST_ACC = "test_acc"
IMP_METRICS = (ROUND_TEST_ACC_AT_BEST_VAL, ROUND_BEST_TEST_ACC, TEST_ACC)

# --- noise -------------------------------------------------------------------------------
NETWORK = "network"
TOTAL = "total"
DENSE = "dense"
CONTROL_PREFIX = "control:"
CONTROL_DENSE = CONTROL_PREFIX + DENSE
# The MLP controls of the noise study, in report order (network ``control:<kind>``).
CONTROL_KINDS = ("dense", "weight_sparse", "activation_sparse", "both")
# Numenta's own MNIST CNN-2 networks ("How Can We Be So Dense?"), trained with their recipe;
# the sparse one is tested against the dense one (analysis.keys.CONTROL_REFERENCE).
NUMENTA_KINDS = ("numenta_dense_cnn2", "numenta_sparse_cnn2")
_NOISE_KEY = re.compile(r"^(?P<what>acc|correct)/(?P<noise>[^/]+)/(?P<level>[-+0-9.eE]+)$")


def level_label(level: float) -> str:
    return f"{float(level):g}"


def acc_key(noise: str, level: float) -> str:
    return f"acc/{noise}/{level_label(level)}"


def correct_key(noise: str, level: float) -> str:
    return f"correct/{noise}/{level_label(level)}"


def score_key(noise: str) -> str:
    return f"noise_score/{noise}"


def parse_noise_key(key: str) -> tuple[str, str, float] | None:
    """``acc/set_2sigma/0.1`` -> ("acc", "set_2sigma", 0.1); None for other keys."""
    match = _NOISE_KEY.match(key)
    if not match:
        return None
    try:
        return match["what"], match["noise"], float(match["level"])
    except ValueError:
        return None


def fraction_label(fraction: float) -> str:
    """0.7 -> "0.70", 0.967 -> "0.967": two decimals at least, more only when needed."""
    text = f"{fraction:.6f}".rstrip("0")
    decimals = len(text.split(".")[1]) if "." in text else 0
    return f"{fraction:.{max(2, decimals)}f}"


def ticket_network_name(ticket: str, pruned_fraction: float) -> str:
    return f"{ticket}@{fraction_label(pruned_fraction)}"


def control_network_name(kind: str) -> str:
    return f"{CONTROL_PREFIX}{kind}"


def is_control(name: str) -> bool:
    return str(name).startswith(CONTROL_PREFIX)


def network_kind(name: str) -> str:
    """``winning@0.70`` -> winning; ``dense``, ``control:both`` stay as they are."""
    name = str(name)
    if is_control(name):
        return name
    return name.split("@", 1)[0]


# --- continual ---------------------------------------------------------------------------
TASK = "task"
TASK_END = "task_end"
MATRIX_ROW = "matrix_row"  # accuracies on tasks 0..t after training task t
# What a continual trial reports when a task ends (analysis recomputes them from the matrix
# and flags a disagreement) and the per-step keys that are results, not configuration.
MEAN_ACCURACY = "mean_accuracy"
NEWEST_ACCURACY = "newest_accuracy"
FORGETTING = "forgetting"
BWT = "bwt"
CONTINUAL_REPORTED = (MEAN_ACCURACY, FORGETTING, BWT)
CONTINUAL_STEP_KEYS = (TASK, MATRIX_ROW, MEAN_ACCURACY, NEWEST_ACCURACY, FORGETTING, BWT,
                       TASK_END, "epoch", "train_loss", "val_acc", "test_acc")


# --- the experiment kinds ------------------------------------------------------------------
@dataclass(frozen=True)
class ExperimentKind:
    """Everything known about one experiment kind, as names (nothing is imported).

    The Tune adapter reads how to run it (``sparsenet.experiments.registry`` loads the
    classes), ``analysis`` which tidy frames and files it has (its builders are registered
    per kind in ``analysis/kinds/<kind>.py``).
    """

    kind: str
    module: str  # where its Config subclass and its experiment class live
    config: str  # the Config subclass (its ``kind`` class attribute equals ``kind``)
    experiment: str  # step(), done, state_dict(), load_state_dict(); optional summary(row)
    tidy: tuple[tuple[str, str], ...]  # (frame name, CSV file) a finished sweep writes
    boundary_key: str | None = None  # step key that ends a round/task: a checkpoint there
    artifact_dir: bool = False  # gets ``artifact_dir=`` (its trial folder) for files it saves
    ticket_dirs: tuple[str, ...] = ()  # config keys naming an IMP trial whose tickets it reads

    @property
    def tidy_files(self) -> tuple[str, ...]:
        return tuple(file for _, file in self.tidy)

    @property
    def tidy_frames(self) -> tuple[str, ...]:
        return tuple(frame for frame, _ in self.tidy)

    def classes(self) -> tuple[type, type]:
        """``(ConfigClass, ExperimentClass)``, imported now (this imports torch)."""
        module = importlib.import_module(self.module)
        return getattr(module, self.config), getattr(module, self.experiment)


# One line per kind: adding a kind is this line, its module, and its analysis module
# (analysis/kinds/<kind>.py).
EXPERIMENTS: dict[str, ExperimentKind] = {e.kind: e for e in (
    ExperimentKind("imp", "sparsenet.experiments.imp", "IMPConfig", "IMPExperiment",
                   tidy=(("imp", "imp_rounds.csv"),), boundary_key=ROUND_END,
                   artifact_dir=True),
    ExperimentKind("noise", "sparsenet.experiments.noise", "NoiseConfig", "NoiseExperiment",
                   tidy=(("noise", "noise.csv"), ("noise_scores", "noise_scores.csv")),
                   ticket_dirs=("imp_dir",)),
    ExperimentKind("continual", "sparsenet.experiments.continual", "ContinualConfig",
                   "ContinualExperiment", tidy=(("continual", "continual.csv"),),
                   boundary_key=TASK_END),
)}
KINDS = tuple(EXPERIMENTS)
# Derived views: the tidy CSV(s) a finished sweep leaves in its folder, per kind, and the
# step keys that end a round / a task (the Tune adapter checkpoints there).
TIDY_FILES = {name: e.tidy_files for name, e in EXPERIMENTS.items()}
BOUNDARY_KEYS = tuple(e.boundary_key for e in EXPERIMENTS.values() if e.boundary_key)


def experiment_kind(kind: str) -> ExperimentKind:
    """The entry of a kind; an unknown kind is a ``ValueError`` listing the known ones."""
    if kind not in EXPERIMENTS:
        raise ValueError(f"unknown experiment kind {kind!r}; known: {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[kind]
