"""The Claims section, claims.csv, the readme-table command and the published overlays, over
the quick-sweep experiment folders the other analysis tests use."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import claims as C
from analysis.__main__ import main
from analysis.figures import imp_figure, running_mean_figure
from analysis.report import HEADINGS, build_report
from test_analysis_fakes import fake_continual, fake_imp, fake_noise


@pytest.fixture(scope="module")
def experiments(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    return [fake_imp(root), fake_noise(root),
            fake_continual(root, "pmnist", "permuted", unfinished=True),
            fake_continual(root, "split_cifar", "split", unfinished=True)]


def test_report_has_the_claims_section_and_csv(experiments, tmp_path):
    text = build_report(experiments, tmp_path, resamples=300).read_text()
    section = text.split(f"## {HEADINGS['claims']}\n", 1)[1].split("\n## ", 1)[0]
    assert text.index(HEADINGS["claims"]) < text.index(HEADINGS["imp"])
    assert "| claim | dataset | protocol | comparison | published | source |" in section
    assert "Rules:" in section and "Holm" in section and "TOST" in section
    assert "about a third of the gain Numenta" in section  # the rule's why is quoted
    claims = pd.read_csv(tmp_path / "claims.csv")
    assert list(claims.columns) == C.COLUMNS
    verdict = {(r["claim"][0], r["comparison"]): r["verdict"] for r in claims.to_dict("records")}
    # the fake tickets lose 1.4 points at 3.1x (every seed): short of 33x; the errored 4th
    # seed stops after round 1, and the verdict says so
    assert verdict["1", "highest compression with winning tickets non-inferior to dense "
                        "(margin 0.5 points)"] == \
        f"{C.NOT_REPRODUCED} (partial: 3 of 4 seeds from 1.6x on)"
    assert verdict["1", "winning vs random tickets at 2.4x"] == C.REPRODUCED
    noise = claims[claims["claim"].str.startswith("2")]
    # 2 noises x (winning, random tickets + weight-, activation-, both-sparse controls)
    assert set(noise["verdict"]) == {C.REPRODUCED} and len(noise) == 10
    adn = "active_dendrites_mlp [onehot]"
    assert verdict["3", f"{adn} vs mlp"] == C.REPRODUCED
    assert verdict["3", f"{adn} vs Numenta's published mean"] == \
        "inconclusive (no published value at 3 tasks)"
    assert verdict["4", "active_dendrites_cnn [onehot] vs cnn (baseline without task id)"] == \
        C.REPRODUCED
    continual = claims[claims["claim"].str[0].isin(["3", "4"])]
    assert (continual["n"] == 3).all()  # complete trials only: the unfinished 4th seed is out
    assert f"| 3. active dendrites (permuted) | digits | 3 tasks | {adn} vs mlp |" in section


def test_readme_table_prints_the_headline_rows(experiments, capsys):
    assert main(["readme-table", *map(str, experiments), "--tolerance", "2"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert lines[0].startswith("| claim | dataset | protocol | comparison | published |")
    assert "| test |" not in lines[0]
    rows = [line for line in lines if line.startswith("| 1.") or line.startswith("| 2.")
            or line.startswith("| 3.") or line.startswith("| 4.")]
    assert {r[2] for r in rows} == {"1", "2", "3", "4"}
    assert not any("[forgetting]" in r for r in rows)  # forgetting rows are report-only
    assert f"`python -m analysis readme-table {' '.join(map(str, experiments))}`" in out
    assert "non-inferior to dense (margin 2 points)" in out  # the old flag name still works


def test_readme_table_rejects_bad_flags_and_folders(tmp_path, capsys):
    assert main(["readme-table", str(tmp_path), "--alpha", "2"]) == 2
    assert capsys.readouterr().err == "error: --alpha must be in (0, 0.5): the tests are " \
                                      "one-sided, got 2\n"
    assert main(["readme-table", str(tmp_path)]) == 2
    assert "is not a sparsenet experiment folder" in capsys.readouterr().err


def _labels(fig) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def test_figures_mark_the_published_anchors():
    imp = pd.DataFrame({"seed": [0, 0, 1, 1], "ticket": "winning", "dataset": "mnist",
                        "weights_remaining": [1.0, 0.5] * 2, "round_test_acc_at_best_val": 0.98})
    labels = _labels(imp_figure(imp))
    assert "F&C 2019 (published):\n= dense to 3.6%" in labels
    assert "Bain 2022 (published):\nno loss at 3%" in labels
    assert "F&C 2019 (published):\nMNIST accuracy" in labels  # accuracy points: MNIST only
    assert "F&C 2019 (published):\nMNIST accuracy" not in _labels(
        imp_figure(imp.assign(dataset="fashion_mnist")))
    running = pd.DataFrame({"stream": "permuted", "num_tasks": 10, "label": "mlp",
                            "tasks_trained": range(1, 11), "running_mean": 0.9})
    labels = _labels(running_mean_figure(running))
    assert "Numenta ADN\n(published, MNIST)" in labels
    assert "Numenta 3-layer MLP\n(published, MNIST)" in labels
    split = running.assign(stream="split")
    assert not any("Numenta" in t for t in _labels(running_mean_figure(split)))
