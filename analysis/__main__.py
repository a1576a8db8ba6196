"""``python -m analysis report DIR/NAME [...] --out OUTDIR``, ``readme-table DIR/NAME [...]``
(the README's claims table, printed), ``pages MANIFEST`` (the results pages) and
``tidy DIR/NAME``.

``report`` and ``readme-table`` take sources (``analysis.sources``): experiment folders and
report folders alike; seeds of one protocol across them are pooled (``analysis.pooling``)."""

from __future__ import annotations

import argparse
import sys

from analysis.loading import BadInput, experiment_meta
from analysis.rules import VerdictRules
from analysis.sources import source_kind


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis",
                                     description="Tables, figures and tests from sparsenet "
                                                 "experiment folders.")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="write OUT/report.md, its CSVs and figures")
    rep.add_argument("experiments", nargs="+", metavar="DIR/NAME",
                     help="experiment folders (any kinds; finished or still running) and/or "
                          "report folders (trials.csv + tidy_*.csv); seeds of one protocol "
                          "are pooled across them")
    rep.add_argument("--out", required=True, help="folder for report.md, CSVs and PNGs")
    rep.add_argument("--pdf", action="store_true", help="also write each figure as PDF")
    readme = sub.add_parser("readme-table", help="print the README's claims table (Markdown)")
    readme.add_argument("experiments", nargs="+", metavar="DIR/NAME",
                        help="experiment and/or report folders, pooled as for report")
    defaults = VerdictRules()
    for p in (rep, readme):
        p.add_argument("--alpha", type=float, default=defaults.alpha,
                       help=f"level of every one-sided test and Holm family "
                            f"(default {defaults.alpha:g})")
        p.add_argument("--margin-points", "--tolerance", dest="margin_points", type=float,
                       default=defaults.margin_points,
                       help=f"claim 1 non-inferiority margin: accuracy points a winning ticket "
                            f"may lose against dense (default {defaults.margin_points:g}); "
                            f"--tolerance is the old name")
        p.add_argument("--noise-margin", type=float, default=defaults.noise_margin,
                       help=f"claim 2 non-superiority margin as a fraction of the dense noise "
                            f"score (default {defaults.noise_margin:g})")
        p.add_argument("--equivalence-margin", type=float,
                       default=defaults.equivalence_margin_points,
                       help=f"claim 3: +- points within which our mean agrees with a published "
                            f"one, TOST (default {defaults.equivalence_margin_points:g})")
        p.add_argument("--finished-only", action="store_true",
                       help="leave out the steps of errored and unfinished trials")
    pages = sub.add_parser("pages", help="write the results pages a manifest describes "
                                         "(docs/results/pages.toml) from committed report "
                                         "folders")
    pages.add_argument("manifest", help="TOML manifest; the pages are written beside it")
    pages.add_argument("--check", action="store_true",
                       help="write nothing; exit 1 naming each page that differs from what "
                            "the manifest and the CSVs give now")
    tidy = sub.add_parser("tidy", help="write the tidy CSV(s) into an experiment folder")
    tidy.add_argument("experiments", nargs="+", metavar="DIR/NAME")
    return parser


FLAGS = {"alpha": "--alpha", "margin_points": "--margin-points",
         "noise_margin": "--noise-margin", "equivalence_margin_points": "--equivalence-margin"}


def _flag(message: str) -> str:
    """``margin_points must be ...`` -> ``--margin-points must be ...``: name the flag."""
    field, _, rest = message.partition(" ")
    return f"{FLAGS.get(field, field)} {rest}"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    rules = None
    if args.command in ("report", "readme-table"):
        try:
            rules = VerdictRules(alpha=args.alpha, margin_points=args.margin_points,
                                 noise_margin=args.noise_margin,
                                 equivalence_margin_points=args.equivalence_margin)
        except ValueError as err:
            print(f"error: {_flag(str(err))}", file=sys.stderr)
            return 2
    if args.command == "pages":
        return _pages(args.manifest, check=args.check)
    try:
        check = experiment_meta if args.command == "tidy" else source_kind
        for exp in args.experiments:  # fail in a second, before the plotting stack loads
            check(exp)
        if args.command == "report":
            from analysis.report import build_report

            path = build_report(args.experiments, args.out, pdf=args.pdf,
                                rules=rules, finished_only=args.finished_only)
            print(f"report: {path}")
        elif args.command == "readme-table":
            from analysis.report import readme_table

            print(readme_table(args.experiments, rules=rules,
                               finished_only=args.finished_only), end="")
        else:
            from analysis.tidy import write_tidy

            for exp in args.experiments:
                for path in write_tidy(exp):
                    print(path)
    except BadInput as err:  # not a source, a seed given twice: one line
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def _pages(manifest: str, *, check: bool) -> int:
    from analysis.pages import ManifestError, build_pages

    try:
        paths = build_pages(manifest, check=check)
    except (ManifestError, BadInput) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for path in paths:
        print(f"{'stale' if check else 'page'}: {path}")
    return 1 if check and paths else 0


if __name__ == "__main__":
    sys.exit(main())
