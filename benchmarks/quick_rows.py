"""Same seeds, same numbers: the ``--quick`` run of every sweep gives the same result rows.

A refactor that must not change results is checked by running the four sweeps with
``--quick`` (tiny budgets, offline datasets, fixed seeds) on two checkouts and comparing
the tidy CSVs their end step writes (``imp.csv``, ``noise.csv``, ``continual.csv``, ...), row
by row. Only columns that differ between any two runs are left out: wall-clock times,
trial ids, paths and folders (``--ignore`` adds patterns). Rows are compared in a canonical
order, values as written (so a last-digit change of a float is a difference).

    python benchmarks/quick_rows.py run OUT                # this checkout's rows into OUT
    python benchmarks/quick_rows.py compare OUT_A OUT_B    # exit 1 on a difference
    python benchmarks/quick_rows.py revs --rev-a main --rev-b HEAD [--keep DIR]

``revs`` checks both revisions out with ``git worktree add`` into a temporary folder, runs
each one's sweeps with that checkout first on PYTHONPATH (the interpreter is this one's),
compares, and removes the worktrees. Sweeps run under ``nice -n 19`` on a local Ray
cluster of ``--num-cpus`` CPUs (default 1: trials one at a time), which each sweep starts
and stops itself; RAY_AUTH_MODE=disabled. Exit codes: 0 same rows, 1 a difference (the
first differing rows are printed), 2 bad input or a sweep that failed.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
# Columns that differ between two runs of the same code: times, trial ids, paths.
IGNORED = (r"time", r"^date$", r"timestamp", r"duration", r"trial_id", r"path", r"dir$",
           r"^logdir$", r"hostname", r"node_ip", r"^pid$", r"exp_name", r"checkpoint")
SHOWN_ROWS = 5


@dataclass(frozen=True)
class QuickSweep:
    """One sweep's quick run: its script, experiment name and extra arguments."""

    script: str
    name: str
    extra: tuple[str, ...] = ()


def quick_sweeps(storage: Path) -> tuple[QuickSweep, ...]:
    """The four sweeps; the noise sweep reads the IMP sweep's tickets and trains controls."""
    return (QuickSweep("imp_sparsity.py", "imp_sparsity"),
            QuickSweep("noise_robustness.py", "noise_robustness",
                       ("--imp-results", str(storage / "imp_sparsity"), "--controls")),
            QuickSweep("dendrites_pmnist.py", "dendrites_pmnist"),
            QuickSweep("dendrites_split_cifar.py", "dendrites_split_cifar"))


class CheckError(Exception):
    """Bad input or a failed run: one line, exit 2."""


def run_sweeps(checkout: Path, out: Path, *, num_cpus: int, python: str) -> None:
    """Every quick sweep of ``checkout`` into ``out`` (its end step writes the tidy CSVs)."""
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise CheckError(f"{out} is not empty: give a new folder for the rows")
    env = {**os.environ, "PYTHONPATH": str(checkout), "RAY_AUTH_MODE": "disabled"}
    for sweep in quick_sweeps(out):
        command = ["nice", "-n", "19", python, str(checkout / "sweeps" / sweep.script),
                   "--quick", "--storage", str(out), "--name", sweep.name,
                   "--num-cpus", str(num_cpus), *sweep.extra]
        print(f"[{checkout.name}] {sweep.script} --quick ...", flush=True)
        log = out / f"{sweep.name}.log"
        with log.open("w") as handle:
            done = subprocess.run(command, cwd=checkout, env=env, stdout=handle,
                                  stderr=subprocess.STDOUT)
        if done.returncode != 0:
            raise CheckError(f"{sweep.script} --quick failed in {checkout} "
                             f"(exit {done.returncode}); its output: {log}")


def tidy_files(out: Path) -> dict[str, Path]:
    """The tidy CSVs of a rows folder, by path relative to it (logs and Ray's files aside)."""
    found = {}
    for path in sorted(out.glob("*/*.csv")):
        if path.name != "progress.csv":
            found[str(path.relative_to(out))] = path
    return found


def ignored(column: str, extra: Sequence[str]) -> bool:
    return any(re.search(pattern, column) for pattern in (*IGNORED, *extra))


def read_text(path: Path) -> pd.DataFrame:
    """A CSV as the text it holds (an empty cell is "", never NaN, which equals nothing)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def canonical(frame: pd.DataFrame, extra: Sequence[str]) -> pd.DataFrame:
    """The frame without run-specific columns, rows sorted on every column."""
    kept = sorted(c for c in frame.columns if not ignored(c, extra))
    return frame[kept].sort_values(kept, kind="stable").reset_index(drop=True)


def compare_rows(a: Path, b: Path, *, extra: Sequence[str] = ()) -> list[str]:
    """Differences between two rows folders, one message each (empty: the same rows)."""
    files_a, files_b = tidy_files(a), tidy_files(b)
    if not files_a and not files_b:
        raise CheckError(f"no tidy CSVs under {a} or {b} (run `quick_rows.py run` first)")
    problems = [f"{name}: only in {where}"
                for name, where in [*((n, a) for n in files_a.keys() - files_b.keys()),
                                    *((n, b) for n in files_b.keys() - files_a.keys())]]
    for name in sorted(files_a.keys() & files_b.keys()):
        fa = canonical(read_text(files_a[name]), extra)
        fb = canonical(read_text(files_b[name]), extra)
        if list(fa.columns) != list(fb.columns):
            only = sorted(set(fa.columns) ^ set(fb.columns))
            problems.append(f"{name}: columns differ: {only}")
            continue
        if len(fa) != len(fb):
            problems.append(f"{name}: {len(fa)} rows vs {len(fb)}")
            continue
        differ = (fa != fb).any(axis=1)
        if differ.any():
            rows = differ[differ].index[:SHOWN_ROWS]
            columns = [c for c in fa.columns if (fa.loc[rows, c] != fb.loc[rows, c]).any()]
            shown = pd.concat({"a": fa.loc[rows, columns], "b": fb.loc[rows, columns]}, axis=1)
            problems.append(f"{name}: {int(differ.sum())} of {len(fa)} rows differ, first "
                            f"ones (columns that differ):\n{shown.to_string()}")
        else:
            print(f"same: {name} ({len(fa)} rows, {len(fa.columns)} columns compared)")
    return problems


def report(problems: list[str]) -> int:
    for problem in problems:
        print(f"DIFFERENT: {problem}")
    print("result rows differ" if problems else "result rows identical")
    return 1 if problems else 0


def worktree(rev: str, where: Path) -> Path:
    done = subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where),
                           rev], capture_output=True, text=True)
    if done.returncode != 0:
        raise CheckError(f"git worktree add {rev} failed: {done.stderr.strip().splitlines()[-1]}")
    return where


def compare_revisions(rev_a: str, rev_b: str, keep: Path | None, *, num_cpus: int,
                      python: str, extra: Sequence[str]) -> int:
    base = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="quick_rows_"))
    base.mkdir(parents=True, exist_ok=True)
    trees = []
    try:
        for label, rev in (("a", rev_a), ("b", rev_b)):
            tree = worktree(rev, base / f"tree_{label}")
            trees.append(tree)
            run_sweeps(tree, base / f"rows_{label}", num_cpus=num_cpus, python=python)
        print(f"rows: {base / 'rows_a'} ({rev_a}) vs {base / 'rows_b'} ({rev_b})")
        return report(compare_rows(base / "rows_a", base / "rows_b", extra=extra))
    finally:
        for tree in trees:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(tree)], capture_output=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the quick sweeps of this checkout into OUT")
    run.add_argument("out", type=Path)
    cmp = sub.add_parser("compare", help="compare two rows folders")
    cmp.add_argument("a", type=Path)
    cmp.add_argument("b", type=Path)
    revs = sub.add_parser("revs", help="run and compare two git revisions")
    revs.add_argument("--rev-a", required=True)
    revs.add_argument("--rev-b", required=True)
    revs.add_argument("--keep", type=Path, default=None,
                      help="folder for the rows (default: a new temporary one)")
    for p in (run, revs):
        p.add_argument("--num-cpus", type=int, default=1, help="local Ray cluster's CPUs")
        p.add_argument("--python", default=sys.executable,
                       help="interpreter (default: this one)")
    for p in (cmp, revs):
        p.add_argument("--ignore", nargs="+", default=(), metavar="REGEX",
                       help="more column patterns to leave out")
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            run_sweeps(ROOT, args.out, num_cpus=args.num_cpus, python=args.python)
            print(f"rows in {args.out}: {', '.join(tidy_files(args.out))}")
            return 0
        if args.command == "compare":
            for folder in (args.a, args.b):
                if not folder.is_dir():
                    raise CheckError(f"{folder} is not a folder")
            return report(compare_rows(args.a, args.b, extra=args.ignore))
        return compare_revisions(args.rev_a, args.rev_b, args.keep, num_cpus=args.num_cpus,
                                 python=args.python, extra=args.ignore)
    except CheckError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
