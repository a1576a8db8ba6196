"""Published numbers the claims are judged against, each with its citation, in one place.

Bump ``VERSION`` whenever a value changes: the claims CSV records it, so a report says which
anchors it used. ``quote`` is the text as written in the project's paper notes
(``shared/paper.md``); a test checks every value against its quote there.
"""

from __future__ import annotations

from dataclasses import dataclass

VERSION = "2026-11-29.1"

BAIN = "Bain 2022, The Role of Biology in Deep Learning (arXiv:2209.04425)"
FRANKLE = "Frankle & Carbin 2019, The Lottery Ticket Hypothesis (ICLR)"
NUMENTA_ADN = ("Iyer et al. 2022 (Numenta), Avoiding Catastrophe: Active Dendrites "
               "(Front. Neurorobot.)")
NUMENTA_NOISE = "Ahmad & Scheinkman 2019 (Numenta), How Can We Be So Dense?"


@dataclass(frozen=True)
class Anchor:
    """One published value: what, how much, in which unit, on which data, who says so."""

    key: str
    claim: int
    value: float
    unit: str
    dataset: str
    source: str
    quote: str
    note: str = ""


def _a(*args, **kw) -> Anchor:
    return Anchor(*args, **kw)


_LIST = [
    # claim 1: lottery tickets (LeNet-300-100 on MNIST)
    _a("bain.compression", 1, 33.0, "x", "mnist", BAIN, "**33x fewer weights**"),
    _a("bain.weights_remaining", 1, 0.03, "fraction", "mnist", BAIN,
       "(about 3% of weights remaining)"),
    _a("frankle.dense_accuracy", 1, 0.98, "accuracy", "mnist", FRANKLE,
       "(about 98% on MNIST)", "LeNet-300-100"),
    _a("frankle.matches_dense_down_to", 1, 0.036, "fraction", "mnist", FRANKLE,
       "about 3.6% weights remaining", "winning tickets keep dense accuracy down to here"),
    _a("frankle.first_below_dense", 1, 0.029, "fraction", "mnist", FRANKLE, "",
       "first round below dense accuracy (Frankle & Carbin 2019, Fig. 3; not in paper.md)"),
    # claim 2: noise (Numenta's MNIST noise scores: 11 levels 0..0.5, 10,000 images each)
    _a("bain.noise_hypothesis", 2, 0.0, "verdict", "mnist", BAIN, "the paper **rejects** it",
       "0 = rejected: weight sparsity alone does not improve noise robustness"),
    _a("numenta.noise.max", 2, 110_000, "correct images", "mnist", NUMENTA_NOISE,
       "(max 110,000 on MNIST)"),
    _a("numenta.noise.levels", 2, 11, "levels", "mnist", NUMENTA_NOISE,
       "over those 11 levels", "levels 0 to 0.5 in steps of 0.05"),
    _a("numenta.noise.dense_cnn2", 2, 97_040, "correct images", "mnist", NUMENTA_NOISE,
       "dense CNN-2 97,040"),
    _a("numenta.noise.sparse_cnn2", 2, 103_764, "correct images", "mnist", NUMENTA_NOISE,
       "sparse CNN-2 (sparse weights + k-winners) 103,764"),
    _a("numenta.noise.weight_sparse_only", 2, 70_566, "correct images", "mnist", NUMENTA_NOISE,
       "only (30% non-zero, dense activations) 70,566"),
    # claim 3: the paper's replication of Numenta's 10-task result
    _a("bain.adn_within", 3, 0.3, "points", "mnist", BAIN,
       "Numenta's 10-task result within 0.3 percentage points"),
]

# Numenta's permuted-MNIST table: mean accuracy (%) over all tasks after training on all,
# 8 seeds. Rows as in paper.md; None where the table has no value.
NUMENTA_TASKS = (2, 5, 10, 25, 50, 100)
NUMENTA_PMNIST: dict[str, tuple[float | None, ...]] = {
    "ADN (segments = tasks)": (97.47, 96.36, 94.55, 92.09, 87.05, 81.42),
    "ADN + SI": (97.65, 97.47, 97.23, 96.46, 94.45, 91.59),
    "dendrites only (ReLU, no k-winners)": (96.76, 89.11, 82.85, 76.15, 68.33, 61.54),
    "sparse representations only (no dendrites)": (96.57, 93.89, 91.33, 84.59, 75.56, 65.61),
    "3-layer MLP": (None, None, 82.03, None, None, 48.31),
}
# sparsenet's arm label (analysis.keys.model_label) -> Numenta's row
NUMENTA_ROW_OF = {
    "active_dendrites_mlp [onehot]": "ADN (segments = tasks)",
    "active_dendrites_mlp [prototype]": "ADN (segments = tasks)",
    "active_dendrites_mlp [onehot] +SI": "ADN + SI",
    "active_dendrites_mlp [prototype] +SI": "ADN + SI",
    "dendrites_mlp [onehot]": "dendrites only (ReLU, no k-winners)",
    "dendrites_mlp [prototype]": "dendrites only (ReLU, no k-winners)",
    "sparse_mlp": "sparse representations only (no dendrites)",
    "mlp": "3-layer MLP",
}
NUMENTA_PMNIST_SEEDS = 8

ANCHORS: dict[str, Anchor] = {a.key: a for a in _LIST}
for _row, _values in NUMENTA_PMNIST.items():
    for _tasks, _value in zip(NUMENTA_TASKS, _values):
        if _value is not None:
            _key = f"numenta.pmnist.{_row}.{_tasks}"
            ANCHORS[_key] = Anchor(_key, 3, _value / 100.0, "accuracy", "mnist", NUMENTA_ADN,
                                   f"{_value:.2f}", f"{_row}, {_tasks} tasks, mean of 8 seeds")


def anchor(key: str) -> Anchor:
    if key not in ANCHORS:
        raise KeyError(f"no anchor {key!r}; known: {', '.join(sorted(ANCHORS))}")
    return ANCHORS[key]


def numenta_pmnist(label: str, tasks: int) -> Anchor | None:
    """Numenta's published mean accuracy for a sparsenet arm at ``tasks`` tasks, if any."""
    row = NUMENTA_ROW_OF.get(str(label))
    if row is None or tasks is None:
        return None
    return ANCHORS.get(f"numenta.pmnist.{row}.{int(tasks)}")


def numenta_curve(row: str) -> list[tuple[int, float]]:
    """(tasks, accuracy fraction) points of one Numenta row, for figure overlays."""
    return [(t, v / 100.0) for t, v in zip(NUMENTA_TASKS, NUMENTA_PMNIST[row]) if v is not None]


def same_dataset(ours: object, published: str) -> bool:
    """``mnist`` matches ``MNIST``, not ``fashion_mnist``: absolute numbers need the same data."""
    return str(ours).strip().lower() == published.lower()
