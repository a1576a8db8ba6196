"""Every experiment kind's analysis, found once: each module of ``analysis.kinds`` that
defines ``ANALYSIS = KindAnalysis(...)`` registers its kind. Every kind declared in
``sparsenet.schema.EXPERIMENTS`` must have exactly one; anything else fails at import with
one line saying what to add or remove."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Iterable

from analysis import keys
from analysis.kinds.base import KindAnalysis

HELPERS = ("base", "registry")  # the modules of analysis.kinds that analyse no kind


def check_registry(found: Iterable[tuple[str, KindAnalysis]],
                   kinds: Iterable[str] = keys.KINDS) -> dict[str, KindAnalysis]:
    """``{kind: analysis}`` in the schema's order from ``(module, analysis)`` pairs; a
    declared kind with none or with two is a ``ValueError`` naming the module(s)."""
    by_kind: dict[str, list[tuple[str, KindAnalysis]]] = {}
    for module, entry in found:
        by_kind.setdefault(entry.kind, []).append((module, entry))
    kinds = tuple(kinds)
    for kind in kinds:
        entries = by_kind.get(kind, [])
        if not entries:
            raise ValueError(_missing(kind))
        if len(entries) > 1:
            raise ValueError(f"experiment kind {kind!r} is registered twice, by "
                             f"{' and '.join(m for m, _ in entries)}: keep one ANALYSIS")
    extra = sorted(set(by_kind) - set(kinds))
    if extra:  # KindAnalysis refuses an undeclared kind; a kinds list narrower than the schema
        raise ValueError(f"analysis registered for undeclared experiment kind(s) "
                         f"{', '.join(extra)}; known: {', '.join(kinds)}")
    return {kind: by_kind[kind][0][1] for kind in kinds}


def _missing(kind: str) -> str:
    return (f"experiment kind {kind!r} (sparsenet.schema.EXPERIMENTS) has no analysis "
            f"module: add analysis/kinds/{kind}.py ending with "
            f"ANALYSIS = KindAnalysis({kind!r}, tidy=...)")


def _discover() -> list[tuple[str, KindAnalysis]]:
    package = importlib.import_module("analysis.kinds")
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name in HELPERS:
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        entry = getattr(module, "ANALYSIS", None)
        if isinstance(entry, KindAnalysis):
            found.append((module.__name__, entry))
    return found


ANALYSES: dict[str, KindAnalysis] = check_registry(_discover())


def kind_analysis(kind: str) -> KindAnalysis:
    """The analysis of a kind; an unknown kind is a ``ValueError`` listing the known ones."""
    keys.experiment_kind(kind)
    if kind not in ANALYSES:
        raise ValueError(_missing(kind))
    return ANALYSES[kind]
