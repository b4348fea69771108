"""Part 5: the sigmoid and the L2-regularised log loss with its gradient."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse.checks import (
    as_array,
    expect_close,
    expect_finite,
    expect_no_warnings,
    expect_true,
    fail,
)
from dlcourse.gradcheck import gradcheck

graded = pytest.mark.graded


def _call(fn, *args):
    result = fn(*args)
    if not (isinstance(result, (tuple, list)) and len(result) == 3):
        fail("logistic_loss_and_grad must return a triple (loss, dw, db)")
    loss, dw, db = result
    try:
        loss = float(np.asarray(loss, dtype=float).reshape(()))
        db = float(np.asarray(db, dtype=float).reshape(()))
    except (TypeError, ValueError):
        fail("logistic_loss_and_grad must return the loss and db as single numbers")
    return loss, as_array(dw, "dw returned by logistic_loss_and_grad"), db


def _problem(rng):
    n, d = int(rng.integers(5, 14)), int(rng.integers(2, 6))
    X = rng.normal(size=(n, d))
    y = rng.integers(0, 2, size=n).astype(float)
    y[:2] = (0.0, 1.0)
    return rng.normal(size=d), float(rng.normal()), X, y, float(rng.uniform(0.05, 2.0))


def _oracle(w, b, X, y, lam):
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    z = torch.tensor(X) @ wt + bt
    loss = F.binary_cross_entropy_with_logits(z, torch.tensor(y)) + lam * (wt**2).sum()
    loss.backward()
    return loss.item(), wt.grad.numpy(), bt.grad.item()


@graded("test_logistic_gradient")
def test_sigmoid_values(student, rng):
    """sigmoid matches the definition elementwise, in the input's shape (1-D and 2-D)."""
    rows = int(rng.integers(2, 5))
    for shape in [(int(rng.integers(3, 9)),), (rows, rows + int(rng.integers(1, 3)))]:
        z = rng.normal(scale=4.0, size=shape)
        expect_close(
            student.sigmoid(z),
            torch.sigmoid(torch.tensor(z)).numpy(),
            f"sigmoid(z) for z of shape {z.shape}",
        )


@graded("test_logistic_gradient")
@pytest.mark.parametrize(
    "value", [1000.0, -1000.0, 745.5, -745.5], ids=["z=1000", "z=-1000", "z=745.5", "z=-745.5"]
)
def test_sigmoid_large_inputs(student, value):
    """sigmoid stays finite and warning-free at large |z|."""
    z = np.array([value, 0.0])
    sigmoid = student.sigmoid
    got = sigmoid(z)
    expect_no_warnings(sigmoid, f"sigmoid({value:g})")
    expect_close(got, torch.sigmoid(torch.tensor(z)).numpy(), f"sigmoid({value:g})", atol=1e-12)


@graded("test_logistic_gradient", weight=4)
def test_against_autograd(student, rng):
    """The loss, dw and db equal torch's regularised log loss and its autograd gradient."""
    w, b, X, y, lam = _problem(rng)
    exp_loss, exp_dw, exp_db = _oracle(w, b, X, y, lam)
    loss, dw, db = _call(student.logistic_loss_and_grad, w, b, X, y, lam)
    where = f"for X of shape {X.shape} and lam={lam:.3f}"
    p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    hint = "dL/dw = X^T (p - y) / N + 2 lam w"
    if np.allclose(dw, exp_dw - lam * w, rtol=1e-6):
        hint = "the derivative of lam * ||w||^2 is 2 lam w"
    elif np.allclose(dw, -X.T @ (p - y) / len(y) + 2 * lam * w, rtol=1e-6):
        hint = "the sign of the data term is flipped: the derivative of the log loss with respect to the logits is p - y"
    expect_close(dw, exp_dw, f"dw of logistic_loss_and_grad {where}", hint=hint)
    hint = "dL/db = mean(p - y)"
    if np.isclose(db, exp_db + 2 * lam * b, rtol=1e-6):
        hint = "the bias is not regularised: lam * ||w||^2 does not depend on b"
    expect_close(db, exp_db, f"db of logistic_loss_and_grad {where}", hint=hint)

    expect_close(
        loss,
        exp_loss,
        f"the loss of logistic_loss_and_grad {where}",
        hint="the mean log loss over the batch plus lam * ||w||^2 (w only)",
    )


@graded("test_logistic_gradient", weight=2)
def test_against_own_loss(student, rng):
    """dw and db agree with finite differences of the student's own loss."""
    w, b, X, y, lam = _problem(rng)
    fn = student.logistic_loss_and_grad
    _, dw, db = _call(fn, w, b, X, y, lam)
    report = gradcheck(
        lambda v: _call(fn, v, b, X, y, lam)[0],
        w,
        dw,
        name="dw against finite differences of your loss",
        rng=rng,
    )
    expect_true(report.ok, str(report))
    # db alone is one coordinate: its relative floor would scale with db
    # itself, and where db is about 1e-6 the finite differences' own noise
    # failed a correct answer; dw (checked above, so sound) sets the scale
    scale = float(np.max(np.abs(np.asarray(dw, dtype=float))))
    report = gradcheck(
        lambda v: _call(fn, w, float(v[0]), X, y, lam)[0],
        np.array([b]),
        np.array([db]),
        name="db against finite differences of your loss",
        rng=rng,
        floor=1e-3 * max(scale, 1e-8),
    )
    expect_true(report.ok, str(report))


@graded("test_logistic_gradient")
def test_batch_invariance(student, rng):
    """Repeating the batch leaves the loss and its gradient unchanged (means, not sums)."""
    w, b, X, y, lam = _problem(rng)
    fn = student.logistic_loss_and_grad
    one = _call(fn, w, b, X, y, lam)
    two = _call(fn, w, b, np.vstack([X, X]), np.concatenate([y, y]), lam)
    for name, a, c in zip(("the loss", "dw", "db"), one, two, strict=True):
        expect_true(
            np.allclose(a, c, rtol=1e-9, atol=1e-12),
            f"logistic_loss_and_grad: {name} changed when the batch was repeated: average the log loss over the N examples",
        )


@graded("test_logistic_gradient", weight=2)
def test_large_logits(student, rng):
    """With logits of about +-800 the loss and gradient stay finite, warning-free and correct."""
    d = 3
    w = np.array([200.0, -200.0, 100.0])
    X = np.sign(rng.normal(size=(6, d))) * 2.0  # logits of size 0 to 1000
    X[:, 2] = rng.choice([-2.0, 2.0], size=6)
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    lam = 0.0
    fn = student.logistic_loss_and_grad
    loss, dw, db = _call(fn, w, 0.0, X, y, lam)
    expect_no_warnings(fn, "logistic_loss_and_grad at logits of about +-800")
    expect_finite(
        loss,
        "the loss of logistic_loss_and_grad at logits of about +-800 (compute it from the logits)",
    )
    _, exp_dw, exp_db = _oracle(w, 0.0, X, y, lam)
    expect_close(dw, exp_dw, "dw of logistic_loss_and_grad at logits of about +-800", atol=1e-10)
    expect_close(db, exp_db, "db of logistic_loss_and_grad at logits of about +-800", atol=1e-10)
