"""``report.md`` + CSVs + figures for any mix of sources (experiment folders, finished or
not, and report folders: ``analysis.sources``)."""

from __future__ import annotations

import sys

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from analysis import claims as C
from analysis import keys
from analysis import tables as T
from analysis.continual import continual_trials, running_means
from analysis.contrasts import contrasts_display, protocol_contrasts
from analysis.figures import (imp_figure, matrix_figure, noise_figure, running_mean_figure,
                              save_figure)
from analysis.grouping import setting_columns
from analysis.hparams import arm_hyperparameters, search_records
from analysis.hypothesis import format_p, hypothesis_summary, noise_hypothesis
from analysis.integrity import trial_warnings
from analysis.loading import FINISHED, STATUSES, UNFINISHED, Results
from analysis.markdown import percent, table
from analysis.rules import VerdictRules

A_VERSION = C.A.VERSION
from analysis.sources import load_sources, report_tidy_file
from analysis.tidy import tidy_frames

HEADINGS = {
    "trials": "Trials",
    "claims": "Claims: the paper vs sparsenet",
    "imp": "Lottery tickets",
    "noise": "Noise robustness",
    "hypothesis": "Hypothesis test: weight sparsity alone improves noise robustness",
    "permuted": "Permuted tasks",
    "split": "Split tasks",
}


# Each kind's section(s) of the report, registered next to their code with @section(kind);
# a kind without one is reported by its trials and claims only.
SECTIONS: dict[str, Callable[..., None]] = {}


def section(kind: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``fn(out, results, frames, *, tolerance, alpha, resamples)`` for a kind
    declared in ``sparsenet.schema.EXPERIMENTS``."""
    keys.experiment_kind(kind)  # an undeclared kind fails at import, listing the known ones

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        SECTIONS[kind] = fn
        return fn
    return register


@dataclass
class _Out:
    """Collects what a report writes: Markdown lines, CSVs and figures."""

    root: Path
    pdf: bool = False
    lines: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def csv(self, frame: pd.DataFrame, name: str) -> None:
        path = self.root / f"{name}.csv"
        frame.to_csv(path, index=False)
        self.files.append(path)

    def figure(self, fig, name: str, caption: str) -> None:
        if fig is None:
            return
        paths = save_figure(fig, self.root / name, pdf=self.pdf)
        self.files.extend(paths)
        self.add(f"![{caption}]({paths[0].name})", "")

    def tables(self, displays: list[tuple[str, pd.DataFrame]], level: str = "####") -> None:
        for label, frame in displays:
            if label:
                self.add(f"{level} {label}", "")
            self.add(table(frame))


def build_report(paths: Sequence[str | Path], out: str | Path, *, pdf: bool = False,
                 rules: VerdictRules | None = None, finished_only: bool = False,
                 resamples: int = 10_000) -> Path:
    """Read the sources, write OUT/report.md with every table that applies; return it.

    Damaged or partial trials are named, one line each, on stderr and in the Trials section.
    """
    rules = rules or VerdictRules()
    results = load_sources(paths)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    o = _Out(out_dir, pdf=pdf)
    o.add("# sparsenet report", "")
    warnings = _warn(results, tidy_frames(results))
    _trials_section(o, results, finished_only, warnings)
    if finished_only:
        results = results.finished_only()
    frames = tidy_frames(results)
    for name, frame in frames.items():
        o.csv(frame, report_tidy_file(name)[:-len(".csv")])
    _claims_section(o, claims_frame(results, frames, rules=rules, resamples=resamples), rules)
    for kind in results.kinds:  # in sparsenet.schema.EXPERIMENTS order
        if kind in SECTIONS:
            SECTIONS[kind](o, results, frames, tolerance=rules.margin_points, alpha=rules.alpha,
                           resamples=resamples)
    report = out_dir / "report.md"
    report.write_text("\n".join(o.lines).rstrip() + "\n")
    return report


def claims_frame(results: Results, frames: dict[str, pd.DataFrame], *,
                 rules: VerdictRules | None = None, resamples: int = 10_000) -> pd.DataFrame:
    """The claims table (analysis.claims) from loaded results and their tidy frames."""
    empty = pd.DataFrame()
    imp, scores = frames.get("imp", empty), frames.get("noise_scores", empty)
    continual = frames.get("continual", empty)
    imp_settings = _settings(imp, results, "imp", [keys.TICKET]) if "imp" in results.kinds \
        else []
    noise_settings = _settings(frames.get("noise", empty), results, "noise", keys.NOISE_AXES) \
        if "noise" in results.kinds else []
    trials, cont_settings = empty, []
    if "continual" in results.kinds and len(continual):
        sub = results.of_kind("continual")
        trials = continual_trials(continual, sub.history)
        cont_settings = setting_columns(trials, sub.config_columns, T.CONTINUAL_AXES) \
            if len(trials) else []
    return C.claims_table(imp, scores, trials, imp_settings=imp_settings,
                          noise_settings=noise_settings, continual_settings=cont_settings,
                          rules=rules or VerdictRules(), resamples=resamples)


def readme_table(paths: Sequence[str | Path], *, rules: VerdictRules | None = None,
                 finished_only: bool = False, resamples: int = 10_000) -> str:
    """The README's claims table (Markdown): headline rows only, with the command that made it.
    Damaged or partial trials are named on stderr."""
    results = load_sources(paths)
    _warn(results, tidy_frames(results))
    if finished_only:
        results = results.finished_only()
    rules = rules or VerdictRules()
    claims = claims_frame(results, tidy_frames(results), rules=rules, resamples=resamples)
    view = C.display(claims, headline_only=True, rules=rules).drop(columns=["test"])
    names = " ".join(map(str, paths))
    return (table(view) + f"\n_Generated by `python -m analysis readme-table {names}`; rules, "
            f"tests and every row: the Claims section of `python -m analysis report` "
            f"(claims.csv); anchors version {A_VERSION}._\n")


def _claims_section(o: _Out, claims: pd.DataFrame, rules: VerdictRules) -> None:
    o.add(f"## {HEADINGS['claims']}", "")
    o.csv(claims, "claims")
    o.add(f"Each of the paper's claims, judged from these results by the rules below "
          f"(`analysis/rules.py`, docs/verdicts.md): the published value and its source, "
          f"sparsenet's mean difference over paired seeds with its two-sided {rules.pct} "
          f"t-interval, the one-sided {rules.pct} bound of a one-sided test, and n; the test "
          f"and its p-value (alpha = {rules.alpha:g}, claim 1 margin {rules.margin_points:g} "
          f"points, claim 2 margin {100 * rules.noise_margin:g}% of dense, claim 3 equivalence "
          f"margin +-{rules.equivalence_margin_points:g} points). Anchors version {A_VERSION} "
          f"(`analysis/anchors.py`); every row with its rule is in `claims.csv`.", "")
    o.add(table(C.display(claims, rules=rules)))
    o.add("Rules:", "")
    o.add(*(f"- {line}" for line in rules.statements()), "")


def _warn(results: Results, frames: dict[str, pd.DataFrame]) -> list[str]:
    """Damaged or partial trials (analysis.integrity), each printed as one stderr line."""
    lines = trial_warnings(results, frames)
    for line in lines:
        print(f"warning: {line}", file=sys.stderr)
    return lines


def _trials_section(o: _Out, results: Results, finished_only: bool,
                    warnings: Sequence[str] = ()) -> None:
    o.add(f"## {HEADINGS['trials']}", "")
    trials = results.trials
    counts = []
    for exp in results.experiments.to_dict("records"):
        mine = trials[trials["exp_name"] == exp["exp_name"]]
        row = {"experiment": exp["exp_name"], "kind": exp["kind"], "sweep": exp["sweep"],
               "trials": len(mine)}
        row.update({s: int((mine["status"] == s).sum()) for s in STATUSES})
        row["source"] = f"{exp.get('source', exp['path'])} ({exp.get('source_kind', '')})"
        counts.append(row)
    o.add(table(pd.DataFrame(counts)))
    if warnings:
        o.add(f"{len(warnings)} trial(s) are damaged or partial; the rounds and lines named "
              f"are missing from every table and claim below (per-round seed counts: n):", "")
        o.add(*(f"- {line}" for line in warnings), "")
    o.csv(trials, "trials")
    cols = [c for c in ("exp_name", "trial_id", "status", "steps", "failures", "error",
                        "stopped_reason", "seed") if c in trials]
    odd = trials[trials["status"] != FINISHED]
    if len(odd):
        use = "are left out (--finished-only)" if finished_only else \
            "are included in the tables below"
        o.add(f"{len(odd)} trial(s) did not finish; the steps they completed {use}:", "")
        o.add(table(odd[cols]))
    stopped = trials[(trials["status"] == FINISHED) & trials["stopped_reason"].notna()]
    if len(stopped):
        o.add(f"{len(stopped)} trial(s) stopped early by their own rule (e.g. diverged) and "
              f"count as finished:", "", table(stopped[cols]))
    if not finished_only and (trials["status"] == UNFINISHED).any():
        o.add("Some trials are still running or were interrupted: every number below is "
              "partial.", "")
    if "failures" in trials and (trials[trials["status"] == FINISHED]["failures"] > 0).any():
        o.add("Trials with failures > 0 and status finished were restarted by Tune from a "
              "checkpoint and then finished.", "")


def _settings(frame: pd.DataFrame, results: Results, kind: str, axes: Sequence[str]) -> list[str]:
    sub = results.of_kind(kind)
    source = frame if len(frame) else sub.trials
    return setting_columns(source, sub.config_columns, axes)


@section("imp")
def _imp_section(o: _Out, results: Results, frames: dict[str, pd.DataFrame], *,
                 tolerance: float, alpha: float, resamples: int) -> None:
    imp = frames.get("imp", pd.DataFrame())
    o.add(f"## {HEADINGS['imp']}", "")
    metric = T.imp_metric(imp)
    if metric is None:
        o.add("_(no completed rounds yet)_", "")
        return
    settings = _settings(imp, results, "imp", [keys.TICKET])
    o.add(f"Accuracy: {keys.IMP_METRIC_LABELS.get(metric, metric)}; mean ± std over seeds "
          f"(n = seeds), in %.", "")
    headline = T.imp_headline(imp, tolerance=tolerance, metric=metric, settings=settings)
    o.add("### Headline", "")
    o.add(*(f"- {s}" for s in T.headline_sentences(headline)), "")
    o.add(f"_Walking from dense to sparser rounds, the headline is the last round before the "
          f"first whose mean falls more than {tolerance:g} points below dense._", "")
    o.csv(headline, "imp_headline")
    summary = T.imp_summary(imp, metric=metric, settings=settings)
    o.csv(summary, "imp_table")
    o.add("### Accuracy by weights remaining", "")
    o.tables(T.imp_display(summary, settings))
    o.figure(imp_figure(imp, metric=metric, settings=settings), "imp_accuracy",
             "accuracy vs weights remaining")
    other = [m for m in keys.IMP_METRICS[:2] if m != metric and m in imp and imp[m].notna().any()]
    for m in other:
        alt = T.imp_summary(imp, metric=m, settings=settings)
        o.csv(alt, f"imp_table_{m}")
        o.add(f"Also written: `imp_table_{m}.csv` ({keys.IMP_METRIC_LABELS[m]}).", "")


@section("noise")
def _noise_section(o: _Out, results: Results, frames: dict[str, pd.DataFrame], *,
                   tolerance: float, alpha: float, resamples: int) -> None:
    noise = frames.get("noise", pd.DataFrame())
    scores = frames.get("noise_scores", pd.DataFrame())
    o.add(f"## {HEADINGS['noise']}", "")
    if noise.empty:
        o.add("_(no networks evaluated yet)_", "")
        return
    settings = _settings(noise, results, "noise", keys.NOISE_AXES)
    acc, score = T.noise_summary(noise, settings), T.score_summary(scores, settings)
    o.csv(acc, "noise_accuracy")
    o.csv(score, "noise_score_table")
    o.add("Test accuracy (%) per noise level (fraction of pixels replaced) and the noise "
          "score (correct test images summed over levels); mean ± std over seeds.", "")
    o.tables(T.noise_display(acc, score, settings), level="###")
    o.figure(noise_figure(noise, settings), "noise_accuracy", "accuracy vs noise level")
    o.add(f"### {HEADINGS['hypothesis']}", "")
    tests = noise_hypothesis(scores, settings, alpha=alpha, resamples=resamples)
    o.csv(tests, "noise_hypothesis")
    if tests.empty:
        o.add("_(no sparse network paired with a dense one yet)_", "")
        return
    o.add(f"One-sided paired tests (H1: sparse > dense, same seed), alpha = {alpha:g}; "
          f"two-sided {100 * (1 - alpha):g}% t-interval of the mean difference in noise score "
          f"(and a percentile bootstrap interval where a comparison has >= 10 seeds). "
          f"\"Not shown\" is no evidence of no gain: the claims table's margin rule decides "
          f"that.", "")
    o.add(*(f"- {s}" for s in hypothesis_summary(tests)), "")
    o.add(table(hypothesis_view(tests, settings, alpha=alpha)))
    tested = tests[tests["verdict"] != "untestable"]
    o.add(*(f"- {s}" for s in tested["text"]), "")


def hypothesis_view(tests: pd.DataFrame, settings: Sequence[str] = (), *,
                    alpha: float = 0.05) -> pd.DataFrame:
    """The hypothesis tests (analysis.hypothesis.noise_hypothesis) as a Markdown-ready table;
    the report and the results pages show the same view."""
    view = pd.DataFrame({
        "setting": tests["setting"], "noise": tests["noise"], "network": tests["candidate"],
        "pruned": tests["pruned"].map(percent), "vs": tests["reference"], "n": tests["n"],
        "mean diff": tests["mean_diff"].map(lambda v: f"{v:+.0f}" if np.isfinite(v) else "—"),
        f"{100 * (1 - alpha):g}% t-CI": [f"[{lo:.0f}, {hi:.0f}]" if np.isfinite(lo) else "—"
                                         for lo, hi in zip(tests["ci_low"], tests["ci_high"])],
        "p (t)": tests["p_greater"].map(_p), "p (Wilcoxon)": tests["p_wilcoxon"].map(_p),
        "verdict": tests["verdict"]})
    if "boot_low" in tests and tests["boot_low"].notna().any():
        view.insert(7, f"{100 * (1 - alpha):g}% bootstrap CI (n >= 10)",
                    [f"[{lo:.0f}, {hi:.0f}]" if np.isfinite(lo) else "—"
                     for lo, hi in zip(tests["boot_low"], tests["boot_high"])])
    return view if settings else view.drop(columns="setting")


def _p(p: float) -> str:
    text = format_p(p)
    return text[1:] if text.startswith("=") else text


@section("continual")
def _continual_sections(o: _Out, results: Results, frames: dict[str, pd.DataFrame], *,
                        tolerance: float, alpha: float, resamples: int) -> None:
    continual = frames.get("continual", pd.DataFrame())
    sub = results.of_kind("continual")
    trials = continual_trials(continual, sub.history)
    running = running_means(continual)
    settings = setting_columns(trials, sub.config_columns, T.CONTINUAL_AXES) if len(trials) else []
    if len(trials):
        o.csv(trials, "continual_trials")
    streams = set(trials["stream"]) if "stream" in trials else set()
    if not streams:
        o.add(f"## {HEADINGS['permuted']}", "", "_(no task finished yet)_", "")
        return
    for stream in ("permuted", "split"):
        if stream not in streams:
            continue
        mine = trials[trials["stream"] == stream]
        o.add(f"## {HEADINGS[stream]}", "")
        datasets = sorted(map(str, mine["dataset"].dropna().unique())) if "dataset" in mine else []
        if datasets:
            o.add(f"Dataset(s): {', '.join(datasets)}.", "")
        left_out = int((~mine["complete"].astype(bool)).sum())
        if left_out:
            o.add(f"{left_out} trial(s) have not trained all their tasks: they count in the "
                  f"running means but not in the final forgetting / BWT"
                  + (" / mean accuracy" if stream == "permuted" else "") + ".", "")
        if stream == "permuted":
            summary = T.permuted_summary(trials, settings)
            o.csv(summary, "permuted_table")
            o.add("Mean accuracy over all tasks after training on all, forgetting and backward "
                  "transfer (BWT), in % / points; mean ± std over seeds.", "")
            o.tables(T.permuted_display(summary, settings))
        else:
            summary = T.split_summary(trials, running, settings)
            o.csv(summary, "split_table")
            o.add("Running mean accuracy over the tasks seen so far after each task (%), "
                  "forgetting and BWT (points); mean ± std over seeds.", "")
            o.tables(T.split_display(summary, settings))
        _protocol_contrasts(o, mine, settings, stream, resamples)
        _hyperparameter_tables(o, mine, results.experiments)
        ids = mine[["exp_name", "trial_id"]]
        o.figure(running_mean_figure(running.merge(ids, on=["exp_name", "trial_id"])),
                 f"running_mean_{stream}", "running mean accuracy vs tasks")
        o.figure(matrix_figure(continual.merge(ids, on=["exp_name", "trial_id"])),
                 f"accuracy_matrix_{stream}", "accuracy matrix")
        _consistency_note(o, mine)


def _protocol_contrasts(o: _Out, trials: pd.DataFrame, settings: Sequence[str], stream: str,
                        resamples: int) -> None:
    """An arm run under several protocols: their paired differences (analysis/contrasts)."""
    contrasts = protocol_contrasts(trials, settings, resamples=resamples)
    if contrasts.empty:
        return
    o.csv(contrasts, f"{stream}_protocol_contrasts")
    o.add("#### The same arm under different protocols, paired by seed", "",
          "Protocol b minus protocol a, in points, over the seeds both ran (finished trials "
          "only): mean difference, two-sided 95% t-interval and a two-sided paired t-test.",
          "")
    o.add(table(contrasts_display(contrasts)))


def _hyperparameter_tables(o: _Out, trials: pd.DataFrame, experiments: pd.DataFrame) -> None:
    """Each arm's values and, for ``--tune`` runs, the search that chose them."""
    arms = arm_hyperparameters(trials)
    if len(arms):
        o.add("#### Hyper-parameters per arm", "",
              "`hp_source`: `search` (chosen on the validation split, see below), "
              "`preset:<name>`, `cli`, or empty (defaults).", "")
        o.add(table(arms))
    search, notes = search_records(experiments[experiments["exp_name"].isin(
        set(trials["exp_name"]))])
    if len(search):
        o.csv(search, "search_trials")
        o.add("#### How the hyper-parameters were chosen", "", *notes, "",
              "Every grid point of the search (`val_mean_accuracy`: mean validation accuracy "
              "over the tasks seen after the last one it trained; a point with fewer "
              "`tasks_done` than the proxy was stopped early by ASHA and could not be "
              "chosen):", "")
        o.add(table(search))


def _consistency_note(o: _Out, trials: pd.DataFrame) -> None:
    """Flag trials whose own reported forgetting / BWT disagree with ours."""
    bad = []
    for m in ("forgetting", "bwt"):
        col = f"reported_{m}"
        if col in trials:
            diff = (trials[m] - trials[col]).abs()
            bad += list(trials.loc[diff > 1e-4, "trial_id"])
    if bad:
        o.add(f"Note: {len(set(bad))} trial(s) reported forgetting/BWT that differ from the "
              f"values computed here from their accuracy matrices: {', '.join(sorted(set(bad)))}.",
              "")
