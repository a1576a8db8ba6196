"""``--tracking mlflow|wandb``: Ray Tune's own logger callbacks, imported only when asked.

TensorBoard needs nothing: Tune already writes event files into every trial folder
(``tensorboard --logdir STORAGE/NAME``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
from typing import Any

TRACKERS = ("mlflow", "wandb")
_PACKAGE = {"mlflow": "mlflow", "wandb": "wandb"}


def check_tracking(args: argparse.Namespace) -> str | None:
    """Why ``--tracking`` cannot work here (None if it can); checked before Ray starts."""
    tracker = getattr(args, "tracking", None)
    if tracker is None:
        return None
    if importlib.util.find_spec(_PACKAGE[tracker]) is None:
        return (f"--tracking {tracker} needs the {tracker} package: "
                f"pip install 'sparsenet[{tracker}]'")
    return None


def tracking_callbacks(args: argparse.Namespace) -> list[Any]:
    """The callback of the chosen tracker (an empty list without ``--tracking``)."""
    tracker = getattr(args, "tracking", None)
    if tracker == "mlflow":
        from ray.air.integrations.mlflow import MLflowLoggerCallback

        uri = args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
        return [MLflowLoggerCallback(tracking_uri=uri, experiment_name=args.name,
                                     save_artifact=False)]
    if tracker == "wandb":
        from ray.air.integrations.wandb import WandbLoggerCallback

        return [WandbLoggerCallback(project=args.tracking_project or args.name,
                                    group=args.name, log_config=True)]
    return []
