"""Part 6: the MSE loss and minibatch training, judged on points never trained on."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse.checks import as_array, expect_close, expect_shape, expect_true, fail
from dlcourse.sandbox.wire import Seed

graded = pytest.mark.graded

N_TRAIN, N_TEST = 100, 200
# Held-out MSE thresholds for train_mlp's defaults (hidden=(32,), lr=0.02, epochs=300,
# batch_size=16) on the curves of `_curve`, measured for the reference over 60 curves and
# seeds: relu max 0.036 (mean 0.011), tanh max 0.039 (mean 0.010). The least-squares line
# scores 0.18 to 0.86 on the same curves, an untrained network 0.22 to 3.8.
MAX_TEST_MSE = {"relu": 0.08, "tanh": 0.08}
# identity, full batch (batch_size=100, other defaults): held-out MSE / the least-squares
# line's held-out MSE measured 1 - 4e-11 to 1 + 2e-10 over 60 curves; minibatches of 16
# give up to 1.9 (constant-step noise around the line).
MAX_LINE_RATIO = 1.001
# where the reference itself misses MAX_TEST_MSE on a draw, the bar is this
# many times the reference's held-out MSE on that draw
REFERENCE_FACTOR = 1.5


def _curve(rng):
    """A random wiggly curve a sin(k x + phase) + c x, with training and held-out points."""
    a, k = rng.uniform(0.7, 1.3), rng.uniform(1.5, 2.5)
    phase, c = rng.uniform(0, 2 * np.pi), rng.uniform(-0.5, 0.5)

    def f(x):
        return a * np.sin(k * x + phase) + c * x

    X = rng.uniform(-2.0, 2.0, size=(N_TRAIN, 1))
    X_test = rng.uniform(-2.0, 2.0, size=(N_TEST, 1))
    return X, f(X), X_test, f(X_test)


def _train(student, X, y, **kwargs):
    result = student.train_mlp(X, y, **kwargs)
    if not (isinstance(result, tuple) and len(result) == 2):
        fail("train_mlp must return a pair (model, losses)")
    model, losses = result
    return model, as_array(losses, "the losses returned by train_mlp")


@graded("test_training")
def test_mse_loss(student, rng):
    """mse_loss matches torch's mean-reduced MSE and its gradient, for (N, 1) and (N, K) inputs."""
    n = int(rng.integers(3, 9))
    for shape in [(n, 1), (n, n + int(rng.integers(1, 3)))]:  # K > 1 and N != K
        pred, y = rng.normal(size=shape), rng.normal(size=shape)
        result = student.mse_loss(pred, y)
        if not (isinstance(result, tuple) and len(result) == 2):
            fail("mse_loss must return a pair (loss, grad)")
        pt = torch.tensor(pred, requires_grad=True)
        loss = F.mse_loss(pt, torch.tensor(y))
        loss.backward()
        got = as_array(result[0], f"mse_loss value for shape {shape}")
        summed = got.size == 1 and np.isclose(float(got.reshape(-1)[0]), pred.size * loss.item())
        expect_close(
            got,
            loss.item(),
            f"mse_loss value for shape {shape}",
            hint="this is the sum; the loss is the mean over all entries" if summed else "",
        )
        grad, expected = (
            as_array(result[1], f"mse_loss gradient for shape {shape}"),
            pt.grad.numpy(),
        )
        rows = grad.shape == shape and shape[1] > 1 and np.allclose(grad, expected * shape[1])
        expect_close(
            grad,
            expected,
            f"mse_loss gradient for shape {shape}",
            hint="divided by the number of rows N; the mean is over all N * K entries"
            if rows
            else "",
        )


@graded("test_training", weight=2)
def test_updates_match_gradient_descent(student, reference_code, rng):
    """Two epochs of minibatches (the last one smaller) give exactly the parameters of minibatch gradient descent."""
    n, batch_size, epochs, lr, hidden = 10, 4, 2, 0.1, (5,)
    X = rng.uniform(-2, 2, size=(n, 1))
    y = np.sin(2 * X)
    seed = int(rng.integers(2**31))
    # the start weights of the notebook's MLP class for this seed, from the
    # reference (this cell's code could replace MLP in its own sandbox, and
    # so choose the start the expected updates are computed from)
    start = reference_code.MLP([1, *hidden, 1], "tanh", Seed(seed))
    sizes = [1, *hidden, 1]
    shapes = [((a, b), (b,)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    start_Ws, start_bs = start.Ws, start.bs
    Ws = [
        torch.tensor(expect_shape(start_Ws[i], w, f"MLP({sizes}).Ws[{i}]"), requires_grad=True)
        for i, (w, _) in enumerate(shapes)
    ]
    bs = [
        torch.tensor(expect_shape(start_bs[i], b, f"MLP({sizes}).bs[{i}]"), requires_grad=True)
        for i, (_, b) in enumerate(shapes)
    ]

    def forward(inputs):
        A = torch.tensor(inputs)
        for i, (W, b) in enumerate(zip(Ws, bs, strict=True)):
            A = A @ W + b
            A = torch.tanh(A) if i < len(Ws) - 1 else A
        return A

    shuffle = np.random.default_rng(seed + 1)
    expected_losses = []
    for _ in range(epochs):
        order = shuffle.permutation(n)
        for s in range(0, n, batch_size):
            batch = order[s : s + batch_size]
            F.mse_loss(forward(X[batch]), torch.tensor(y[batch])).backward()
            with torch.no_grad():
                for p in Ws + bs:
                    p -= lr * p.grad
                    p.grad = None
        with torch.no_grad():
            expected_losses.append(F.mse_loss(forward(X), torch.tensor(y)).item())

    model, losses = _train(
        student,
        X,
        y,
        hidden=hidden,
        activation="tanh",
        lr=lr,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
    )
    call = f"train_mlp(N = {n}, batch_size={batch_size}, epochs={epochs})"
    hint = (
        "each epoch walks through `order` in slices of batch_size (the last one shorter) and "
        "does forward, mse_loss, backward and one step(lr) per slice"
    )
    got_Ws = model.Ws
    for i in range(2):
        expect_close(got_Ws[i], Ws[i].detach().numpy(), f"the trained Ws[{i}] of {call}", hint=hint)
    expect_close(
        losses,
        expected_losses,
        f"the losses returned by {call}",
        hint="one entry per epoch: the MSE on the whole training set after that epoch",
    )


@graded("test_training", weight=2)
@pytest.mark.parametrize("activation", ["relu", "tanh"], ids=["relu", "tanh"])
def test_fits_held_out_points(student, rng, activation, request):
    """A trained network fits points of the curve it was never trained on."""
    X, y, X_test, y_test = _curve(rng)
    seed = int(rng.integers(1000))
    model, losses = _train(student, X, y, activation=activation, seed=seed)
    expect_true(losses.shape == (300,), f"train_mlp(..., epochs=300) returned {losses.size} losses")
    pred = as_array(model.forward(X_test), "model.forward(X) of the trained model")
    mse = float(np.mean((pred - y_test) ** 2)) if pred.shape == y_test.shape else np.inf
    bound = MAX_TEST_MSE[activation]
    if np.isfinite(mse) and mse > bound:
        # Some draws defeat the reference too (about 1 in 140 for relu: units
        # dead on the training points; for tanh, no training point near an end
        # of the interval): what the reference reaches on this very draw,
        # with margin, is then the bar. Trained only when the usual bar is missed.
        reference = _held_out_mse(request, X, y, X_test, y_test, activation=activation, seed=seed)
        bound = max(bound, REFERENCE_FACTOR * reference)
    expect_true(
        bool(np.isfinite(mse)) and mse <= bound,
        f"after train_mlp(X, y, activation='{activation}') the MSE on {N_TEST} held-out points is "
        f"{mse:.4g}; a working training loop gets below {bound:.4g}",
    )


def _held_out_mse(request, X, y, X_test, y_test, **kwargs) -> float:
    """The held-out MSE of the reference's train_mlp on the same draw, in a
    sandbox where no code of the submission runs."""
    reference = request.getfixturevalue("reference_code")
    model, _ = _train(reference, X, y, **kwargs)
    pred = as_array(model.forward(X_test), "the reference's model.forward(X)")
    return float(np.mean((pred - y_test) ** 2))


@graded("test_training")
def test_identity_gives_best_line(student, rng, request):
    """With the identity activation (full batch) the fit is the least-squares straight line."""
    X, y, X_test, y_test = _curve(rng)
    seed = int(rng.integers(1000))
    kwargs = {"activation": "identity", "batch_size": N_TRAIN, "seed": seed}
    model, _ = _train(student, X, y, **kwargs)
    pred = as_array(model.forward(X_test), "model.forward(X) of the trained model")
    line = np.polyfit(X[:, 0], y[:, 0], 1)
    line_mse = float(np.mean((np.polyval(line, X_test) - y_test) ** 2))
    mse = float(np.mean((pred - y_test) ** 2)) if pred.shape == y_test.shape else np.inf
    ok = bool(np.isfinite(mse)) and mse <= MAX_LINE_RATIO * line_mse
    if not ok and np.isfinite(mse):
        # from some start weights 300 epochs do not reach the line (about 1
        # draw in 400): the reference's own run from the same start is the bar
        reference = _held_out_mse(request, X, y, X_test, y_test, **kwargs)
        ok = abs(mse - reference) <= (MAX_LINE_RATIO - 1) * reference
    expect_true(
        ok,
        f"the identity network trained by train_mlp has held-out MSE {mse:.4g}; the least-squares "
        f"line has {line_mse:.4g}, and full-batch training should reach it within {MAX_LINE_RATIO - 1:.1%}",
    )
