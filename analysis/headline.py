"""The answer a sweep prints when it ends, read back from its experiment folder.

The numbers come from the same tables as ``python -m analysis report``, so the console and
the report never disagree. ``sparsenet`` may not import ``analysis``: the sweep scripts hand
:func:`finish_sweep` to ``sweep_main(..., after=...)``, which calls it once per finished
experiment folder.
"""

from __future__ import annotations

from pathlib import Path

from analysis.kinds.registry import kind_analysis
from analysis.loading import load_experiment
from analysis.tidy import tidy_frames, write_tidy


def headline_lines(exp_dir: str | Path, tolerance: float = 0.5, alpha: float = 0.05) -> list[str]:
    """The headline of the folder's kind (``analysis.kinds``), e.g. IMP: the
    accuracy-vs-weights-remaining table and the headline compression; noise: the hypothesis
    verdicts; continual: mean accuracy and forgetting per model."""
    results = load_experiment(exp_dir)
    frames = tidy_frames(results)
    kind = results.kinds[0]
    headline = kind_analysis(kind).headline
    if headline is None:
        raise ValueError(f"no headline for experiment kind {kind!r}: its KindAnalysis "
                         f"(analysis/kinds/{kind}.py) has none")
    return headline(results, frames, tolerance=tolerance, alpha=alpha)


def print_headline(exp_dir: str | Path) -> None:
    """The sweep's answer on the console; never fails the sweep (its results are safe, and
    the report can say more)."""
    try:
        lines = headline_lines(exp_dir)
    except Exception as err:  # noqa: BLE001
        lines = [f"(no headline: {type(err).__name__}: {err})"]
    print("\n".join(lines))


def finish_sweep(exp_dir: str | Path) -> None:
    """A finished experiment folder's end-of-sweep step (the ``after`` hook the sweep
    scripts hand to ``sweep_main``): its tidy CSVs written into it, then its headline."""
    write_tidy(exp_dir)
    print_headline(exp_dir)
