"""Early stopping on validation accuracy, as one small object with its own checkpoint.

Patience counts epochs without a new best validation accuracy; the best epoch's snapshot
(whatever the caller asks to keep: the network, SI's running sums) is held so the task can
end on it. ``patience <= 0`` turns it off (``update`` never stops, keeps nothing).
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable


class EarlyStopping:
    def __init__(self, patience: int):
        self.patience = int(patience)
        self.reset()

    def reset(self) -> None:
        """A new task: no best yet."""
        self.best_val = -math.inf
        self.since_best = 0
        self.best_model: dict | None = None
        self.best_si: dict | None = None

    def update(self, val_acc: float,
               snapshot: Callable[[], tuple[dict, dict | None]]) -> bool:
        """Record one epoch's validation accuracy; True when patience has run out.
        ``snapshot()`` -> (model state, SI running state or None), taken on a new best."""
        if self.patience <= 0:
            return False
        if val_acc > self.best_val:
            self.best_val, self.since_best = val_acc, 0
            self.best_model, self.best_si = snapshot()
        else:
            self.since_best += 1
        return self.since_best >= self.patience

    def state_dict(self) -> dict[str, Any]:
        """Keys as continual checkpoints have always stored them (older ones still load)."""
        return {"best_val": self.best_val, "since_best": self.since_best,
                "best_model": copy.deepcopy(self.best_model),
                "best_si": copy.deepcopy(self.best_si)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best_val, self.since_best = float(state["best_val"]), int(state["since_best"])
        self.best_model = state["best_model"]
        self.best_si = state["best_si"]
