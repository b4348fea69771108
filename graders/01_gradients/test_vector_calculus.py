"""Part 4: the gradient of a squared norm and the mean as the minimiser."""

import pytest
import torch

from dlcourse.checks import expect_close, expect_shape, expect_true

pytestmark = pytest.mark.graded("test_vector_calculus")


def test_sq_norm_grad(student, rng):
    """sq_norm_grad(x) equals autograd's gradient of ||x||^2."""
    x = rng.normal(size=int(rng.integers(2, 8)))
    xt = torch.tensor(x, requires_grad=True)
    (xt**2).sum().backward()
    expect_close(
        student.sq_norm_grad(x), xt.grad.numpy(), f"sq_norm_grad(x) for x of shape {x.shape}"
    )


def _data(rng):
    n, d = int(rng.integers(5, 10)), int(rng.integers(2, 5))
    return rng.normal(loc=rng.normal(size=d), size=(n, d)), rng.normal(size=d)


def test_sum_sq_dist(student, rng):
    """sum_sq_dist(mu, X) is the sum over the rows of the squared distances to mu."""
    X, mu = _data(rng)
    expect_close(
        student.sum_sq_dist(mu, X),
        float(((X - mu) ** 2).sum()),
        f"sum_sq_dist(mu, X) for X of shape {X.shape}",
    )


@pytest.mark.graded("test_vector_calculus", weight=2)
def test_sum_sq_dist_grad(student, rng):
    """sum_sq_dist_grad equals autograd's gradient with respect to mu."""
    X, mu = _data(rng)
    mt = torch.tensor(mu, requires_grad=True)
    ((torch.tensor(X) - mt) ** 2).sum().backward()
    expect_close(
        student.sum_sq_dist_grad(mu, X),
        mt.grad.numpy(),
        f"sum_sq_dist_grad(mu, X) for X of shape {X.shape}",
        hint="the gradient of ||x_i - mu||^2 with respect to mu is -2 (x_i - mu)",
    )


@pytest.mark.graded("test_vector_calculus", weight=2)
def test_mean_minimiser(student, rng):
    """mean_minimiser(X) has shape (D,) and minimises sum_i ||x_i - mu||^2."""
    X, _ = _data(rng)
    mu = expect_shape(
        student.mean_minimiser(X), (X.shape[1],), f"mean_minimiser(X) for X of shape {X.shape}"
    )
    best = float(((X - X.mean(axis=0)) ** 2).sum())
    got = float(((X - mu) ** 2).sum())
    expect_true(
        got <= best + 1e-9 * max(best, 1.0),
        f"sum_i ||x_i - mu||^2 at mean_minimiser(X) is {got:.6g}, but it can be as low as {best:.6g}",
    )
    # numerically: nudging the answer in any direction must not lower the objective
    for _ in range(10):
        nudged = mu + 1e-3 * rng.normal(size=mu.shape)
        expect_true(
            float(((X - nudged) ** 2).sum()) >= got,
            "a point near mean_minimiser(X) gives a smaller sum of squared distances",
        )
