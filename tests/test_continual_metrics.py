import math

import pytest
import torch

from sparsenet.continual.metrics import AccuracyMatrix, bwt, forgetting, mean_accuracy

NAN = float("nan")
# R[t, i]: accuracy on task i after training tasks 0..t.
FIXED = [
    [0.90, NAN, NAN],
    [0.70, 0.95, NAN],
    [0.80, 0.60, 0.85],
]


def test_matrix_starts_nan_and_fills_by_row():
    R = AccuracyMatrix(3)
    assert R.shape == (3, 3)
    assert torch.isnan(R.values).all()
    R.set_row(0, [0.5])
    R.set_row(1, [0.4, 0.6])
    assert R.row(1) == [0.4, 0.6]
    assert R.filled_rows() == 2
    assert math.isnan(float(R[2, 0]))
    with pytest.raises(ValueError):
        R.set_row(2, [0.1, 0.2])  # row 2 needs 3 entries
    with pytest.raises(ValueError):
        R.set(1, 2, 0.3)  # upper triangle is never evaluated


def test_metrics_match_hand_computation():
    # t = 2: forgetting = mean(max(.90,.70) - .80, .95 - .60) = (0.10 + 0.35) / 2
    assert forgetting(FIXED, 2) == pytest.approx(0.225)
    # bwt = mean(.80 - .90, .60 - .95) = (-0.10 - 0.35) / 2
    assert bwt(FIXED, 2) == pytest.approx(-0.225)
    assert mean_accuracy(FIXED, 2) == pytest.approx((0.80 + 0.60 + 0.85) / 3)
    # t = 1: one earlier task
    assert forgetting(FIXED, 1) == pytest.approx(0.20)
    assert bwt(FIXED, 1) == pytest.approx(-0.20)


def test_forgetting_uses_the_best_earlier_accuracy_not_the_first():
    R = [[0.5, NAN, NAN], [0.9, 0.8, NAN], [0.7, 0.8, 0.8]]
    # task 0 peaked at 0.9 (after task 1), so it forgot 0.2; BWT compares with R[0,0] = 0.5
    assert forgetting(R, 2) == pytest.approx((0.2 + 0.0) / 2)
    assert bwt(R, 2) == pytest.approx((0.2 + 0.0) / 2)


def test_t0_conventions_and_unevaluated_entries():
    R = AccuracyMatrix(3)
    R.set_row(0, [0.9])
    assert math.isnan(forgetting(R, 0)) and math.isnan(bwt(R, 0))
    assert mean_accuracy(R, 0) == pytest.approx(0.9)
    with pytest.raises(ValueError):
        forgetting(R, 1)  # row 1 not evaluated yet


def test_state_round_trip():
    R = AccuracyMatrix(2)
    R.set_row(0, [0.25])
    S = AccuracyMatrix(2)
    S.load_state_dict(R.state_dict())
    assert S.row(0) == [0.25] and math.isnan(float(S[1, 1]))
