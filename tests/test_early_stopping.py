"""Early stopping's patience, its best snapshot and its checkpoint."""

import math

from sparsenet.experiments.early_stopping import EarlyStopping


def test_patience_counts_epochs_without_a_new_best_and_keeps_the_best_snapshot():
    stop = EarlyStopping(patience=2)
    taken = []

    def snap(tag):
        return lambda: (taken.append(tag) or {"w": tag}, None)

    assert [stop.update(acc, snap(i)) for i, acc in enumerate([0.5, 0.7, 0.6, 0.7])] == [
        False, False, False, True]  # a tie is no improvement
    assert taken == [0, 1] and stop.best_model == {"w": 1} and stop.best_val == 0.7
    restored = EarlyStopping(patience=2)
    restored.load_state_dict(stop.state_dict())
    assert (restored.best_val, restored.since_best, restored.best_model) == (0.7, 2, {"w": 1})
    stop.reset()
    assert stop.best_val == -math.inf and stop.best_model is None


def test_patience_zero_is_off():
    off = EarlyStopping(patience=0)
    assert not any(off.update(0.1, lambda: ({}, None)) for _ in range(5))
    assert off.best_model is None
