"""Parts 5 and 5b: the model's gradient with respect to w, and the squared-loss step."""

import numpy as np
import pytest
import torch
from torch.autograd.functional import jacobian

from dlcourse.checks import as_array, expect_close, expect_true

graded = pytest.mark.graded


def _model(w, x):
    return w[0] + w[1] * x[..., 0] + w[2] * x[..., 1] + w[3] * x[..., 0] ** 2


def _jacobian_w(w, X):
    """d y_i / d w for every row of X, shape (N, 4), by autograd."""
    return jacobian(lambda v: _model(v, torch.tensor(X)), torch.tensor(w)).numpy()


@graded("test_model_grad", weight=2)
def test_grad_one_sample(student, rng):
    """model_grad_w(x) for one sample x of shape (2,) equals autograd's gradient."""
    w, x = rng.normal(size=4), rng.normal(scale=2.0, size=2)
    wt = torch.tensor(w, requires_grad=True)
    _model(wt, torch.tensor(x)).backward()
    expect_close(
        student.model_grad_w(x),
        wt.grad.numpy(),
        f"model_grad_w(x) at x = {np.round(x, 3)}",
        hint="one entry per weight: the factor that multiplies it in the model",
    )


@graded("test_model_grad", weight=2)
def test_grad_batch(student, rng):
    """model_grad_w(X) for a batch (N, 2), N > 2 and N = 1, has one gradient row per sample."""
    # N = 2 would let a function that reads rows (x[0], x[1]) instead of columns return (2, 4)
    for n in (int(rng.integers(3, 9)), 1):
        X = rng.normal(scale=2.0, size=(n, 2))
        expect_close(
            student.model_grad_w(X),
            _jacobian_w(rng.normal(size=4), X),
            f"model_grad_w(X) for X of shape {X.shape}",
            hint="index the last axis (x[..., 0]) so one function serves a sample and a batch",
        )


@graded("test_model_grad")
def test_predict(student, rng):
    """model_predict(w, x) matches the model for one sample and for a batch."""
    w = rng.normal(size=4)
    X = rng.normal(scale=2.0, size=(int(rng.integers(3, 9)), 2))
    expect_close(
        student.model_predict(w, X), _model(w, X), f"model_predict(w, X) for X of shape {X.shape}"
    )
    got = as_array(student.model_predict(w, X[0]), "model_predict(w, x)")
    expect_true(got.size == 1, f"model_predict(w, x) for one sample returned {got.size} numbers")
    expect_close(got.reshape(()), _model(w, X[0]), "model_predict(w, x) for one sample x")


def _mean_hint(got, expected, n):
    """A hint when the answer is N times the mean (a sum over the batch), else none."""
    if got.shape == np.shape(expected) and np.allclose(got, n * np.asarray(expected), rtol=1e-6):
        return "this is N times the expected value: average over the batch instead of summing"
    return ""


def _data(rng):
    n = int(rng.integers(5, 15))
    X = rng.normal(size=(n, 2))
    return rng.normal(size=4), X, rng.normal(size=n)


def _oracle(w, X, y):
    wt = torch.tensor(w, requires_grad=True)
    loss = ((_model(wt, torch.tensor(X)) - torch.tensor(y)) ** 2).mean()
    loss.backward()
    return loss.item(), wt.grad.numpy()


@graded("test_squared_loss")
def test_loss_value(student, rng):
    """squared_loss is the mean over the batch of the squared errors."""
    w, X, y = _data(rng)
    expected = _oracle(w, X, y)[0]
    got = as_array(student.squared_loss(w, X, y), "squared_loss(w, X, y)")
    expect_close(
        got,
        expected,
        f"squared_loss(w, X, y) for a batch of {len(y)}",
        hint=_mean_hint(got, expected, len(y)),
    )


@graded("test_squared_loss", weight=2)
def test_loss_gradient(student, rng):
    """squared_loss_grad equals autograd's gradient of the mean squared error."""
    w, X, y = _data(rng)
    expected = _oracle(w, X, y)[1]
    got = as_array(student.squared_loss_grad(w, X, y), "squared_loss_grad(w, X, y)")
    hint = _mean_hint(got, expected, len(y))
    if not hint and got.shape == expected.shape and np.allclose(2 * got, expected, rtol=1e-6):
        hint = "the derivative of the square brings a factor 2"
    expect_close(got, expected, f"squared_loss_grad(w, X, y) for a batch of {len(y)}", hint=hint)


@graded("test_squared_loss", weight=2)
def test_step(student, rng):
    """squared_loss_step returns w - lr * gradient of the mean squared error."""
    w, X, y = _data(rng)
    lr = float(rng.uniform(0.01, 0.2))
    grad = _oracle(w, X, y)[1]
    got = as_array(student.squared_loss_step(w, X, y, lr), "squared_loss_step(w, X, y, lr)")
    ascent = got.shape == w.shape and np.allclose(got, w + lr * grad, rtol=1e-6)
    expect_close(
        got,
        w - lr * grad,
        f"squared_loss_step(w, X, y, lr={lr:.3f})",
        hint="the step went up the gradient: w - lr * grad" if ascent else "",
    )


@graded("test_squared_loss")
def test_step_batch_invariance(student, rng):
    """Repeating the batch leaves the update unchanged (a mean, not a sum)."""
    w, X, y = _data(rng)
    one = as_array(student.squared_loss_step(w, X, y, 0.05), "squared_loss_step(w, X, y, lr)")
    two = as_array(
        student.squared_loss_step(w, np.vstack([X, X]), np.tile(y, 2), 0.05),
        "squared_loss_step(w, X, y, lr)",
    )
    expect_true(
        one.shape == two.shape and np.allclose(one, two, rtol=1e-9, atol=1e-12),
        "squared_loss_step changed when the batch was repeated: average the loss over the batch instead of summing",
    )
