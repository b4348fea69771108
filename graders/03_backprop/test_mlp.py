"""Part 5: the MLP's forward, manual backward and update step."""

import numpy as np
import pytest
import torch

from dlcourse.checks import as_array, expect_close, expect_shape, expect_true
from dlcourse.gradcheck import gradcheck
from dlcourse.sandbox.wire import Seed

pytestmark = pytest.mark.graded("test_mlp")

ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "identity": lambda z: z}


def _model(student, rng, sizes, activation):
    """A student MLP whose weights are set to known random values."""
    model = student.MLP(sizes, activation, Seed(int(rng.integers(2**31))))
    Ws = [rng.normal(size=(a, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    bs = [rng.normal(scale=0.5, size=b) for b in sizes[1:]]
    model.Ws = Ws
    model.bs = bs
    return model, Ws, bs


def oracle(X, Ws, bs, activation, dY):
    """Output, dX, dWs and dbs of the same network from torch autograd."""
    Xt = torch.tensor(X, requires_grad=True)
    Wt = [torch.tensor(W, requires_grad=True) for W in Ws]
    bt = [torch.tensor(b, requires_grad=True) for b in bs]
    A = Xt
    for i, (W, b) in enumerate(zip(Wt, bt, strict=True)):
        A = A @ W + b
        if i < len(Wt) - 1:
            A = ACTIVATIONS[activation](A)
    (A * torch.tensor(dY)).sum().backward()
    return (
        A.detach().numpy(),
        Xt.grad.numpy(),
        [W.grad.numpy() for W in Wt],
        [b.grad.numpy() for b in bt],
    )


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_forward(student, rng, activation, expect_manual):
    """forward(X) of a two-hidden-layer MLP matches the definition."""
    sizes = [3, 5, 4, 2]
    model, Ws, bs = _model(student, rng, sizes, activation)
    X = rng.normal(size=(int(rng.integers(2, 7)), 3))
    expected, *_ = oracle(X, Ws, bs, activation, np.zeros((X.shape[0], 2)))
    expect_close(
        model.forward(X),
        expected,
        f"MLP({sizes}, '{activation}').forward(X) for X of shape {X.shape}",
        hint="hidden layers apply the activation, the output layer is linear",
    )
    expect_manual()


@pytest.mark.graded("test_mlp", weight=2)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_backward_against_autograd(student, rng, activation, expect_manual):
    """backward(dY) returns dX and stores dWs, dbs equal to autograd's, for two hidden layers,
    replacing (not adding to) the gradients of an earlier call."""
    sizes = [3, 5, 4, 2]
    model, Ws, bs = _model(student, rng, sizes, activation)
    # an earlier batch first: the contract says every backward replaces dWs and dbs
    model.forward(rng.normal(size=(2, 3)))
    with student.sandbox.arguments_may_change():  # backward may reuse dY (the contract)
        model.backward(rng.normal(size=(2, 2)))
    n = int(rng.choice([6, 7, 8]))  # N > every layer width: a transposed product never fits
    X = rng.normal(size=(n, 3))
    dY = rng.normal(size=(n, 2))
    _, dX, dWs, dbs = oracle(X, Ws, bs, activation, dY)
    model.forward(X)
    with student.sandbox.arguments_may_change():
        got = model.backward(dY)
    what = f"MLP({sizes}, '{activation}')"
    got_dbs = model.dbs
    for layer in reversed(range(3)):
        expect_shape(got_dbs[layer], dbs[layer].shape, f"{what}.dbs[{layer}] after a batch of {n}")
    got_dWs = model.dWs
    for layer in reversed(range(3)):
        dW = as_array(got_dWs[layer], f"{what}.dWs[{layer}]")
        # measured: the earlier call's gradients were added to this one's
        hint = ""
        if layer == 2 and dW.shape == dWs[layer].shape and not np.allclose(dW, dWs[layer]):
            model.forward(X)
            with student.sandbox.arguments_may_change():
                model.backward(dY)
            again = as_array(model.dWs[layer], f"{what}.dWs[{layer}]")
            if again.shape == dW.shape and np.allclose(again - dW, dWs[layer]):
                hint = "the gradients grew by one batch's worth on a second call: backward must replace dWs and dbs, not add to them (=, not +=)"
        expect_close(dW, dWs[layer], f"{what}.dWs[{layer}]", hint=hint)
        expect_close(got_dbs[layer], dbs[layer], f"{what}.dbs[{layer}]")
    expect_close(got, dX, f"dX returned by {what}.backward")
    expect_manual()


def test_backward_against_own_forward(student, rng, expect_manual):
    """dX agrees with finite differences of the student's own forward (tanh, three hidden layers)."""
    sizes = [2, 4, 3, 3, 1]
    model, Ws, bs = _model(student, rng, sizes, "tanh")
    X = rng.normal(size=(3, 2))
    dY = rng.normal(size=(3, 1))
    model.forward(X)
    with student.sandbox.arguments_may_change():
        dX = expect_shape(model.backward(dY), X.shape, "dX returned by backward")
    forward = model.forward
    report = gradcheck(
        lambda x: float((as_array(forward(x), "forward(X)") * dY).sum()),
        X,
        dX,
        name="dX against finite differences of your forward",
        rng=rng,
    )
    expect_true(report.ok, str(report))
    expect_manual()


@pytest.mark.graded("test_mlp", weight=2)
def test_step(student, rng, expect_manual):
    """step(lr) sets every W to W - lr * dW and every b to b - lr * db."""
    sizes = [2, 3, 1]
    model, Ws, bs = _model(student, rng, sizes, "relu")
    dWs = [rng.normal(size=W.shape) for W in Ws]
    dbs = [rng.normal(size=b.shape) for b in bs]
    model.dWs = dWs
    model.dbs = dbs
    lr = float(rng.uniform(0.01, 0.5))
    model.step(lr)
    got_Ws, got_bs = model.Ws, model.bs
    for layer in range(2):
        hint = "gradient descent moves against the gradient, once, scaled by lr"
        expect_close(
            got_Ws[layer],
            Ws[layer] - lr * dWs[layer],
            f"Ws[{layer}] after step({lr:.3f})",
            hint=hint,
        )
        expect_close(
            got_bs[layer],
            bs[layer] - lr * dbs[layer],
            f"bs[{layer}] after step({lr:.3f})",
            hint=hint,
        )
    expect_manual()


def test_one_column(student, rng, expect_manual):
    """forward and backward of a [1, 8, 1] network keep the (N, 1) shapes, with torch unavailable."""
    model, _, _ = _model(student, rng, [1, 8, 1], "tanh")
    X = rng.normal(size=(5, 1))
    expect_shape(model.forward(X), (5, 1), "MLP([1, 8, 1]).forward(X) for X of shape (5, 1)")
    with student.sandbox.arguments_may_change():
        dX = model.backward(np.ones((5, 1)))
    expect_shape(dX, (5, 1), "MLP([1, 8, 1]).backward(dY) for dY of shape (5, 1)")
    expect_manual()
