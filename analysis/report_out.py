"""What a report section writes into: Markdown lines, CSVs and figures (``analysis.report``
and each kind's section in ``analysis.kinds.*``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.figures import save_figure
from analysis.markdown import table


@dataclass
class ReportOut:
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
