"""The anchor table in one place: every value against its citation as written in paper.md
(the quote always; paper.md itself when the shared notes are there), and the overlays."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis import anchors as A

PAPER = Path(__file__).resolve().parents[2] / "shared" / "paper.md"
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _numbers(text: str) -> list[float]:
    return [float(m.replace(",", "")) for m in _NUMBER.findall(text)]


def _shown(anchor: A.Anchor) -> float:
    """The value as the citation writes it: fractions as percent."""
    scale = 100.0 if anchor.unit in ("fraction", "accuracy") else 1.0
    return round(anchor.value * scale, 6)


@pytest.mark.parametrize("key", sorted(A.ANCHORS))
def test_each_value_is_the_number_its_quote_gives(key):
    anchor = A.ANCHORS[key]
    assert anchor.source and anchor.dataset == "mnist" and anchor.claim in (1, 2, 3)
    if anchor.unit == "verdict":
        assert "reject" in anchor.quote and anchor.value == 0.0
    elif not anchor.quote:  # a number from the original paper that paper.md does not carry
        assert "not in paper.md" in anchor.note
    else:
        assert _shown(anchor) in _numbers(anchor.quote), (key, anchor.quote)


def test_the_published_values_the_claims_rest_on():
    assert A.anchor("bain.compression").value == 33
    assert A.anchor("bain.weights_remaining").value == 0.03
    assert A.anchor("frankle.dense_accuracy").value == 0.98
    assert A.anchor("frankle.matches_dense_down_to").value == 0.036
    assert A.anchor("frankle.first_below_dense").value == 0.029
    assert A.anchor("bain.adn_within").value == 0.3
    assert [A.anchor(f"numenta.noise.{k}").value for k in
            ("dense_cnn2", "sparse_cnn2", "weight_sparse_only", "levels", "max")] == \
        [97_040, 103_764, 70_566, 11, 110_000]
    assert A.numenta_pmnist("active_dendrites_mlp [onehot]", 10).value == pytest.approx(0.9455)
    assert A.numenta_pmnist("mlp", 100).value == pytest.approx(0.4831)
    assert A.numenta_pmnist("mlp", 5) is None and A.numenta_pmnist("cnn", 10) is None
    assert A.numenta_curve("3-layer MLP") == [(10, pytest.approx(0.8203)),
                                             (100, pytest.approx(0.4831))]
    assert A.same_dataset("MNIST", "mnist") and not A.same_dataset("fashion_mnist", "mnist")
    with pytest.raises(KeyError, match="no anchor 'nope'"):
        A.anchor("nope")


@pytest.mark.skipif(not PAPER.exists(), reason="the shared paper notes are not here")
def test_quotes_and_numentas_table_are_as_written_in_paper_md():
    text = " ".join(PAPER.read_text().split())
    for anchor in A.ANCHORS.values():
        if anchor.quote and not anchor.key.startswith("numenta.pmnist."):
            assert anchor.quote in text, anchor.key
    table = {}
    for line in PAPER.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] in A.NUMENTA_PMNIST:
            table[cells[0]] = tuple(float(c) if c else None for c in cells[1:])
        if line.startswith("| tasks"):
            assert tuple(int(c) for c in cells[1:]) == A.NUMENTA_TASKS
    assert table == A.NUMENTA_PMNIST
    assert f"over {A.NUMENTA_PMNIST_SEEDS} seeds" in text
    low, high, step = _numbers("levels 0 to 0.5 in steps of 0.05")
    assert "levels 0 to 0.5 in steps of 0.05" in text
    assert round((high - low) / step) + 1 == A.anchor("numenta.noise.levels").value
