"""Part 6: the L1 regression loss and a subgradient."""

import numpy as np
import pytest
import torch

from dlcourse.checks import as_array, expect_close

pytestmark = pytest.mark.graded("test_l1")


def _data(rng):
    n, d = int(rng.integers(5, 12)), int(rng.integers(2, 5))
    return rng.normal(size=d), rng.normal(size=(n, d)), rng.normal(size=n)


def test_loss_value(student, rng):
    """l1_loss is the L1 norm of the residuals X w - y (a sum)."""
    w, X, y = _data(rng)
    expected = float(np.abs(X @ w - y).sum())
    got = as_array(student.l1_loss(w, X, y), "l1_loss(w, X, y)")
    mean = got.size == 1 and np.allclose(got.reshape(()) * len(y), expected, rtol=1e-6)
    expect_close(
        got,
        expected,
        f"l1_loss(w, X, y) for X of shape {X.shape}",
        hint="this is the mean: ||r||_1 is the sum of the absolute residuals" if mean else "",
    )


@pytest.mark.graded("test_l1", weight=2)
def test_subgradient_against_autograd(student, rng):
    """Away from kinks, l1_subgradient equals autograd's gradient."""
    w, X, y = _data(rng)
    wt = torch.tensor(w, requires_grad=True)
    (torch.tensor(X) @ wt - torch.tensor(y)).abs().sum().backward()
    expect_close(
        student.l1_subgradient(w, X, y),
        wt.grad.numpy(),
        f"l1_subgradient(w, X, y) for X of shape {X.shape}",
        hint="the derivative of |r| is sign(r), then the chain rule through r = X w - y",
    )


def test_subgradient_at_zero_residuals(student, rng):
    """Where some residuals are exactly 0, l1_subgradient uses sign(0) = 0."""
    n, d = int(rng.integers(5, 10)), 3
    off = rng.permutation(n) < n // 2  # rows whose residual is not 0
    X = rng.integers(-3, 4, size=(n, d)).astype(float)
    X[~off] = rng.integers(1, 4, size=(int((~off).sum()), d))  # a convention for sign(0) shows
    w = rng.integers(-2, 3, size=d).astype(float)
    y = X @ w  # integers: the residuals are exact
    y[off] += rng.choice([-0.5, 0.5], size=int(off.sum()))
    r = X @ w - y
    expected = X.T @ np.sign(r)
    got = as_array(student.l1_subgradient(w, X, y), "l1_subgradient(w, X, y)")
    # name the convention only when the answer is another choice of sign(0), +1 or -1
    other = [X.T @ np.where(r == 0, s, np.sign(r)) for s in (1.0, -1.0)]
    sign = got.shape == expected.shape and any(np.allclose(got, o, rtol=1e-6) for o in other)
    expect_close(
        got,
        expected,
        f"l1_subgradient(w, X, y) where {int((~off).sum())} of {n} residuals are 0",
        hint="use sign(0) = 0 for a zero residual" if sign else "",
    )
