"""What a sweep prints while it runs: one progress display and one line per finished trial.

Ray Tune's own periodic status tables (kept under ``--verbose``) run to hundreds of lines for
a one-minute sweep and never say how it went. This Tune callback runs in the driver and shows
trials finished / running / errored with elapsed and estimated remaining time (a ``rich``
progress bar on a terminal; the same counts head every trial line, so logs have them too)
and, as each trial ends, its key result.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Sequence

from ray.tune import Callback

from sparsenet.experiments.common import finite, percent
from sparsenet.schema import EXPERIMENTS

# One live progress bar per process: experiments run side by side print plain lines (two
# rich displays at once would fail).
_BAR = threading.Lock()


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def key_result(kind: str, row: dict[str, Any]) -> str:
    """The one thing to know about a finished trial, from its last result row: its
    experiment class's ``summary(row)`` (a kind without one: the test accuracy)."""
    if row.get("stopped_reason"):
        return f"stopped: {row['stopped_reason']}"
    entry = EXPERIMENTS.get(kind)
    summary = getattr(entry.classes()[1], "summary", None) if entry is not None else None
    if summary is not None:
        return summary(row)
    acc = row.get("test_acc")
    return f"test acc {percent(acc)}" if finite(acc) else "done"


class ConsoleProgress(Callback):
    """Trial counts, elapsed / remaining time, and a line per finished or failed trial."""

    def __init__(self, kind: str, total: int, axes: Sequence[str] = (), *,
                 bar: bool | None = None, name: str | None = None):
        self.kind, self.total, self.axes = kind, total, list(axes)
        self.bar = bar  # None: a bar only on a terminal
        self.name = name  # heads every line when several experiments run side by side
        self._reset()

    def _reset(self) -> None:
        self.start = time.monotonic()
        self.done: set[str] = set()
        self.errored: set[str] = set()
        self.running: set[str] = set()
        self._progress = None
        self._task = None

    def __getstate__(self) -> dict[str, Any]:  # Tune pickles its callbacks with the run
        return {"kind": self.kind, "total": self.total, "axes": self.axes, "bar": self.bar,
                "name": self.name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({"name": None, **state})  # older runs pickled no name
        self._reset()

    # -- Tune's hooks ---------------------------------------------------------------------
    def setup(self, **info: Any) -> None:
        self._reset()
        interactive = sys.stdout.isatty() if self.bar is None else self.bar
        if interactive and _BAR.acquire(blocking=False):
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self._progress = Progress(
                TextColumn("trials"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[state]}"), TimeElapsedColumn(),
                TextColumn("left"), TimeRemainingColumn(), transient=True)
            self._task = self._progress.add_task("trials", total=self.total, state="")
            self._progress.start()

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        self.running.add(trial.trial_id)
        self._refresh()

    def on_trial_restore(self, iteration, trials, trial, **info) -> None:
        self.running.add(trial.trial_id)

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self.running.discard(trial.trial_id)
        self.done.add(trial.trial_id)
        self._line(trial, key_result(self.kind, dict(trial.last_result or {})))

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self.running.discard(trial.trial_id)
        self.errored.add(trial.trial_id)
        error = getattr(trial, "error_file", None)
        self._line(trial, "ERROR" + (f" (see {error})" if error else ""))

    def on_experiment_end(self, trials, **info) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            _BAR.release()

    # -- output -----------------------------------------------------------------------------
    def counts(self) -> str:
        ended = len(self.done) + len(self.errored)
        elapsed = time.monotonic() - self.start
        text = (f"{ended}/{self.total} done, {len(self.running)} running, "
                f"{len(self.errored)} errored, {_clock(elapsed)} elapsed")
        if 0 < ended < self.total:
            text += f", ~{_clock(elapsed * (self.total - ended) / ended)} left"
        return text

    def _label(self, trial) -> str:
        config = trial.config or {}
        parts = [f"{key}={config[key]}" for key in self.axes if key in config]
        name = " ".join(parts) or trial.trial_id
        return name if len(name) <= 70 else name[:67] + "..."

    def _refresh(self) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=len(self.done) + len(self.errored),
                                  state=f"{len(self.running)} running, "
                                        f"{len(self.errored)} errored")

    def _line(self, trial, what: str) -> None:
        self._refresh()
        head = f"{self.name} " if self.name else ""
        line = f"[{head}{self.counts()}] {self._label(trial)}: {what}"
        if self._progress is not None:
            self._progress.console.print(line, markup=False, highlight=False)
        else:
            print(line, flush=True)
