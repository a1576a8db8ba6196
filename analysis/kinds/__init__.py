"""One analysis module per experiment kind (``sparsenet.schema.EXPERIMENTS``).

``analysis/kinds/<kind>.py`` holds everything analysis knows about that kind: its tidy
builder, its report section(s), the headline a sweep prints and the paper's claim(s) it
decides, registered once as ``ANALYSIS = KindAnalysis(kind, ...)`` (``analysis.kinds.base``).
``analysis.kinds.registry`` finds them and checks that every declared kind has exactly one.
"""
