"""Parts 6-8: MSE, binary cross-entropy and softmax cross-entropy with gradients."""

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

graded = pytest.mark.graded


def _loss_and_grad(result, name):
    if not (isinstance(result, tuple) and len(result) == 2):
        fail(f"{name} must return a pair (loss, grad); got {type(result).__name__}")
    loss, grad = result
    try:
        loss = float(np.asarray(loss, dtype=float).reshape(()))
    except (TypeError, ValueError):
        fail(f"the loss returned by {name} must be a single number; got {type(loss).__name__}")
    return loss, grad


def _shapes(rng):
    """(N,) and (N, K) with K >= 2 and N != K: a gradient divided by the number of rows
    instead of the number of entries, or transposed, fails on every seed."""
    n = int(rng.integers(3, 8))
    return [(n,), (n, n + int(rng.integers(1, 3)))]


def _sum_hint(got, expected, count, what):
    """A hint when ``got`` is ``count`` times ``expected`` (a sum where a mean was asked)."""
    if count > 1 and np.isclose(got, count * expected, rtol=1e-6):
        return f"this is {count} times the expected value: average over {what} instead of summing"
    return ""


def _oracle(fn, x, *args):
    xt = torch.tensor(x, requires_grad=True)
    loss = fn(xt, *args)
    loss.backward()
    return loss.item(), xt.grad.numpy()


@graded("test_mse", weight=2)
def test_mse_value_and_gradient(student, rng):
    """mse_loss matches torch's mean-reduced MSE and its gradient, for (N,) and (N, K) inputs."""
    for shape in _shapes(rng):
        pred, y = rng.normal(size=shape), rng.normal(size=shape)
        loss, grad = _loss_and_grad(student.mse_loss(pred, y), "mse_loss")
        exp_loss, exp_grad = _oracle(F.mse_loss, pred, torch.tensor(y))
        expect_close(
            loss,
            exp_loss,
            f"mse_loss value for shape {shape}",
            hint=_sum_hint(loss, exp_loss, pred.size, "all entries"),
        )
        grad = as_array(grad, f"mse_loss gradient for shape {shape}")
        hint = ""
        if grad.shape == shape and len(shape) == 2 and np.allclose(grad, exp_grad * shape[1]):
            hint = "divided by the number of rows N; the mean is over all N * K entries"
        expect_close(grad, exp_grad, f"mse_loss gradient for shape {shape}", hint=hint)


@graded("test_mse")
def test_mse_batch_invariance(student, rng):
    """Repeating the batch leaves the MSE unchanged (a mean, not a sum)."""
    pred, y = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    one, _ = _loss_and_grad(student.mse_loss(pred, y), "mse_loss")
    two, _ = _loss_and_grad(
        student.mse_loss(np.vstack([pred, pred]), np.vstack([y, y])), "mse_loss"
    )
    expect_true(
        np.isclose(one, two),
        f"mse_loss changed from {one:.4g} to {two:.4g} when the batch was repeated: average over the batch instead of summing",
    )
    # a constant is batch-invariant too: the value itself must be right
    expect_close(one, float(np.mean((pred - y) ** 2)), "mse_loss value for shape (4, 2)")


@graded("test_bce", weight=2)
def test_bce_value_and_gradient(student, rng):
    """binary_cross_entropy matches torch's mean-reduced BCE and its gradient, for (N,) and (N, K)."""
    for shape in _shapes(rng):
        p = rng.uniform(0.02, 0.98, size=shape)
        y = rng.integers(0, 2, size=shape).astype(float)
        loss, grad = _loss_and_grad(student.binary_cross_entropy(p, y), "binary_cross_entropy")
        exp_loss, exp_grad = _oracle(F.binary_cross_entropy, p, torch.tensor(y))
        expect_close(
            loss,
            exp_loss,
            f"binary_cross_entropy value for shape {shape}",
            hint=_sum_hint(loss, exp_loss, p.size, "all entries"),
        )
        grad = as_array(grad, f"binary_cross_entropy gradient for shape {shape}")
        hint = ""
        if grad.shape == shape and len(shape) == 2 and np.allclose(grad, exp_grad * shape[1]):
            hint = "divided by the number of rows N; the mean is over all N * K entries"
        expect_close(grad, exp_grad, f"binary_cross_entropy gradient for shape {shape}", hint=hint)


@graded("test_bce")
def test_bce_clipping(student):
    """binary_cross_entropy stays finite and warning-free when p is exactly 0 or 1."""
    p = np.array([0.0, 1.0, 0.0, 1.0])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    bce = student.binary_cross_entropy
    loss, grad = _loss_and_grad(bce(p, y), "binary_cross_entropy")
    expect_no_warnings(bce, "binary_cross_entropy at p = 0 and p = 1")
    expect_finite(loss, "binary_cross_entropy at p = 0 and p = 1 (clip p to [eps, 1 - eps])")
    expect_finite(grad, "the gradient of binary_cross_entropy at p = 0 and p = 1")
    half, _ = _loss_and_grad(bce(np.full(4, 0.5), y), "binary_cross_entropy")
    expect_close(half, np.log(2), "binary_cross_entropy at p = 0.5 (ln 2 for any labels)")
    expect_true(
        loss > 5,
        f"binary_cross_entropy of confident wrong predictions should be large; got {loss:.3g}",
    )


@graded("test_bce")
def test_bce_batch_invariance(student, rng):
    """Repeating the batch leaves the log loss unchanged."""
    p = rng.uniform(0.1, 0.9, size=5)
    y = rng.integers(0, 2, size=5).astype(float)
    one, _ = _loss_and_grad(student.binary_cross_entropy(p, y), "binary_cross_entropy")
    two, _ = _loss_and_grad(
        student.binary_cross_entropy(np.tile(p, 2), np.tile(y, 2)), "binary_cross_entropy"
    )
    expect_true(
        np.isclose(one, two),
        f"binary_cross_entropy changed from {one:.4g} to {two:.4g} when the batch was repeated: average instead of summing",
    )
    expected = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    expect_close(one, expected, "binary_cross_entropy value for 5 examples")


@graded("test_softmax_ce", weight=3)
def test_softmax_ce_value_and_gradient(student, rng):
    """softmax_cross_entropy matches torch.nn.functional.cross_entropy and its gradient."""
    k = int(rng.integers(2, 6))
    n = k + int(rng.integers(1, 4))  # N > K: never square
    z = rng.normal(scale=2.0, size=(n, k))
    y = rng.integers(0, k, size=n)
    y[:2] = (0, 1)  # at least two classes, so that log_probs[:, y] differs from the answer
    loss, grad = _loss_and_grad(student.softmax_cross_entropy(z, y), "softmax_cross_entropy")
    exp_loss, exp_grad = _oracle(lambda a: F.cross_entropy(a, torch.tensor(y)), z)
    log_probs = F.log_softmax(torch.tensor(z), dim=1).numpy()
    hint = _sum_hint(loss, exp_loss, n, "the batch")
    if np.isclose(loss, -log_probs[:, y].mean(), rtol=1e-6):
        hint = (
            "log_probs[:, y] takes every row's log-probability of every label (an N x N table); "
            "pick each row's own label with log_probs[np.arange(N), y]"
        )
    expect_close(
        loss, exp_loss, f"softmax_cross_entropy value for logits of shape {(n, k)}", hint=hint
    )
    grad = as_array(grad, f"softmax_cross_entropy gradient for logits of shape {(n, k)}")
    summed = grad.shape == z.shape and np.allclose(grad, n * exp_grad)
    expect_close(
        grad,
        exp_grad,
        f"softmax_cross_entropy gradient for logits of shape {(n, k)}",
        hint="this is N times the expected gradient: (softmax(z) - onehot(y)) / N"
        if summed
        else "",
    )


@graded("test_softmax_ce", weight=2)
def test_softmax_ce_large_logits(student, rng):
    """softmax_cross_entropy is finite and correct for logits a thousand apart."""
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 10.0]])
    y = np.array([1, 1])
    ce = student.softmax_cross_entropy
    loss, grad = _loss_and_grad(ce(z, y), "softmax_cross_entropy")
    expect_no_warnings(ce, "softmax_cross_entropy at logits of +-1000")
    exp_loss, exp_grad = _oracle(lambda a: F.cross_entropy(a, torch.tensor(y)), z)
    expect_close(loss, exp_loss, "softmax_cross_entropy at logits of +-1000")
    expect_close(grad, exp_grad, "softmax_cross_entropy gradient at logits of +-1000")
