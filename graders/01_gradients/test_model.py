"""Parts 5 and 5b: the model's gradient with respect to w, and the squared-loss step."""

import numpy as np
import pytest
import torch
from torch.autograd.functional import jacobian

from dlcourse.checks import expect_close, expect_true

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
    """model_grad_w(X) for a batch (N, 2) has one gradient row per sample."""
    n = int(rng.integers(3, 9))
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
    got = np.asarray(student.model_predict(w, X[0]), dtype=float)
    expect_true(got.size == 1, f"model_predict(w, x) for one sample returned {got.size} numbers")
    expect_close(got.reshape(()), _model(w, X[0]), "model_predict(w, x) for one sample x")


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
    expect_close(
        student.squared_loss(w, X, y),
        _oracle(w, X, y)[0],
        f"squared_loss(w, X, y) for a batch of {len(y)}",
        hint="average over the batch",
    )


@graded("test_squared_loss", weight=2)
def test_loss_gradient(student, rng):
    """squared_loss_grad equals autograd's gradient of the mean squared error."""
    w, X, y = _data(rng)
    expect_close(
        student.squared_loss_grad(w, X, y),
        _oracle(w, X, y)[1],
        f"squared_loss_grad(w, X, y) for a batch of {len(y)}",
        hint="the derivative of the square brings a factor 2, the mean a factor 1/N",
    )


@graded("test_squared_loss", weight=2)
def test_step(student, rng):
    """squared_loss_step returns w - lr * gradient of the mean squared error."""
    w, X, y = _data(rng)
    lr = float(rng.uniform(0.01, 0.2))
    expect_close(
        student.squared_loss_step(w, X, y, lr),
        w - lr * _oracle(w, X, y)[1],
        f"squared_loss_step(w, X, y, lr={lr:.3f})",
        hint="one step moves against the gradient: w - lr * grad",
    )


@graded("test_squared_loss")
def test_step_batch_invariance(student, rng):
    """Repeating the batch leaves the update unchanged (a mean, not a sum)."""
    w, X, y = _data(rng)
    one = np.asarray(student.squared_loss_step(w, X, y, 0.05), dtype=float)
    two = np.asarray(
        student.squared_loss_step(w, np.vstack([X, X]), np.tile(y, 2), 0.05), dtype=float
    )
    expect_true(
        one.shape == two.shape and np.allclose(one, two, rtol=1e-9, atol=1e-12),
        "squared_loss_step changed when the batch was repeated: average the loss over the batch instead of summing",
    )
