"""Part 3: the mean squared error of a linear model and its gradient."""

import numpy as np
import pytest
import torch

from dlcourse.checks import as_array, expect_close, expect_true, fail
from dlcourse.gradcheck import gradcheck

pytestmark = pytest.mark.graded("test_linear_gradient")


def _call(fn, *args):
    result = fn(*args)
    if not (isinstance(result, (tuple, list)) and len(result) == 3):
        fail("linear_loss_and_grad must return a triple (loss, dw, db)")
    loss, dw, db = result
    try:
        loss, db = (
            float(np.asarray(loss, dtype=float).reshape(())),
            float(np.asarray(db, dtype=float).reshape(())),
        )
    except (TypeError, ValueError):
        fail("linear_loss_and_grad must return the loss and db as single numbers")
    return loss, as_array(dw, "dw returned by linear_loss_and_grad"), db


def _problem(rng):
    n, d = int(rng.integers(4, 12)), int(rng.integers(2, 6))
    return (
        rng.normal(size=d),
        float(rng.normal()),
        rng.normal(size=(n, d)),
        rng.normal(scale=2.0, size=n),
    )


@pytest.mark.graded("test_linear_gradient", weight=2)
def test_against_autograd(student, rng):
    """The loss, dw and db equal torch's mean squared error and its autograd gradient."""
    w, b, X, y = _problem(rng)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    loss_t = ((torch.tensor(X) @ wt + bt - torch.tensor(y)) ** 2).mean()
    loss_t.backward()
    loss, dw, db = _call(student.linear_loss_and_grad, w, b, X, y)
    shape = f"X of shape {X.shape}"
    summed = np.isclose(loss, len(y) * loss_t.item(), rtol=1e-6)
    expect_close(
        loss,
        loss_t.item(),
        f"the loss of linear_loss_and_grad for {shape}",
        hint="this is N times the expected loss: the mean, not the sum, of the squared residuals"
        if summed
        else "",
    )
    expect_close(
        dw,
        wt.grad.numpy(),
        f"dw of linear_loss_and_grad for {shape}",
        hint="dL/dw = 2/N X^T (X w + b - y)",
    )
    expect_close(
        db,
        bt.grad.item(),
        f"db of linear_loss_and_grad for {shape}",
        hint="dL/db = 2/N sum(X w + b - y)",
    )


def test_against_own_loss(student, rng):
    """dw and db agree with finite differences of the student's own loss."""
    w, b, X, y = _problem(rng)
    fn = student.linear_loss_and_grad
    _, dw, db = _call(fn, w, b, X, y)
    report = gradcheck(
        lambda v: _call(fn, v, b, X, y)[0],
        w,
        dw,
        name="dw against finite differences of your loss",
        rng=rng,
    )
    expect_true(report.ok, str(report))
    report = gradcheck(
        lambda v: _call(fn, w, float(v[0]), X, y)[0],
        np.array([b]),
        np.array([db]),
        name="db against finite differences of your loss",
        rng=rng,
    )
    expect_true(report.ok, str(report))


def test_batch_invariance(student, rng):
    """Repeating the batch leaves the loss and its gradient unchanged (means, not sums)."""
    w, b, X, y = _problem(rng)
    fn = student.linear_loss_and_grad
    one = _call(fn, w, b, X, y)
    two = _call(fn, w, b, np.vstack([X, X]), np.concatenate([y, y]))
    for name, a, c in zip(("the loss", "dw", "db"), one, two, strict=True):
        expect_true(
            np.allclose(a, c, rtol=1e-9, atol=1e-12),
            f"linear_loss_and_grad: {name} changed when the batch was repeated: average over the N examples instead of summing",
        )
