"""Experiment folders (Tune's layout + sparsenet_experiment.json) -> tidy pandas frames.

Every trial folder found is kept: errored and unfinished trials are marked in ``status``,
never dropped, so a report on a running sweep says what it is missing.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from analysis import keys

FINISHED = "finished"
ERROR = "error"
UNFINISHED = "running/unfinished"
STATUSES = (FINISHED, ERROR, UNFINISHED)

_TRIAL_ID = re.compile(r"_([0-9a-f]{5}_\d{5})(?:_|$)")


TRIAL_COLUMNS = ("exp_name", "kind", "trial_id", "status", "trial_dir", "steps",
                 "training_iteration", "time_total_s", "failures", "error", "stopped_reason",
                 "unreadable_lines")


class BadInput(ValueError):
    """Input the report cannot use as given; the message is one line (the CLI exits 2)."""


class NotAnExperiment(BadInput):
    """The folder given is not a sparsenet experiment; the message is one line."""


@dataclass
class Results:
    """All steps (``history``) and one row per trial (``trials``) of some experiments."""

    history: pd.DataFrame
    trials: pd.DataFrame
    experiments: pd.DataFrame  # exp_name, kind, path, sweep, trials
    config_columns: list[str] = field(default_factory=list)
    # tidy frames read ready-made (a report folder given as a source), by frame name; they
    # hold their own exp_name, and those experiments have no rows in ``history``
    tidy: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def kinds(self) -> list[str]:
        return [k for k in keys.KINDS if k in set(self.experiments["kind"])]

    def of_kind(self, kind: str) -> "Results":
        """The subset of one kind, with only the config columns its trials have."""
        exps = self.experiments[self.experiments["kind"] == kind]
        trials = self.trials[self.trials["kind"] == kind]
        history = self.history[self.history["kind"] == kind] if len(self.history) else self.history
        cols = [c for c in self.config_columns if c in trials and trials[c].notna().any()]
        names = set(keys.experiment_kind(kind).tidy_frames)
        return Results(_restore_ints(history.dropna(axis=1, how="all").reset_index(drop=True)),
                       _restore_ints(trials.dropna(axis=1, how="all").reset_index(drop=True)),
                       exps.reset_index(drop=True), cols,
                       {k: f for k, f in self.tidy.items() if k in names})

    def finished_only(self) -> "Results":
        """The same results with only the steps / tidy rows of finished trials."""
        def keep(frame: pd.DataFrame) -> pd.DataFrame:
            if frame.empty or "status" not in frame:
                return frame
            return frame[frame["status"] == FINISHED].reset_index(drop=True)
        return Results(keep(self.history), self.trials, self.experiments, self.config_columns,
                       {k: keep(f) for k, f in self.tidy.items()})


def _restore_ints(frame: pd.DataFrame) -> pd.DataFrame:
    """Integer columns that became float only because other kinds lacked them (concat)."""
    out = frame.copy()
    for col in out.columns:
        values = out[col]
        if values.dtype.kind == "f" and values.notna().all() and len(values) \
                and (values == values.round()).all():
            out[col] = values.astype("int64")
    return out


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> "a/b" keys (Tune's delimiter), so nested and flat reports read alike."""
    out: dict[str, Any] = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "/"))
        else:
            out[name] = value
    return out


def read_result_rows(path: Path) -> list[dict[str, Any]]:
    """JSON lines; a half-written last line (a sweep still writing) is skipped."""
    return read_result_lines(path)[0]


def read_result_lines(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    """(rows, numbers of the lines that are not a JSON object): unreadable lines are skipped
    but counted, so the report can name them (a damaged file never moves a number silently)."""
    rows: list[dict[str, Any]] = []
    unreadable: list[int] = []
    if not path.exists():
        return rows, unreadable
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            unreadable.append(number)
            continue
        if not isinstance(row, dict):
            unreadable.append(number)
            continue
        row.pop(keys.ROW_CONFIG_KEY, None)
        rows.append(_flatten(row))
    return _dedupe_iterations(rows), unreadable


def line_ranges(numbers: Iterable[int]) -> str:
    """[3, 4, 5, 9] -> "3-5, 9"."""
    out: list[str] = []
    for n in sorted(set(numbers)):
        if out and out[-1].split("-")[-1] == str(n - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)


def _dedupe_iterations(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A restored trial re-reports iterations after its checkpoint: keep the latest of each."""
    if not rows or any("training_iteration" not in r for r in rows):
        return rows
    latest = {row["training_iteration"]: row for row in rows}  # later lines win
    return sorted(latest.values(), key=lambda r: r["training_iteration"])


def _trial_id(folder: Path, rows: list[dict[str, Any]]) -> str:
    for row in rows:
        if row.get("trial_id"):
            return str(row["trial_id"])
    match = _TRIAL_ID.search(folder.name)
    return match.group(1) if match else folder.name


def read_trial(folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """(config, rows, summary) of one Tune trial folder."""
    params = folder / keys.PARAMS_FILE
    try:
        config = _flatten(json.loads(params.read_text())) if params.exists() else {}
    except json.JSONDecodeError:
        config = {}
    # list-valued config (e.g. noise levels) becomes a tuple: hashable, so it can be grouped
    config = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
    result_file = folder / keys.RESULT_FILE
    rows, unreadable = read_result_lines(result_file)
    error_file = folder / keys.ERROR_FILE
    error_text = error_file.read_text(errors="replace") if error_file.exists() else ""
    failures = error_text.count("Failure #") or (1 if error_text.strip() else 0)
    done = bool(rows) and bool(rows[-1].get("done"))
    # Tune appends to error.txt on every failure and may restart the trial (FailureConfig):
    # finished after a failure is finished; reporting again after it is still running.
    retrying = bool(error_text) and result_file.exists() and \
        result_file.stat().st_mtime > error_file.stat().st_mtime
    status = FINISHED if done else (ERROR if error_text and not retrying else UNFINISHED)
    last = rows[-1] if rows else {}
    summary = {
        "trial_id": _trial_id(folder, rows), "trial_dir": folder.name, "status": status,
        "steps": len(rows), "training_iteration": last.get("training_iteration", 0),
        "time_total_s": last.get("time_total_s"), "failures": failures,
        "error": _error_line(error_text), "stopped_reason": last.get("stopped_reason"),
        "unreadable_lines": line_ranges(unreadable) or None,
    }
    return config, rows, summary


def _error_line(text: str) -> str | None:
    """The most telling line of a Tune error file: its last non-empty one."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:300] if lines else None


_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_MIRROR_FRESH_S = 5.0  # a remote folder read twice within this time is read once
_mirrors: dict[str, tuple[float, Path]] = {}


def is_remote(path: str | Path) -> bool:
    """``s3://``, ``gs://`` and any other URI but ``file://``."""
    return bool(_URI.match(str(path))) and not str(path).startswith("file://")


def _analysis_file(relative: str) -> bool:
    """What the loader reads: top-level files (the record, tidy CSVs) and each trial's
    params/result/error files; never checkpoints or tickets."""
    parts = relative.split("/")
    return len(parts) == 1 or (len(parts) == 2 and parts[1] in (
        keys.PARAMS_FILE, keys.RESULT_FILE, keys.ERROR_FILE))


def local_copy(uri: str) -> Path:
    """A local mirror of the files analysis reads from an experiment folder in object storage
    (any URI pyarrow.fs serves: s3://, gs://, ...), in the temp folder; refreshed on each call
    (a running sweep keeps writing), at most every few seconds."""
    import hashlib
    import tempfile
    import time

    import pyarrow.fs as pafs

    uri = str(uri)
    cached = _mirrors.get(uri)
    if cached and time.monotonic() - cached[0] < _MIRROR_FRESH_S:
        return cached[1]
    try:
        fs, root = pafs.FileSystem.from_uri(uri)
        infos = fs.get_file_info(pafs.FileSelector(root, allow_not_found=True, recursive=True))
    except Exception as err:  # noqa: BLE001 - unknown scheme, no credentials, no server
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise NotAnExperiment(f"{uri}: cannot read this storage URI ({first})") from None
    base = uri.split("?", 1)[0].rstrip("/")
    parent, _, name = base.rpartition("/")
    local = (Path(tempfile.gettempdir()) / "sparsenet-remote"
             / hashlib.sha1(base.encode()).hexdigest()[:12] / Path(parent).name / name)
    local.mkdir(parents=True, exist_ok=True)
    prefix = root.rstrip("/") + "/"
    wanted = {info.path[len(prefix):] for info in infos if info.type == pafs.FileType.File
              and _analysis_file(info.path[len(prefix):])}
    _drop_stale(local, wanted)
    for info in infos:
        relative = info.path[len(prefix):]
        if relative not in wanted:
            continue
        target = local / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        pafs.copy_files(info.path, str(target), source_filesystem=fs,
                        destination_filesystem=pafs.LocalFileSystem())
        if info.mtime is not None:  # read_trial compares error.txt's and result.json's times
            stamp = info.mtime.timestamp()
            os.utime(target, (stamp, stamp))
    _mirrors[uri] = (time.monotonic(), local)
    return local


def _drop_stale(local: Path, wanted: set[str]) -> None:
    """Remove what the mirror holds but the remote folder no longer does: the mirror
    outlives the process (same URI, same folder), and a trial folder deleted or re-created
    remotely would otherwise be read as a second trial of the same seed."""
    for path in sorted(local.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        relative = path.relative_to(local).as_posix()
        if path.is_file() and relative not in wanted:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def experiment_meta(path: str | Path) -> dict[str, Any]:
    """The sparsenet_experiment.json record; :class:`NotAnExperiment` if there is none."""
    path = local_copy(str(path)) if is_remote(path) else Path(path)
    meta_file = path / keys.EXPERIMENT_FILE
    if not path.is_dir():
        raise NotAnExperiment(f"{path} is not a folder")
    if not meta_file.exists():
        inside = sorted(p.parent.name for p in path.glob(f"*/{keys.EXPERIMENT_FILE}"))
        hint = f"; it holds experiments: {', '.join(inside)}" if inside else ""
        raise NotAnExperiment(f"{path} is not a sparsenet experiment folder "
                              f"(no {keys.EXPERIMENT_FILE}){hint}")
    try:
        meta = json.loads(meta_file.read_text())
    except json.JSONDecodeError as err:
        raise NotAnExperiment(f"{meta_file} is not valid JSON: {err}") from None
    kind = meta.get("kind") if isinstance(meta, dict) else None
    if kind not in keys.KINDS:
        raise NotAnExperiment(f"{meta_file}: unknown kind {kind!r}; known: {', '.join(keys.KINDS)}")
    return meta


def trial_folders(path: Path) -> list[Path]:
    """Subfolders that are Tune trials (they hold params.json or result.json)."""
    return sorted(p for p in Path(path).iterdir() if p.is_dir() and
                  ((p / keys.PARAMS_FILE).exists() or (p / keys.RESULT_FILE).exists()))


def load_experiment(path: str | Path) -> Results:
    """One experiment folder, local or in object storage (a URI) -> :class:`Results`
    (raises :class:`NotAnExperiment`)."""
    path = local_copy(str(path)) if is_remote(path) else Path(path)
    meta = experiment_meta(path)
    exp_name, kind = path.name, meta["kind"]
    trials, history, config_cols = [], [], {}
    for folder in trial_folders(path):
        config, rows, summary = read_trial(folder)
        config_cols.update(dict.fromkeys(config))
        base = {"exp_name": exp_name, "kind": kind, "trial_id": summary["trial_id"],
                "status": summary["status"]}
        trials.append({**base, **summary, **config})
        for row in rows:
            # the row's own values win; config columns fill in what a row does not report
            history.append({**base, **config, **row, "trial_id": summary["trial_id"]})
    experiments = pd.DataFrame([{"exp_name": exp_name, "kind": kind, "path": str(path.resolve()),
                                 "sweep": meta.get("sweep"), "trials": len(trials)}])
    return Results(_frame(history, ["exp_name", "kind", "trial_id", "status"]),
                   _frame(trials, list(TRIAL_COLUMNS)),
                   experiments, list(config_cols))


def _frame(records: list[dict[str, Any]], first: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame(columns=first)
    return frame[first + [c for c in frame.columns if c not in first]]


def load_experiments(paths: Iterable[str | Path]) -> Results:
    """Several folders (any kinds) -> one :class:`Results`."""
    parts = [load_experiment(p) for p in paths]
    if not parts:
        raise NotAnExperiment("no experiment folders given")
    names = [p.experiments["exp_name"][0] for p in parts]
    dupes = {n for n in names if names.count(n) > 1}
    for part in parts:  # two folders with the same name (different roots) stay apart
        name = part.experiments["exp_name"][0]
        if name in dupes:
            label = f"{Path(part.experiments['path'][0]).parent.name}/{name}"
            for frame in (part.history, part.trials, part.experiments):
                if len(frame):
                    frame["exp_name"] = label
    config_cols = list(dict.fromkeys(c for p in parts for c in p.config_columns))
    nonempty = [p.history for p in parts if len(p.history)]
    history = pd.concat(nonempty, ignore_index=True) if nonempty else parts[0].history
    return Results(history, pd.concat([p.trials for p in parts], ignore_index=True),
                   pd.concat([p.experiments for p in parts], ignore_index=True), config_cols)
