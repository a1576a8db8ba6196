"""What every kind's tidy rows share: the id columns first, then the trial's configuration.

The per-kind builders (``analysis.kinds.*``) turn step rows into tidy rows; this is the part
they agree on, so a config column reads the same in every tidy frame.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from analysis import keys

ID_COLUMNS = ("exp_name", "trial_id", "status")


def is_list(value: Any) -> bool:
    """Lists are per-step payloads (matrix_row); config tuples are kept (hashable)."""
    return isinstance(value, (list, np.ndarray))


def carry_columns(history: pd.DataFrame, config_columns: Sequence[str] | None,
                  exclude: Sequence[str] = ()) -> list[str]:
    """Columns copied onto every tidy row: ids + config (or, unknown, every plain column)."""
    if config_columns is None:
        config_columns = [c for c in history.columns if c not in keys.TUNE_KEYS
                          and c not in exclude and keys.parse_noise_key(c) is None
                          and not history[c].map(is_list).any()]
    wanted = [*config_columns, *keys.ROW_ID_KEYS]
    cols = [c for c in ID_COLUMNS if c in history] + [
        c for c in wanted if c in history and c not in ID_COLUMNS and c not in exclude]
    return list(dict.fromkeys(cols))
