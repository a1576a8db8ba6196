"""Every name analysis relies on in result files, in one place.

The file names, kinds and key builders/parsers are the contract the experiments write by,
defined once in :mod:`sparsenet.schema` (torch- and ray-free) and re-exported here; this
module adds what only analysis needs (Tune's own keys, orders, labels).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from sparsenet.schema import (COMPRESSION, CONTINUAL_REPORTED, CONTINUAL_STEP_KEYS,
                              CONTROL_DENSE, CONTROL_KINDS, CONTROL_PREFIX, DENSE, NUMENTA_KINDS,
                              ERROR_FILE, EXPERIMENT_FILE, EXPERIMENTS, IMP_METRICS, KINDS,
                              MATRIX_ROW, NETWORK, PARAMS_FILE, RESULT_FILE, ROUND,
                              ROUND_BEST_TEST_ACC, ROUND_END, ROUND_TEST_ACC_AT_BEST_VAL, TASK,
                              TASK_END, TEST_ACC, TICKET, TIDY_FILES, TOTAL, WEIGHTS_REMAINING,
                              control_network_name, experiment_kind, is_control, network_kind,
                              parse_noise_key)

# The contract names analysis uses, re-exported (defined in sparsenet.schema only).
__all__ = ["COMPRESSION", "CONTROL_DENSE", "CONTROL_PREFIX", "DENSE", "ERROR_FILE",
           "EXPERIMENT_FILE", "EXPERIMENTS", "IMP_METRICS", "KINDS", "MATRIX_ROW", "NETWORK",
           "PARAMS_FILE", "RESULT_FILE", "ROUND", "ROUND_END", "TASK", "TASK_END", "TICKET",
           "TIDY_FILES", "TOTAL", "WEIGHTS_REMAINING", "experiment_kind", "is_control",
           "network_kind", "parse_noise_key"]

# --- Tune's own keys in result.json rows (bookkeeping, not metrics) ----------------------
TUNE_KEYS = ("training_iteration", "trial_id", "done", "time_total_s", "time_this_iter_s",
             "date", "timestamp", "pid", "hostname", "node_ip", "time_since_restore",
             "iterations_since_restore", "should_checkpoint", "checkpoint_dir_name",
             "timesteps_total", "episodes_total", "timesteps_since_restore",
             "node_id", "device")
ROW_CONFIG_KEY = "config"  # Tune copies the trial config into every row; params.json has it

# Config keys that steer a run but never define a table's setting (paths are skipped too).
# fused_optimizer: the fused Adam kernel, the same maths as plain Adam (tested), so a run with
# it pools with one without it (continual configs gained the field later).
RUNTIME_CONFIG_KEYS = ("experiment", "data_dir", "imp_dir", "num_threads", "device",
                       "eval_batch_size", "fused_optimizer")
SEED = "seed"
# Keys a step row reports about its own identity (a noise trial learns its seed, arch and
# dataset from the ticket it loads): tidy frames keep them next to the config columns.
ROW_ID_KEYS = ("seed", "arch", "dataset", "ticket", "mode", "stream")
# Row keys that may split a table into settings when they vary (besides config columns).
ROW_SETTING_KEYS = ("arch", "dataset")

# --- IMP ---------------------------------------------------------------------------------
# Dense / remaining over *all* parameters (biases and unpruned layers count): the paper's count.
COMPRESSION_ALL = "compression_all_params"
IMP_METRIC_LABELS = {ROUND_TEST_ACC_AT_BEST_VAL: "test accuracy at best validation epoch",
                     ROUND_BEST_TEST_ACC: "best test accuracy in the round (paper's selection)",
                     TEST_ACC: "test accuracy at the round's last epoch"}
TICKET_ORDER = ("winning", "random", "reinit")

# --- noise -------------------------------------------------------------------------------
NOISE_AXES = (NETWORK,)
NUMENTA_DENSE, NUMENTA_SPARSE = (control_network_name(kind) for kind in NUMENTA_KINDS)
CONTROL_ORDER = (*(control_network_name(kind) for kind in CONTROL_KINDS), NUMENTA_DENSE,
                 NUMENTA_SPARSE)
CONTROL_LABELS = {control_network_name("weight_sparse"): "weight sparsity only",
                  control_network_name("activation_sparse"): "activation sparsity (k-winners) only",
                  control_network_name("both"): "weight + activation sparsity",
                  NUMENTA_DENSE: "Numenta's dense CNN-2",
                  NUMENTA_SPARSE: "Numenta's sparse CNN-2 (weights + k-winners, boosting)"}
# The dense network each control is compared with: Numenta's sparse CNN-2 with their own dense
# CNN-2 (same architecture and recipe), every other control with the dense MLP control.
CONTROL_REFERENCE = {NUMENTA_SPARSE: NUMENTA_DENSE}
PAPER_NOISE = "set_2sigma"


def control_reference(name: str) -> str:
    """The dense control a ``control:*`` network is tested against."""
    return CONTROL_REFERENCE.get(name, CONTROL_DENSE)


# --- continual ---------------------------------------------------------------------------
MODEL_AXES = ("model", "context", "si", "num_tasks")
REPORTED_METRICS = CONTINUAL_REPORTED  # reported by a trial, recomputed by analysis
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

# Config key: the number of pruning rounds after round 0 (an IMP trial reports rounds 0..N).
ROUNDS = "rounds"
