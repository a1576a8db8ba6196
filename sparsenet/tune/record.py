"""The experiment record, ``STORAGE/NAME/sparsenet_experiment.json``: what ran and how.

Analysis reads its ``kind`` and ``sweep``; ``--resume`` reads its ``argv`` to rebuild the
recorded grid and refuse flags that would not take effect (:mod:`sparsenet.tune.resume`).
The first run's record is kept; a resume only appends its start time to ``resumed``.
Fields (unchanged since the first sweeps, so older folders stay resumable): ``kind``,
``sweep`` (the script's file name), ``argv`` (the flags as given), ``trials``, ``axes``,
``started``, ``resumed``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from sparsenet.schema import EXPERIMENT_FILE
from sparsenet.storage import Location


def write_record(exp: Location, kind: str, axes: dict[str, Sequence[Any]],
                 argv: Sequence[str], n_trials: int) -> None:
    """Write the record through the storage's filesystem (a folder or an object)."""
    exp.fs.create_dir(exp.path, recursive=True)
    path = exp.child(EXPERIMENT_FILE)
    record = {"kind": kind, "sweep": Path(sys.argv[0]).name, "argv": list(argv),
              "trials": n_trials, "axes": {k: list(v) for k, v in axes.items()},
              "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if path.is_file():  # a resume keeps the first record and notes the new start
        old = json.loads(path.read_text())
        old.setdefault("resumed", []).append(record["started"])
        record = old
    path.write_text(json.dumps(record, indent=2, default=str))


def read_record(exp: Location) -> dict[str, Any] | None:
    """The record of an experiment folder, or None where there is none (or it is unreadable)."""
    path = exp.child(EXPERIMENT_FILE)
    try:
        if not path.is_file():
            return None
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
