"""Every name analysis relies on in result files, in one place.

The experiments (sparsenet/experiments) decide what a ``step()`` reports; when those keys
change, this is the only module to align.
"""

from __future__ import annotations

import math
import re
from typing import Any, Mapping

# --- the experiment folder -------------------------------------------------------------
EXPERIMENT_FILE = "sparsenet_experiment.json"
PARAMS_FILE = "params.json"
RESULT_FILE = "result.json"
ERROR_FILE = "error.txt"
KINDS = ("imp", "noise", "continual")
TIDY_FILES = {"imp": ("imp_rounds.csv",), "noise": ("noise.csv", "noise_scores.csv"),
              "continual": ("continual.csv",)}

# --- Tune's own keys in result.json rows (bookkeeping, not metrics) ----------------------
TUNE_KEYS = ("training_iteration", "trial_id", "done", "time_total_s", "time_this_iter_s",
             "date", "timestamp", "pid", "hostname", "node_ip", "time_since_restore",
             "iterations_since_restore", "should_checkpoint", "checkpoint_dir_name",
             "timesteps_total", "episodes_total", "timesteps_since_restore",
             "node_id", "device")
ROW_CONFIG_KEY = "config"  # Tune copies the trial config into every row; params.json has it

# Config keys that steer a run but never define a table's setting (paths are skipped too).
RUNTIME_CONFIG_KEYS = ("experiment", "data_dir", "imp_dir", "num_threads", "device",
                       "eval_batch_size")
SEED = "seed"
# Keys a step row reports about its own identity (a noise trial learns its seed, arch and
# dataset from the ticket it loads): tidy frames keep them next to the config columns.
ROW_ID_KEYS = ("seed", "arch", "dataset", "ticket", "mode", "stream")
# Row keys that may split a table into settings when they vary (besides config columns).
ROW_SETTING_KEYS = ("arch", "dataset")

# --- IMP ---------------------------------------------------------------------------------
TICKET = "ticket"
ROUND = "round"
ROUND_END = "round_end"
WEIGHTS_REMAINING = "weights_remaining"
COMPRESSION = "compression"
# Dense / remaining over *all* parameters (biases and unpruned layers count): the paper's count.
COMPRESSION_ALL = "compression_all_params"
# Accuracy of a round, best first: selected on validation (ours), best test (the paper's).
IMP_METRICS = ("round_test_acc_at_best_val", "round_best_test_acc", "test_acc")
IMP_METRIC_LABELS = {"round_test_acc_at_best_val": "test accuracy at best validation epoch",
                     "round_best_test_acc": "best test accuracy in the round (paper's selection)",
                     "test_acc": "test accuracy at the round's last epoch"}
TICKET_ORDER = ("winning", "random", "reinit")

# --- noise -------------------------------------------------------------------------------
NETWORK = "network"
NOISE_AXES = (NETWORK,)
TOTAL = "total"
_ACC_KEY = re.compile(r"^acc/(?P<noise>[^/]+)/(?P<level>[-+0-9.eE]+)$")
_CORRECT_KEY = re.compile(r"^correct/(?P<noise>[^/]+)/(?P<level>[-+0-9.eE]+)$")
DENSE = "dense"
CONTROL_PREFIX = "control:"
CONTROL_DENSE = "control:dense"
NUMENTA_DENSE = "control:numenta_dense_cnn2"
NUMENTA_SPARSE = "control:numenta_sparse_cnn2"
CONTROL_ORDER = ("control:dense", "control:weight_sparse", "control:activation_sparse",
                 "control:both", NUMENTA_DENSE, NUMENTA_SPARSE)
CONTROL_LABELS = {"control:weight_sparse": "weight sparsity only",
                  "control:activation_sparse": "activation sparsity (k-winners) only",
                  "control:both": "weight + activation sparsity",
                  NUMENTA_DENSE: "Numenta's dense CNN-2",
                  NUMENTA_SPARSE: "Numenta's sparse CNN-2 (weights + k-winners, boosting)"}
# The dense network each control is compared with: Numenta's sparse CNN-2 with their own dense
# CNN-2 (same architecture and recipe), every other control with the dense MLP control.
CONTROL_REFERENCE = {NUMENTA_SPARSE: NUMENTA_DENSE}
PAPER_NOISE = "set_2sigma"


def parse_noise_key(key: str) -> tuple[str, str, float] | None:
    """``acc/set_2sigma/0.1`` -> ("acc", "set_2sigma", 0.1); None for other keys."""
    for what, pattern in (("acc", _ACC_KEY), ("correct", _CORRECT_KEY)):
        match = pattern.match(key)
        if match:
            try:
                return what, match["noise"], float(match["level"])
            except ValueError:
                return None
    return None


def network_kind(name: str) -> str:
    """``winning@0.70`` -> winning; ``dense``, ``control:both`` stay as they are."""
    name = str(name)
    if name.startswith(CONTROL_PREFIX):
        return name
    return name.split("@", 1)[0]


def control_reference(name: str) -> str:
    """The dense control a ``control:*`` network is tested against."""
    return CONTROL_REFERENCE.get(name, CONTROL_DENSE)


def is_control(name: str) -> bool:
    return str(name).startswith(CONTROL_PREFIX)


# --- continual ---------------------------------------------------------------------------
TASK = "task"
TASK_END = "task_end"
MATRIX_ROW = "matrix_row"
MODEL_AXES = ("model", "context", "si", "num_tasks")
REPORTED_METRICS = ("mean_accuracy", "forgetting", "bwt")
STREAM_KEYS = ("stream", "benchmark", "scenario", "tasks")


def continual_stream(config: Mapping[str, Any], sweep: str | None = None) -> str:
    """``permuted`` or ``split``: from the config if it says, else the sweep, else the data."""
    for key in STREAM_KEYS:
        value = str(config.get(key, "")).lower()
        if "perm" in value:
            return "permuted"
        if "split" in value:
            return "split"
    sweep = (sweep or "").lower()
    if "perm" in sweep or "pmnist" in sweep:
        return "permuted"
    if "split" in sweep:
        return "split"
    return "split" if "cifar" in str(config.get("dataset", "")).lower() else "permuted"


def _truthy(value: Any) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "0.0", "false", "none", "no", "off")
    return bool(value)


def model_label(config: Mapping[str, Any]) -> str:
    """One readable name per continual arm: model, its context (if any) and +SI."""
    label = str(config.get("model", "?"))
    context = config.get("context")
    if _truthy(context):
        label += f" [{context}]"
    if _truthy(config.get("si")):
        label += " +SI"
    return label
