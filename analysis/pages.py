"""The results pages (``docs/results/claim1.md`` ...) generated from a manifest.

Every number on a page is computed here from the tidy CSVs of a committed report folder,
by the report's own table builders and claims rules; the manifest (``docs/results/pages.toml``)
holds only what a computer cannot: each page's title, which folder and experiments its
sections read, the commands that made that data, and the prose notes worth keeping. So a
measured number lives in one place (its CSV), and regenerating after a new run or a new
rule is one command: ``python -m analysis pages docs/results/pages.toml``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from analysis import claims as C
from analysis import keys
from analysis import tables as T
from analysis.continual import continual_trials, running_means
from analysis.contrasts import contrasts_display, protocol_contrasts
from analysis.grouping import setting_columns
from analysis.hparams import arm_hyperparameters
from analysis.hypothesis import noise_hypothesis
from analysis.kinds.noise import hypothesis_view
from analysis.loading import NotAnExperiment, Results
from analysis.markdown import percent, pm, reflow, table
from analysis.quoting import PLACEHOLDER, QuoteError, fill
from analysis.report import claims_frame, pooled_claims, readme_table
from analysis.sources import load_sources
from analysis.tidy import tidy_frames

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SEARCH_FILE = "search_trials.csv"


class ManifestError(ValueError):
    """The manifest is wrong (unknown key, table, folder or figure); the message is one line."""


@dataclass(frozen=True)
class SectionSpec:
    """One block of a page: data from one report folder, optionally some experiments only."""

    heading: str
    folder: str                                   # relative to the manifest's folder
    also: tuple[str, ...] = ()                    # more report folders, pooled with it (seeds)
    tables: tuple[str, ...] = ()                  # names in TABLES, in page order
    experiments: tuple[str, ...] = ()             # exp_name values to keep; () keeps all
    where: dict[str, tuple] = field(default_factory=dict)  # column -> values kept
    figures: tuple[str, ...] = ()                 # PNGs of the folder to link
    commands: tuple[str, ...] = ()                # the commands that made this data
    text: str = ""                                # prose before the tables
    notes: str = ""                               # prose after them: caveats, what is decided


@dataclass(frozen=True)
class PageSpec:
    file: str                                     # written next to the manifest
    title: str
    claim: int | None = None                      # the claims rows a "claims" table shows
    intro: str = ""
    sections: tuple[SectionSpec, ...] = ()
    commands: tuple[str, ...] = ()                # further commands (other presets, not run)
    notes: str = ""


@dataclass(frozen=True)
class ReadmeSpec:
    """The README's claims table: pooled from these report folders, written between the
    README's two marker lines (so the README pastes no table by hand), after ``summary``:
    prose whose numbers are placeholders filled from the same rows (:mod:`analysis.quoting`)."""

    file: str                                     # relative to the manifest's folder
    folders: tuple[str, ...]                      # relative to the manifest's folder
    summary: str = ""                             # Markdown with {{CLAIM | FILTER | FIELD}}


README_START = "<!-- claims table: written by `python -m analysis pages docs/results/pages.toml` -->"
README_END = "<!-- end of the claims table -->"


@dataclass
class SectionData:
    """A section's data: the folder's results and tidy frames, filtered as the spec says."""

    results: Results
    frames: dict[str, pd.DataFrame]
    folder: Path

    def settings(self, kind: str, frame: pd.DataFrame, axes: Sequence[str]) -> list[str]:
        sub = self.results.of_kind(kind)
        source = frame if len(frame) else sub.trials
        return setting_columns(source, sub.config_columns, axes) if len(source) else []

    def frame(self, name: str) -> pd.DataFrame:
        return self.frames.get(name, pd.DataFrame())

    @cached_property
    def claims(self) -> pd.DataFrame:
        """The section's claims rows, computed once for its table and its quoted prose."""
        return claims_frame(self.results, self.frames)

    def continual(self) -> tuple[pd.DataFrame, list[str]]:
        """One row per continual trial and the columns that split its tables."""
        trials = continual_trials(self.frame("continual"))
        if trials.empty:
            return trials, []
        return trials, self.settings("continual", trials, T.CONTINUAL_AXES)


# --- manifest ------------------------------------------------------------------------------


def _spec(cls, raw: dict[str, Any], where: str):
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ManifestError(f"{where}: unknown key(s) {', '.join(unknown)}; known: "
                            f"{', '.join(sorted(known))}")
    out = {}
    for key, value in raw.items():
        if isinstance(value, list) and key != "sections":
            value = tuple(value)
        out[key] = value
    return out


def read_manifest(path: str | Path) -> list[PageSpec]:
    """The pages of a TOML manifest (``[[page]]`` tables with ``[[page.sections]]``)."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such manifest") from None
    except tomllib.TOMLDecodeError as err:
        raise ManifestError(f"{path}: not valid TOML ({err})") from None
    pages = []
    for i, page in enumerate(raw.get("page", [])):
        where = f"{path} page {i + 1}"
        args = _spec(PageSpec, page, where)
        for key in ("file", "title"):
            if key not in args:
                raise ManifestError(f"{where}: missing {key!r}")
        sections = []
        for j, sec in enumerate(args.pop("sections", [])):
            sargs = _spec(SectionSpec, sec, f"{where} ({args['file']}) section {j + 1}")
            sargs["also"] = tuple(sargs.get("also", ()))
            sargs["where"] = {k: tuple(v) if isinstance(v, list) else (v,)
                              for k, v in sargs.get("where", {}).items()}
            unknown = [t for t in sargs.get("tables", ()) if t not in TABLES]
            if unknown:
                raise ManifestError(f"{where} ({args['file']}): unknown table(s) "
                                    f"{', '.join(unknown)}; known: {', '.join(TABLES)}")
            sections.append(SectionSpec(**sargs))
        pages.append(PageSpec(**args, sections=tuple(sections)))
    if not pages:
        raise ManifestError(f"{path}: no [[page]] tables")
    return pages


def read_readme_spec(path: str | Path) -> ReadmeSpec | None:
    """The manifest's ``[readme]`` table, if any."""
    path = Path(path)
    raw = tomllib.loads(path.read_text()).get("readme")
    if raw is None:
        return None
    args = _spec(ReadmeSpec, raw, f"{path} [readme]")
    for key in ("file", "folders"):
        if key not in args:
            raise ManifestError(f"{path} [readme]: missing {key!r}")
    return ReadmeSpec(**args)


def render_readme(root: Path, spec: ReadmeSpec) -> tuple[Path, str]:
    """(README path, its text with the claims table between the markers made anew)."""
    readme = Path(os.path.normpath(root / spec.file))
    text = readme.read_text()
    if text.count(README_START) != 1 or text.count(README_END) != 1:
        raise ManifestError(f"{readme}: needs the two marker lines once each: "
                            f"{README_START!r} and {README_END!r}")
    head, rest = text.split(README_START)
    _, tail = rest.split(README_END)
    folders = [root / f for f in spec.folders]
    for folder in folders:
        if not folder.is_dir():
            raise ManifestError(f"[readme]: no report folder {folder}")
    # the command as run from the README's folder (the repository root)
    names = [Path(os.path.relpath(f, readme.parent)).as_posix() for f in folders]
    claims = pooled_claims(folders)
    try:
        summary = reflow(fill(spec.summary, claims))
    except QuoteError as err:
        raise ManifestError(f"[readme] summary: {err}") from None
    table = readme_table(folders, names=names, claims=claims)
    block = f"{summary}\n\n{table}" if summary else table
    return readme, f"{head}{README_START}\n{block}{README_END}{tail}"


# --- data ----------------------------------------------------------------------------------


def section_data(root: Path, spec: SectionSpec) -> SectionData:
    """The section's folder, and those pooled with it (``also``: e.g. seeds added later),
    read as sources (:mod:`analysis.sources`), filtered."""
    folder = root / spec.folder
    try:
        results = load_sources([folder, *(root / f for f in spec.also)])
    except NotAnExperiment as err:
        raise ManifestError(str(err)) from None
    frames = tidy_frames(results)
    if spec.experiments:
        names = set(results.experiments["exp_name"])
        missing = [e for e in spec.experiments if e not in names]
        if missing:
            raise ManifestError(f"{folder}: no experiment(s) {', '.join(missing)}; it holds "
                                f"{', '.join(sorted(names))}")
        keep = set(spec.experiments)
        results = Results(results.history,
                          results.trials[results.trials["exp_name"].isin(keep)],
                          results.experiments[results.experiments["exp_name"].isin(keep)]
                          .reset_index(drop=True), results.config_columns)
        frames = {k: f[f["exp_name"].isin(keep)].reset_index(drop=True)
                  for k, f in frames.items()}
    for column, values in spec.where.items():
        frames = {k: f[f[column].isin(values)].reset_index(drop=True) if column in f else f
                  for k, f in frames.items()}
    return SectionData(results, frames, folder)


# --- tables: each returns Markdown lines; the builders are the report's --------------------


def _claims(data: SectionData, page: PageSpec) -> list[str]:
    claims = data.claims
    if page.claim is not None:
        claims = claims[claims["claim"].str.startswith(f"{page.claim}.")]
    claims = claims[claims["verdict"] != C.NOT_RUN]
    head = ["### Where the claim stands", "",
            "The claims rows of these results, by the report's rules (the same rows as its "
            "Claims section and `claims.csv`):", ""]
    if claims.empty:
        return [*head, "_(no claim rows from these results)_", ""]
    return [*head, table(C.display(claims)), "Rules:", "",
            *(f"- {line}" for line in C.rules(claims)), ""]


def _imp(metric: str | None) -> Callable[[SectionData, PageSpec], list[str]]:
    def build(data: SectionData, page: PageSpec) -> list[str]:
        imp = data.frame("imp")
        chosen = metric or T.imp_metric(imp)
        if imp.empty or chosen not in imp or not imp[chosen].notna().any():
            return ["_(no completed rounds)_", ""]
        settings = data.settings("imp", imp, [keys.TICKET])
        summary = T.imp_summary(imp, metric=chosen, settings=settings)
        label = keys.IMP_METRIC_LABELS.get(chosen, chosen)
        lines = [f"### Accuracy by weights remaining: {label}", "",
                 f"Accuracy: {label}; mean ± std over seeds (n = seeds), in %.", ""]
        for label, frame in T.imp_display(summary, settings):
            lines += [f"#### {label}", ""] if label else []
            lines.append(table(frame))
        return lines
    return build


def _imp_headline(data: SectionData, page: PageSpec) -> list[str]:
    imp = data.frame("imp")
    if imp.empty:
        return []
    settings = data.settings("imp", imp, [keys.TICKET])
    headline = T.imp_headline(imp, settings=settings)
    return ["### Headline (the report's tolerance walk)", "",
            *(f"- {s}" for s in T.headline_sentences(headline)), "",
            "_Walking from dense to sparser rounds, the headline is the last round before the "
            "first whose mean falls more than 0.5 points below dense._", ""]


def _noise_inputs(data: SectionData) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    noise, scores = data.frame("noise"), data.frame("noise_scores")
    return noise, scores, data.settings("noise", noise, keys.NOISE_AXES) if len(noise) else []


def _noise(data: SectionData, page: PageSpec) -> list[str]:
    noise, scores, settings = _noise_inputs(data)
    if noise.empty:
        return ["_(no networks evaluated)_", ""]
    lines = ["### Accuracy per noise level", "",
             "Test accuracy (%) per noise level (fraction of pixels replaced) and the noise "
             "score (correct test images summed over levels); mean ± std over seeds.", ""]
    for label, frame in T.noise_display(T.noise_summary(noise, settings),
                                        T.score_summary(scores, settings), settings):
        lines += [f"#### {label}", "", table(frame)]
    return lines


def noise_overview(noise: pd.DataFrame, scores: pd.DataFrame, settings: Sequence[str] = ()
                   ) -> pd.DataFrame:
    """One row per network: weights remaining, clean accuracy (level 0, in %) and its noise
    score under each (setting, noise type), mean ± std over seeds; the per-level tables of
    :func:`analysis.tables.noise_display` hold the rest."""
    if noise.empty or scores.empty:
        return pd.DataFrame()
    # the clean images are the same under every noise type and level set: one per seed
    clean = noise[noise["level"] == 0].drop_duplicates(["network", keys.SEED])
    clean = T.noise_summary(clean.assign(noise="clean"))
    score = T.score_summary(scores, settings)
    by = [*settings, "noise"]
    n_levels = (scores.groupby(by, dropna=False)["n_levels"].agg(lambda v: set(v)).to_dict()
                if "n_levels" in scores else {})
    columns: dict[tuple, str] = {}
    for key, _ in score.groupby(by, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        levels = n_levels.get(key if len(key) > 1 else key[0], set())
        name = f"score, {key[-1]}" + (f", {int(next(iter(levels)))} levels"
                                      if len(levels) == 1 else "")
        if name in columns.values():
            name += f" ({', '.join(f'{s}={v}' for s, v in zip(settings, key[:-1]))})"
        columns[key] = name
    nets = score.drop_duplicates("network")
    order = sorted(zip(nets["network"], nets[keys.WEIGHTS_REMAINING]),
                   key=lambda x: T.network_rank(*x))
    cells = score.set_index([*by, "network"])[["mean", "std", "n"]]
    rows = []
    for net, wr in order:
        row = {"network": net, "weights remaining": percent(wr)}
        hit = clean[clean["network"] == net]
        row["clean accuracy (%)"] = pm(*hit[["mean", "std", "n"]].iloc[0]) if len(hit) else "—"
        for key, name in columns.items():
            cell = cells.loc[(*key, net)] if (*key, net) in cells.index else None
            row[name] = pm(*cell, scale=1, digits=0) if cell is not None else "—"
        rows.append(row)
    return pd.DataFrame(rows)


def _noise_overview(data: SectionData, page: PageSpec) -> list[str]:
    noise, scores, settings = _noise_inputs(data)
    view = noise_overview(noise, scores, settings)
    if view.empty:
        return ["_(no networks evaluated)_", ""]
    return ["### Noise scores", "", "Clean test accuracy (%) and the noise score (correct test images summed over "
            "the levels), mean ± std over seeds (n):", "", table(view)]


def _noise_tests(data: SectionData, page: PageSpec) -> list[str]:
    noise, scores, settings = _noise_inputs(data)
    tests = noise_hypothesis(scores, settings)
    if tests.empty:
        return ["_(no sparse network paired with a dense one)_", ""]
    return ["### Hypothesis test: weight sparsity alone improves noise robustness", "",
            "One-sided paired tests (H1: sparse > dense, same seed), alpha = 0.05; two-sided "
            "95% t-interval of the mean difference in noise score. \"Not shown\" is no "
            "evidence of no gain: the claims rows' margin rule decides that.", "",
            table(hypothesis_view(tests, settings))]


def _permuted(data: SectionData, page: PageSpec) -> list[str]:
    trials, settings = data.continual()
    summary = T.permuted_summary(trials, settings)
    return _labelled_tables(
        "### Mean accuracy and forgetting",
        "Mean accuracy over all tasks after training on all, forgetting and backward "
        "transfer (BWT), in % / points; mean ± std over seeds.",
        T.permuted_display(summary, settings))


def _split(data: SectionData, page: PageSpec) -> list[str]:
    trials, settings = data.continual()
    summary = T.split_summary(trials, running_means(data.frame("continual")), settings)
    return _labelled_tables(
        "### Running mean accuracy and forgetting",
        "Running mean accuracy over the tasks seen so far after each task (%), "
        "forgetting and BWT (points); mean ± std over seeds.",
        T.split_display(summary, settings))


def _labelled_tables(heading: str, intro: str, displays) -> list[str]:
    """A heading, its sentence, then each (label, frame) of a display as a sub-table."""
    lines = [heading, "", intro, ""]
    for label, frame in displays:
        lines += [f"#### {label}", ""] if label else []
        lines.append(table(frame))
    return lines


def per_seed_view(trials: pd.DataFrame, settings: Sequence[str] = ()) -> pd.DataFrame:
    """Complete continual trials: one row per arm (and setting), each seed's mean accuracy
    and forgetting in % / points. Seeds move every arm together (same task order), which
    is why the claims pair them."""
    done = trials[trials["complete"].astype(bool)] if len(trials) else trials
    if done.empty:
        return pd.DataFrame()
    by = [*[s for s in settings if s in done], "label"]
    rows = []
    for key, part in done.groupby(by, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        part = part.sort_values(keys.SEED)
        row = {("model" if col == "label" else col): val for col, val in zip(by, key)}
        row["seeds"] = " / ".join(str(int(s)) for s in part[keys.SEED])
        for metric, name in (("mean_accuracy", "mean accuracy (%)"),
                             ("forgetting", "forgetting (points)")):
            row[f"{name}, per seed"] = " / ".join(f"{100 * v:.2f}" for v in part[metric])
        rows.append(row)
    return pd.DataFrame(rows)


def _per_seed(data: SectionData, page: PageSpec) -> list[str]:
    trials, settings = data.continual()
    view = per_seed_view(trials, settings)
    return ["### Per seed", "", "A seed gives every arm the same task order (or class "
            "split), which is why the claims pair arms by seed; with 3 seeds a percentile "
            "bootstrap interval is the range of these values.", "", table(view)] \
        if len(view) else []


def _contrasts(data: SectionData, page: PageSpec) -> list[str]:
    trials, settings = data.continual()
    contrasts = protocol_contrasts(trials, settings)
    if contrasts.empty:
        return []
    return ["### The same arm under different protocols", "",
            "The same arm under different protocols, paired by seed: protocol b minus "
            "protocol a, in points (mean difference, 95% bootstrap CI, two-sided paired "
            "t-test).", "", table(contrasts_display(contrasts))]


def _hyperparameters(data: SectionData, page: PageSpec) -> list[str]:
    trials, _ = data.continual()
    arms = arm_hyperparameters(trials)
    return ["### Hyper-parameters per arm", "", table(arms)] if len(arms) else []


def search_view(search: pd.DataFrame) -> pd.DataFrame:
    """A ``--tune`` search (search_trials.csv): one row per arm, one column per grid point,
    the mean validation accuracy (%) after the proxy's tasks; a point ASHA stopped early
    shows the tasks it reached."""
    if search.empty:
        return pd.DataFrame()
    full = search.groupby("arm")["tasks_done"].transform("max")
    cells = []
    for r, tasks in zip(search.to_dict("records"), full):
        value = f"{100 * r['val_mean_accuracy']:.2f}"
        if r["tasks_done"] < tasks:
            value = f"stopped after {int(r['tasks_done'])} tasks ({value})"
        if str(r.get("chosen")).lower() == "true":
            value = f"**{value}** (chosen)"
        cells.append({"arm": r["arm"], "point": f"lr {r['lr']:g} x {int(r['epochs_per_task'])}"
                      f" epochs", "value": value})
    frame = pd.DataFrame(cells)
    order = list(dict.fromkeys(frame["point"]))
    wide = frame.pivot(index="arm", columns="point", values="value")[order]
    return wide.reset_index().rename_axis(columns=None)


def _search(data: SectionData, page: PageSpec) -> list[str]:
    file = data.folder / SEARCH_FILE
    if not file.is_file():
        raise ManifestError(f"{data.folder}: no {SEARCH_FILE} for the 'search' table")
    search = pd.read_csv(file)
    names = set(data.results.experiments["exp_name"])
    search = search[search["experiment"].isin(names)] if "experiment" in search else search
    return ["### How the hyper-parameters were chosen", "",
            "Mean validation accuracy (%) after the search's proxy tasks, per grid point "
            f"(every point in [`{SEARCH_FILE}`]({data.folder.name}/{SEARCH_FILE})):", "",
            table(search_view(search))]


TABLES: dict[str, Callable[[SectionData, PageSpec], list[str]]] = {
    "claims": _claims,
    "imp_headline": _imp_headline,
    "imp": _imp(None),
    "imp_best_test": _imp(keys.IMP_METRICS[1]),
    "noise_overview": _noise_overview,
    "noise": _noise,
    "noise_tests": _noise_tests,
    "permuted": _permuted,
    "split": _split,
    "per_seed": _per_seed,
    "contrasts": _contrasts,
    "hyperparameters": _hyperparameters,
    "search": _search,
}


# --- pages ---------------------------------------------------------------------------------


def _commands(commands: Sequence[str]) -> list[str]:
    return ["```bash", *commands, "```", ""] if commands else []


def _prose(text: str) -> list[str]:
    return [text.strip(), ""] if text.strip() else []


def _quoted(text: str, data: SectionData, spec: SectionSpec) -> str:
    """A section's prose with its placeholders filled from the section's own claims rows
    (:mod:`analysis.quoting`): a number a note quotes follows the data like the tables."""
    if PLACEHOLDER.search(text) is None:
        return text
    try:
        return fill(text, data.claims)
    except QuoteError as err:
        raise ManifestError(f"section {spec.heading!r}: {err}") from None


def render_page(root: Path, page: PageSpec, manifest_name: str) -> str:
    """One page's Markdown, every table computed from its sections' folders."""
    folders = list(dict.fromkeys(f for s in page.sections for f in (s.folder, *s.also)))
    sources = ", ".join(f"[`{f}/`]({f}/report.md)" if (root / f / "report.md").exists()
                        else f"`{f}/`" for f in folders)
    lines = [f"# {page.title}", "",
             f"_Generated by `python -m analysis pages {manifest_name}` from the tidy CSVs of "
             f"{sources or 'no folder'}; edit the manifest, not this page._", "",
             *_prose(page.intro)]
    for spec in page.sections:
        data = section_data(root, spec)
        lines += [f"## {spec.heading}", "", *_prose(_quoted(spec.text, data, spec))]
        if spec.commands:
            lines += ["Made by:", "", *_commands(spec.commands)]
        for name in spec.tables:
            lines += TABLES[name](data, page)
        for figure in spec.figures:
            if not (data.folder / figure).is_file():
                raise ManifestError(f"{data.folder}: no figure {figure}")
            lines += [f"![{Path(figure).stem.replace('_', ' ')}]({spec.folder}/{figure})", ""]
        if spec.notes.strip():
            lines += ["### What it shows", "", *_prose(_quoted(spec.notes, data, spec))]
    if page.commands or page.notes:
        lines += ["## More", "", *_prose(page.notes), *_commands(page.commands)]
    return "\n".join(lines).rstrip() + "\n"


def build_pages(manifest: str | Path, *, check: bool = False) -> list[Path]:
    """Write every page of the manifest next to it (its links to figures and report
    folders are relative); return their paths.

    With ``check``, write nothing and return the pages whose file differs from what the
    manifest and the CSVs give now (stale, or edited by hand)."""
    manifest = Path(manifest)
    root = manifest.parent
    paths = []
    pages = read_manifest(manifest)
    spec = read_readme_spec(manifest)
    readme = render_readme(root, spec) if spec is not None else None  # fails before writing
    for page in pages:
        text = render_page(root, page, manifest.as_posix())
        path = root / page.file
        if check:
            if not path.is_file() or path.read_text() != text:
                paths.append(path)
            continue
        path.write_text(text)
        paths.append(path)
    if readme is not None:
        path, text = readme
        if not check:
            path.write_text(text)
            paths.append(path)
        elif path.read_text() != text:
            paths.append(path)
    return paths
