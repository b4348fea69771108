"""Parts 4 and 4b: the Linear layer's initialisation, forward, backward and update."""

import numpy as np
import pytest
import torch

from dlcourse.checks import as_array, expect_close, expect_shape, expect_true
from dlcourse.gradcheck import gradcheck
from dlcourse.sandbox.wire import Seed

graded = pytest.mark.graded


def _layer(student, rng, d_in, d_out):
    """A student Linear with W and b set to known random values."""
    layer = student.Linear(d_in, d_out, Seed(int(rng.integers(2**31))))
    W = rng.normal(size=(d_in, d_out))
    b = rng.normal(size=d_out)
    layer.W = W
    layer.b = b
    return layer, W, b


@graded("test_linear")
def test_init_shapes_and_bias(student, rng):
    """W has shape (d_in, d_out) and b is a zero vector of shape (d_out,)."""
    layer = student.Linear(5, 3, Seed(int(rng.integers(2**31))))
    expect_shape(layer.W, (5, 3), "Linear(5, 3).W")
    b = expect_shape(layer.b, (3,), "Linear(5, 3).b")
    expect_true(np.all(b == 0), f"Linear(5, 3).b should start at zero; got {b}")


@graded("test_linear")
def test_init_xavier_uniform(student, rng):
    """W is drawn from U(-a, a), a = sqrt(6 / (d_in + d_out)), with the given generator."""
    seed = int(rng.integers(2**31))
    W = as_array(student.Linear(200, 100, Seed(seed)).W, "Linear(200, 100).W")
    a = np.sqrt(6.0 / 300)
    expect_true(
        np.abs(W).max() <= a + 1e-12,
        f"Linear(200, 100).W has |W| up to {np.abs(W).max():.3f}; Xavier-uniform keeps it within a = {a:.3f}",
    )
    expect_true(
        abs(W.std() - a / np.sqrt(3)) < 0.05 * a,
        f"Linear(200, 100).W has standard deviation {W.std():.4f}; U(-a, a) gives {a / np.sqrt(3):.4f}",
    )
    again = as_array(student.Linear(200, 100, Seed(seed)).W, "Linear(200, 100).W")
    expect_true(
        np.array_equal(W, again),
        "Linear(...) gave different weights for the same generator seed: draw them from the `rng` argument",
    )
    other = as_array(student.Linear(200, 100, Seed(seed + 1)).W, "Linear(200, 100).W")
    expect_true(
        not np.array_equal(W, other),
        "Linear(...) gave the same weights for different generators: draw them from the `rng` argument",
    )


@graded("test_linear", weight=2)
def test_forward(student, rng):
    """forward(X) = X @ W + b, for a batch of N > 1 rows and for one row (N = 1)."""
    layer, W, b = _layer(student, rng, 4, 3)
    for n in (int(rng.choice([2, 5, 6])), 1):  # N != d_in, d_out: a transposed product fails
        X = rng.normal(size=(n, 4))
        expect_close(
            layer.forward(X), X @ W + b, f"Linear(4, 3).forward(X) for X of shape {X.shape}"
        )


@graded("test_linear", weight=3)
def test_backward_against_autograd(student, rng):
    """backward(dY) returns dX and stores dW, db equal to autograd's, for a non-square layer,
    replacing the gradients of an earlier batch."""
    d_in, d_out = 4, 3
    layer, W, b = _layer(student, rng, d_in, d_out)
    # an earlier batch first: the contract says backward replaces dW and db, never adds to them
    X0, dY0 = rng.normal(size=(2, d_in)), rng.normal(size=(2, d_out))
    layer.forward(X0)
    with student.sandbox.arguments_may_change():  # backward may reuse dY (the contract)
        layer.backward(dY0)
    earlier = X0.T @ dY0
    for n in (int(rng.choice([2, 5, 6])), 1):  # N != d_in, d_out, and one row
        X = rng.normal(size=(n, d_in))
        dY = rng.normal(size=(n, d_out))
        Xt, Wt, bt = (torch.tensor(v, requires_grad=True) for v in (X, W, b))
        (((Xt @ Wt) + bt) * torch.tensor(dY)).sum().backward()
        layer.forward(X)
        with student.sandbox.arguments_may_change():
            dX = layer.backward(dY)
        expect_close(dX, Xt.grad.numpy(), f"dX returned by backward (X: {X.shape}, W: {W.shape})")
        dW = as_array(layer.dW, f"dW stored by backward (X: {X.shape}, W: {W.shape})")
        # measured: the earlier batch's dW was added to this one's
        added = dW.shape == earlier.shape and np.allclose(dW - earlier, Wt.grad.numpy())
        expect_close(
            dW,
            Wt.grad.numpy(),
            f"dW stored by backward (X: {X.shape}, W: {W.shape})",
            hint="it holds the earlier call's dW plus this one's: backward replaces dW and db, "
            "it does not add to what an earlier call stored"
            if added
            else "",
        )
        db = as_array(layer.db, f"db stored by backward (batch of {n})")
        mean = db.shape == (d_out,) and n > 1 and np.allclose(db * n, bt.grad.numpy())
        expect_close(
            db,
            bt.grad.numpy(),
            f"db stored by backward (batch of {n})",
            hint="the bias is shared by all rows, so its gradient is summed over the batch, not averaged"
            if mean
            else "",
        )


@graded("test_linear")
def test_backward_against_own_forward(student, rng):
    """dX agrees with finite differences of the student's own forward."""
    layer, W, b = _layer(student, rng, 3, 2)
    X = rng.normal(size=(3, 3))
    dY = rng.normal(size=(3, 2))
    layer.forward(X)
    with student.sandbox.arguments_may_change():
        dX = expect_shape(layer.backward(dY), X.shape, "dX returned by backward")
    forward = layer.forward
    report = gradcheck(
        lambda x: float((as_array(forward(x), "forward(X)") * dY).sum()),
        X,
        dX,
        name="dX against finite differences of your forward",
        rng=rng,
    )
    expect_true(report.ok, str(report))


@graded("test_linear_update", weight=2)
def test_step_updates_weights(student, rng):
    """step(lr) sets W to W - lr * dW."""
    layer, W, b = _layer(student, rng, 3, 2)
    dW, db = rng.normal(size=(3, 2)), rng.normal(size=2)
    layer.dW, layer.db = dW, db
    lr = float(rng.uniform(0.01, 0.5))
    layer.step(lr)
    got = as_array(layer.W, f"W after step({lr:.3f})")
    ascent = got.shape == W.shape and np.allclose(got, W + lr * dW)
    expect_close(
        got,
        W - lr * dW,
        f"W after step({lr:.3f})",
        hint="W moved with the gradient; gradient descent moves against the gradient: W -= lr * dW"
        if ascent
        else "",
    )


@graded("test_linear_update")
def test_step_updates_bias(student, rng):
    """step(lr) sets b to b - lr * db."""
    layer, W, b = _layer(student, rng, 3, 2)
    dW, db = rng.normal(size=(3, 2)), rng.normal(size=2)
    layer.dW, layer.db = dW, db
    lr = float(rng.uniform(0.01, 0.5))
    layer.step(lr)
    got = as_array(layer.b, f"b after step({lr:.3f})")
    unchanged = got.shape == b.shape and np.allclose(got, b)
    expect_close(
        got,
        b - lr * db,
        f"b after step({lr:.3f})",
        hint="b did not change: the bias is updated too, b -= lr * db" if unchanged else "",
    )
