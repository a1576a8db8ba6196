"""The answer a sweep prints when it ends, read back from its experiment folder.

The numbers come from the same tables as ``python -m analysis report``, so the console and
the report never disagree. ``sparsenet`` may not import ``analysis``: the sweep scripts hand
:func:`finish_sweep` to ``sweep_main(..., after=...)``, which calls it once per finished
experiment folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from analysis import keys
from analysis import tables as T
from analysis.continual import continual_trials, running_means
from analysis.grouping import setting_columns
from analysis.hypothesis import hypothesis_summary, noise_hypothesis
from analysis.loading import load_experiment
from analysis.markdown import table
from analysis.tidy import tidy_frames, write_tidy


def _plain(text: str) -> str:
    return text.replace("**", "")


Headline = Callable[..., list[str]]
# Each kind's headline, registered next to its code with @headline(kind).
HEADLINES: dict[str, Headline] = {}


def headline(kind: str) -> Callable[[Headline], Headline]:
    """Register ``fn(results, frames, *, tolerance, alpha) -> lines`` for a kind declared in
    ``sparsenet.schema.EXPERIMENTS``."""
    keys.experiment_kind(kind)  # an undeclared kind fails at import, listing the known ones

    def register(fn: Headline) -> Headline:
        HEADLINES[kind] = fn
        return fn
    return register


def headline_lines(exp_dir: str | Path, tolerance: float = 0.5, alpha: float = 0.05) -> list[str]:
    """IMP: the accuracy-vs-weights-remaining table and the headline compression; noise:
    the hypothesis verdicts; continual: mean accuracy and forgetting per model."""
    results = load_experiment(exp_dir)
    frames = tidy_frames(results)
    kind = results.kinds[0]
    if kind not in HEADLINES:
        raise ValueError(f"no headline for experiment kind {kind!r}; "
                         f"known: {', '.join(HEADLINES)}")
    return HEADLINES[kind](results, frames, tolerance=tolerance, alpha=alpha)


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


@headline("imp")
def _imp(results, frames, *, tolerance: float, alpha: float) -> list[str]:
    imp = frames.get("imp")
    if imp is None or imp.empty or T.imp_metric(imp) is None:
        return ["lottery tickets: no round finished"]
    metric = T.imp_metric(imp)
    settings = setting_columns(imp, results.of_kind("imp").config_columns, [keys.TICKET])
    lines = [f"lottery tickets: {keys.IMP_METRIC_LABELS.get(metric, metric)}, mean ± std "
             f"over seeds (n)"]
    summary = T.imp_summary(imp, metric=metric, settings=settings)
    for label, frame in T.imp_display(summary, settings):
        if label:
            lines.append(label)
        lines += table(frame).rstrip("\n").splitlines()
    headline = T.imp_headline(imp, tolerance=tolerance, metric=metric, settings=settings)
    lines += [f"headline: {_plain(s)}" for s in T.headline_sentences(headline)]
    return lines


@headline("noise")
def _noise(results, frames, *, tolerance: float, alpha: float) -> list[str]:
    scores = frames.get("noise_scores")
    if scores is None or scores.empty:
        return ["noise: no network evaluated"]
    settings = setting_columns(scores, results.of_kind("noise").config_columns, keys.NOISE_AXES)
    tests = noise_hypothesis(scores, settings, alpha=alpha, resamples=2000)
    lines = ["noise: hypothesis 'weight sparsity alone improves noise robustness' "
             f"(paired, one-sided, alpha {alpha:g})"]
    if tests.empty:
        return lines + ["  no sparse network paired with a dense one"]
    lines += [f"  {s}" for s in hypothesis_summary(tests)]
    tested = tests[tests["verdict"] != "untestable"]
    lines += [f"  {text}" for text in tested["text"]]
    return lines


@headline("continual")
def _continual(results, frames, *, tolerance: float, alpha: float) -> list[str]:
    continual = frames.get("continual")
    if continual is None or continual.empty:
        return ["continual: no task finished"]
    sub = results.of_kind("continual")
    trials = continual_trials(continual, sub.history)
    settings = setting_columns(trials, sub.config_columns, T.CONTINUAL_AXES)
    lines = ["continual: mean accuracy over all tasks and forgetting, mean ± std over seeds"]
    for stream in ("permuted", "split"):
        mine = trials[trials["stream"] == stream] if "stream" in trials else trials.iloc[:0]
        if mine.empty:
            continue
        if stream == "permuted":
            displays = T.permuted_display(T.permuted_summary(mine, settings), settings)
        else:
            displays = T.split_display(T.split_summary(mine, running_means(continual), settings),
                                       settings)
        for label, frame in displays:
            keep = [c for c in frame.columns if not c.startswith("after task")
                    or c == frame.columns[-3]]  # split: the last running mean only
            lines.append(f"{stream}{': ' + label if label else ''}")
            lines += table(frame[keep]).rstrip("\n").splitlines()
    return lines
