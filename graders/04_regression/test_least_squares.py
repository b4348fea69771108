"""Part 2: the closed-form least-squares fit with a bias."""

import numpy as np
import pytest

from dlcourse.checks import expect_close, expect_shape, fail

pytestmark = pytest.mark.graded("test_least_squares")


def _fit(student, X, y):
    result = student.fit_least_squares(X, y)
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        fail("fit_least_squares must return a pair (w, b)")
    w, b = result
    w = expect_shape(w, (X.shape[1],), f"w returned by fit_least_squares for X of shape {X.shape}")
    b = expect_shape(b, (), "b returned by fit_least_squares (a single number)")
    return w, float(b)


def _reference(X, y):
    A = np.column_stack([X, np.ones(len(X))])
    theta = np.linalg.lstsq(A, y, rcond=None)[0]
    return theta[:-1], theta[-1]


def _problem(rng, noise):
    n, d = int(rng.integers(15, 40)), int(rng.integers(2, 6))
    X = rng.normal(loc=rng.normal(scale=2.0, size=d), size=(n, d))  # columns with non-zero means
    y = X @ rng.normal(scale=3.0, size=d) + rng.uniform(50, 150) + noise * rng.normal(size=n)
    return X, y


@pytest.mark.graded("test_least_squares", weight=2)
def test_matches_least_squares_solution(student, rng):
    """w and b minimise the squared error on random data with an offset."""
    X, y = _problem(rng, noise=5.0)
    w, b = _fit(student, X, y)
    w_ref, b_ref = _reference(X, y)
    hint = "append a column of ones to X so that the fit has an intercept"
    expect_close(b, b_ref, f"the bias b for X of shape {X.shape}", rtol=1e-6, atol=1e-6, hint=hint)
    expect_close(w, w_ref, f"the weights w for X of shape {X.shape}", rtol=1e-6, atol=1e-6)


def test_recovers_exact_line(student, rng):
    """Noise-free data are fitted exactly."""
    X, y = _problem(rng, noise=0.0)
    w, b = _fit(student, X, y)
    expect_close(X @ w + b, y, "the predictions X @ w + b on noise-free data", rtol=1e-6, atol=1e-6)


@pytest.mark.graded("test_least_squares", weight=2)
def test_diabetes_figures(student, data_split):
    """On the diabetes split with seed 0: validation RMSE 55.78 and SMAPE 0.162."""
    X, X_val, y, y_val = data_split("diabetes", 0)
    w, b = _fit(student, X, y)
    pred = X_val @ w + b
    rmse = float(np.sqrt(np.mean((pred - y_val) ** 2)))
    smape = float(np.mean(np.abs(pred - y_val) / (np.abs(pred) + np.abs(y_val))))
    expect_close(rmse, 55.78, "the validation RMSE of the least-squares fit", rtol=0, atol=0.005)
    expect_close(smape, 0.162, "the validation SMAPE of the least-squares fit", rtol=0, atol=5e-4)
