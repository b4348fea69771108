"""Part 4: gradient descent on the mean squared error reaches the least-squares solution."""

import numpy as np
import pytest

from dlcourse.checks import expect_close, expect_finite, expect_true, fail

pytestmark = pytest.mark.graded("test_gradient_descent")

LR, STEPS = 0.1, 2000
# Measured with the reference over 100 split seeds: |validation RMSE of gradient descent
# (lr 0.1, 2000 steps) - validation RMSE of least squares| <= 0.082 (seed 0: 55.795 vs 55.778).
RMSE_MARGIN = 0.3


def _fit(student, X, y, lr, steps, X_val=None, y_val=None):
    result = student.fit_gradient_descent(X, y, lr, steps, X_val, y_val)
    if not (isinstance(result, (tuple, list)) and len(result) == 4):
        fail("fit_gradient_descent must return (w, b, train_losses, val_losses)")
    w, b, train_losses, val_losses = result
    what = f"fit_gradient_descent(..., lr={lr}, steps={steps})"
    w = expect_finite(w, f"w returned by {what} (does each update move against the gradient?)")
    b = float(expect_finite(b, f"b returned by {what}"))
    try:
        train_losses = np.asarray(train_losses, dtype=float)
        val_losses = np.asarray(val_losses, dtype=float)
    except (TypeError, ValueError):
        fail(f"the loss curves returned by {what} must be lists of numbers")
    return w, b, train_losses, val_losses


def _mse(w, b, X, y):
    return float(np.mean((X @ w + b - y) ** 2))


def _rmse(w, b, X, y):
    return float(np.sqrt(_mse(w, b, X, y)))


@pytest.mark.graded("test_gradient_descent", weight=3)
def test_reaches_least_squares_on_diabetes(student, rng, data_split):
    """On a diabetes split, lr 0.1 and 2000 steps end within 0.3 of the least-squares validation RMSE."""
    seed = int(rng.integers(1000))
    X, X_val, y, y_val = data_split("diabetes", seed)
    w, b, _, _ = _fit(student, X, y, LR, STEPS, X_val, y_val)
    theta = np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), y, rcond=None)[0]
    best = _rmse(theta[:-1], theta[-1], X_val, y_val)
    got = _rmse(w, b, X_val, y_val)
    expect_true(
        abs(got - best) <= RMSE_MARGIN,
        f"fit_gradient_descent(..., lr={LR}, steps={STEPS}) on the diabetes split with seed {seed} "
        f"reaches a validation RMSE of {got:.3f}; the least-squares optimum is {best:.3f} "
        f"(allowed difference {RMSE_MARGIN}); are w and b both updated, against the gradient, every step?",
    )


def test_first_update(student, rng):
    """One step from w = 0, b = 0 moves by -lr times the gradient there."""
    n, d = int(rng.integers(5, 15)), int(rng.integers(2, 5))
    X, y = rng.normal(size=(n, d)), rng.normal(loc=3.0, size=n)
    lr = float(rng.uniform(0.01, 0.2))
    w, b, _, _ = _fit(student, X, y, lr, 1)
    expect_close(
        w,
        lr * 2 * X.T @ y / n,
        f"w after one step of fit_gradient_descent with lr={lr:.3f}",
        hint="start from w = 0 and update w -= lr * dw",
    )
    expect_close(
        b,
        lr * 2 * y.mean(),
        f"b after one step of fit_gradient_descent with lr={lr:.3f}",
        hint="start from b = 0 and update b -= lr * db",
    )


@pytest.mark.graded("test_gradient_descent", weight=2)
def test_converges_on_synthetic_data(student, rng):
    """On a well-conditioned problem the parameters converge to the least-squares solution."""
    n, d = 60, int(rng.integers(2, 5))
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + float(rng.uniform(-5, 5)) + 0.3 * rng.normal(size=n)
    w, b, _, _ = _fit(student, X, y, 0.1, 500)
    theta = np.linalg.lstsq(np.column_stack([X, np.ones(n)]), y, rcond=None)[0]
    expect_close(
        w,
        theta[:-1],
        "w after 500 steps with lr=0.1 on a well-conditioned problem",
        rtol=1e-4,
        atol=1e-6,
    )
    expect_close(
        b,
        theta[-1],
        "b after 500 steps with lr=0.1 on a well-conditioned problem",
        rtol=1e-4,
        atol=1e-6,
    )


def test_loss_curves(student, rng, data_split):
    """train_losses and val_losses hold one MSE per step, measured after each update."""
    X, X_val, y, y_val = data_split("diabetes", int(rng.integers(1000)))
    steps = 50
    w, b, train_losses, val_losses = _fit(student, X, y, LR, steps, X_val, y_val)
    # the MSEs before each update, to name that cause only when it is what was recorded
    before, bw, bb = {"train": [], "val": []}, np.zeros(X.shape[1]), 0.0
    for _ in range(steps):
        before["train"].append(_mse(bw, bb, X, y))
        before["val"].append(_mse(bw, bb, X_val, y_val))
        r = X @ bw + bb - y
        bw, bb = bw - LR * 2 * X.T @ r / len(y), bb - LR * 2 * r.mean()

    def hint(curve, key):
        if curve.shape == (steps,) and np.allclose(curve, before[key], rtol=1e-6):
            return f"the curve holds the {key} MSE before each update: record it after the update"
        return ""

    for name, curve in (("train_losses", train_losses), ("val_losses", val_losses)):
        expect_true(
            curve.shape == (steps,),
            f"fit_gradient_descent(..., steps={steps}) returned {curve.size} entries in {name}; expected one per step",
        )
        expect_finite(curve, name)
    expect_close(
        train_losses[-1],
        _mse(w, b, X, y),
        "the last entry of train_losses",
        rtol=1e-6,
        hint=hint(train_losses, "train"),
    )
    expect_close(
        val_losses[-1],
        _mse(w, b, X_val, y_val),
        "the last entry of val_losses",
        rtol=1e-6,
        hint=hint(val_losses, "val"),
    )
    expect_true(
        bool(np.all(np.diff(train_losses) <= 1e-9 * train_losses[:-1])),
        "train_losses increases somewhere: with lr = 0.1 every step of gradient descent lowers the training MSE",
    )
    _, _, _, none = _fit(student, X, y, LR, 3)
    expect_true(none.size == 0, "without validation data, val_losses must be empty")
