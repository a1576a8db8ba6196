"""Result folders -> the paper's tables, figures and hypothesis tests (no torch, no ray).

Entry points: :func:`analysis.sources.load_sources` (experiment and report folders, pooled),
:func:`analysis.loading.load_experiments`, :func:`analysis.tidy.tidy_frames`,
:func:`analysis.report.build_report` and ``python -m analysis report``.
"""

from analysis.loading import NotAnExperiment, Results, load_experiment, load_experiments

__all__ = ["NotAnExperiment", "Results", "load_experiment", "load_experiments"]
