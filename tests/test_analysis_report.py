"""The report command end to end on fake experiment folders, and the notebook."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import analysis.report
from analysis.__main__ import main
from analysis.kinds import continual as continual_kind
from analysis.kinds import imp as imp_kind
from analysis.kinds import noise as noise_kind
from analysis.report import HEADINGS, build_report
from test_analysis_fakes import (fake_continual, fake_imp, fake_noise, write_experiment,
                                 write_trial)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "analysis" / "notebooks" / "paper_figures.ipynb"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def experiments(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    return root, [fake_imp(root), fake_noise(root),
                  fake_continual(root, "pmnist", "permuted", unfinished=True),
                  fake_continual(root, "split_cifar", "split", unfinished=True)]


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.slow
def test_report_command_writes_every_table_and_figure(experiments, tmp_path, capsys):
    _, paths = experiments
    out = tmp_path / "report"
    assert main(["report", *map(str, paths), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"report: {out / 'report.md'}"
    text = (out / "report.md").read_text()
    for heading in (*HEADINGS.values(), imp_kind.HEADING, *noise_kind.HEADINGS.values(),
                    *continual_kind.HEADINGS.values()):
        assert f"# {heading}\n" in text, heading
    assert "stay within 0.5 points of dense accuracy" in text
    assert "Not shown: the noise score (set_2sigma) of winning tickets at 96.7% pruned" in text
    assert "Supported: the noise score (set_2sigma) of the activation sparsity" in text
    pngs = sorted(out.glob("*.png"))
    assert {p.stem for p in pngs} == {"imp_accuracy", "noise_accuracy", "running_mean_permuted",
                                      "accuracy_matrix_permuted", "running_mean_split",
                                      "accuracy_matrix_split"}
    for png in pngs:
        width, height = _png_size(png)
        assert 200 < width < 2500 and 200 < height < 2000
        assert f"]({png.name})" in text
    for csv in ("trials", "imp_table", "imp_headline", "noise_accuracy", "noise_score_table",
                "noise_hypothesis", "permuted_table", "split_table", "tidy_imp"):
        assert (out / f"{csv}.csv").stat().st_size > 0, csv


@pytest.mark.slow
def test_report_on_a_sweep_that_has_barely_started(tmp_path):
    started = write_experiment(tmp_path, "fresh", "noise", "noise_robustness.py")
    write_trial(started, 0, {"experiment": "noise", "control_seed": 0}, [], finished=False)
    imp = fake_imp(tmp_path, seeds=1)
    report = build_report([started, imp], tmp_path / "out", resamples=200, pdf=True)
    text = report.read_text()
    assert "_(no networks evaluated yet)_" in text
    assert "| fresh | noise | noise_robustness.py | 1 | 0 | 0 | 1 |" in text
    assert "running/unfinished" in text and "every number below is partial" in text
    assert (tmp_path / "out" / "imp_accuracy.pdf").read_bytes()[:5] == b"%PDF-"
    finished = build_report([imp], tmp_path / "out2", finished_only=True).read_text()
    assert "are left out (--finished-only)" in finished


@pytest.mark.slow
def test_report_command_rejects_a_folder_that_is_not_an_experiment(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "analysis", "report", str(tmp_path),
                           "--out", str(tmp_path / "o")], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {tmp_path} is not a sparsenet experiment folder (no sparsenet_experiment.json)"
        f"; nor a report folder (no trials.csv with tidy_*.csv)"]
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_notebook_is_valid_and_runs_on_a_results_folder(experiments, tmp_path, monkeypatch,
                                                         capsys):
    nb = json.loads(NOTEBOOK.read_text())
    assert nb["nbformat"] == 4 and nb["nbformat_minor"] >= 4
    assert {c["cell_type"] for c in nb["cells"]} == {"markdown", "code"}
    for cell in nb["cells"]:
        assert isinstance(cell["source"], list) and "id" in cell and "metadata" in cell
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
    root, paths = experiments
    # exec outside a kernel: the notebook's plain-text fallback, whether or not IPython is
    # installed (the headless kernel run in test_notebook_headless covers the rich path)
    monkeypatch.setitem(sys.modules, "IPython", None)
    monkeypatch.setitem(sys.modules, "IPython.display", None)
    monkeypatch.setenv("SPARSENET_RESULTS", str(root))
    monkeypatch.setenv("SPARSENET_REPORT", str(tmp_path / "nb"))
    calls = []  # the last cell's full report is tested above; here only that it is called
    monkeypatch.setattr(analysis.report, "build_report", lambda *a, **k: calls.append(a) or "r")
    namespace: dict = {}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), "paper_figures.ipynb", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "4 experiment(s)" in printed and "Supported: the noise score" in printed
    assert "| active_dendrites_mlp [onehot] | 3 |" in printed
    assert printed.count("Figure(") == 4  # imp, noise, running mean, accuracy matrix
    assert calls == [(sorted(paths), tmp_path / "nb")]
