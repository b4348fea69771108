"""Part 1: RMSE and SMAPE against a reference, on hidden arrays and their edge cases."""

import numpy as np
import pytest

from dlcourse.checks import as_array, expect_close, expect_no_warnings

pytestmark = pytest.mark.graded("test_metrics")


# the hint for a mean taken with len(), measured by comparing with that wrong mean
_ROWS = "divided by len(), the number of rows; the mean is over all entries (use np.mean or .size)"


def _rmse(p, y):
    return float(np.sqrt(np.mean((p - y) ** 2)))


def _smape(p, y):
    den = np.abs(p) + np.abs(y)
    return float(np.mean(np.abs(p - y) / np.where(den > 0, den, 1.0)))


def _arrays(rng):
    """Predictions and targets with negative values, in a 1-D and in a non-square 2-D shape
    with more than one column: "any shape" is covered on every seed (a mean taken with
    len(), which counts rows only, fails on the 2-D pair)."""
    rows = int(rng.integers(3, 6))
    for shape in [(int(rng.integers(5, 30)),), (rows, rows + int(rng.integers(1, 4)))]:
        y = rng.normal(loc=1.0, scale=3.0, size=shape)
        yield y + rng.normal(scale=2.0, size=shape), y


@pytest.mark.graded("test_metrics", weight=2)
def test_rmse_values(student, rng):
    """rmse matches the reference on random 1-D and 2-D arrays."""
    for p, y in _arrays(rng):
        expected = _rmse(p, y)
        got = as_array(student.rmse(p, y), "rmse(y_pred, y)")
        value = float(got.reshape(-1)[0]) if got.size == 1 else np.nan
        hint = ""
        if np.isclose(value, expected**2, rtol=1e-6):
            hint = "this is the mean squared error: RMSE is its square root"
        elif np.isclose(value, np.sqrt(np.sum((p - y) ** 2) / len(p)), rtol=1e-6):
            hint = _ROWS
        expect_close(got, expected, f"rmse(y_pred, y) for arrays of shape {p.shape}", hint=hint)


def test_rmse_constant_prediction(student, rng):
    """rmse of a constant prediction, and of a perfect one."""
    y = rng.uniform(25, 350, size=int(rng.integers(10, 40)))
    c = float(y.mean())
    expect_close(student.rmse(np.full_like(y, c), y), _rmse(c, y), "rmse of a constant prediction")
    expect_close(student.rmse(y, y), 0.0, "rmse of a perfect prediction")


@pytest.mark.graded("test_metrics", weight=2)
def test_smape_values(student, rng):
    """smape matches the reference on random 1-D and 2-D arrays with positive and negative values."""
    for p, y in _arrays(rng):
        expected = _smape(p, y)
        got = as_array(student.smape(p, y), "smape(y_pred, y)")
        rows = got.size == 1 and np.isclose(
            float(got.reshape(-1)[0]), expected * p.size / len(p), rtol=1e-6
        )
        expect_close(
            got,
            expected,
            f"smape(y_pred, y) for arrays of shape {p.shape} with negative entries",
            hint=_ROWS if rows and p.ndim > 1 else "",
        )


def test_smape_where_both_are_zero(student, rng):
    """Terms where prediction and target are both 0 count as 0, without a warning."""
    n = int(rng.integers(6, 20))
    y = rng.uniform(1, 10, size=n)
    p = y + rng.normal(size=n)
    zero = rng.choice(n, size=n // 3, replace=False)
    p[zero] = y[zero] = 0.0
    smape = student.smape
    got = smape(p, y)
    expect_no_warnings(smape, "smape with terms where both values are 0 (define those terms as 0)")
    expect_close(
        got,
        _smape(p, y),
        f"smape with {len(zero)} of {n} terms where both values are 0",
        hint="a term where both values are 0 is 0 and still counts in the mean",
    )
    got = smape(np.zeros(4), np.zeros(4))
    expect_no_warnings(smape, "smape(zeros, zeros)")
    expect_close(got, 0.0, "smape(zeros, zeros)")


def test_smape_constant_prediction(student, rng):
    """smape of a constant prediction, and of predicting 0 for non-zero targets (every term 1)."""
    y = rng.uniform(25, 350, size=int(rng.integers(10, 40)))
    c = float(rng.uniform(100, 200))
    expect_close(
        student.smape(np.full_like(y, c), y), _smape(c, y), "smape of a constant prediction"
    )
    expect_close(
        student.smape(np.zeros_like(y), y),
        1.0,
        "smape of predicting 0 for non-zero targets",
        hint="with this course's definition each term is |p - y| / (|p| + |y|), at most 1",
    )
