"""Part 4: the MLP built on Value, its loss and gradients, and training on a toy problem."""

import numpy as np
import pytest
import torch

from dlcourse.checks import as_array, expect_close, expect_true, fail
from dlcourse.sandbox import Remote
from dlcourse.sandbox.wire import Seed

pytestmark = pytest.mark.graded("test_training")


def _weights(seed, nin, nouts):
    """The (W, b) of each layer as the given constructors draw them: per neuron,
    rng.uniform(-1, 1, nin) for the weights and a zero bias."""
    rng = np.random.default_rng(seed)
    sizes = [nin] + list(nouts)
    layers = []
    for i in range(len(nouts)):
        W = np.stack([rng.uniform(-1.0, 1.0, size=sizes[i]) for _ in range(sizes[i + 1])])
        layers.append((W, np.zeros(sizes[i + 1])))
    return layers


def _flat(layers):
    """Parameters in the contract's order: layer by layer, neuron by neuron, weights then bias."""
    return np.concatenate([np.append(W[j], b[j]) for W, b in layers for j in range(len(b))])


def _forward(layers, X):
    h = torch.as_tensor(X)
    for i, (W, b) in enumerate(layers):
        h = h @ W.T + b
        if i < len(layers) - 1:
            h = torch.tanh(h)
    return h


def test_parameters(student, rng):
    """MLP.parameters() lists every weight and bias, layer by layer, neuron by neuron, weights then bias."""
    seed = int(rng.integers(2**31))
    model = student.MLP(2, [3, 2, 1], Seed(seed))
    got = as_array(student.parameter_values(model), "the data of MLP(2, [3, 2, 1]).parameters()")
    expected = _flat(_weights(seed, 2, [3, 2, 1]))
    expect_true(
        got.shape == expected.shape,
        f"MLP(2, [3, 2, 1]).parameters() has {got.size} entries; expected {expected.size} "
        "(each of the 6 neurons' weights and its bias)",
    )
    expect_close(
        got,
        expected,
        "the data of MLP(2, [3, 2, 1]).parameters()",
        hint="list each neuron's weights followed by its bias, neuron by neuron, layer by layer",
    )


def test_forward(student, rng):
    """MLP(3, [4, 2]) computes tanh(w . x + b) hidden units and a linear output layer."""
    seed = int(rng.integers(2**31))
    model = student.MLP(3, [4, 2], Seed(seed))
    layers = _weights(seed, 3, [4, 2])
    # non-zero biases, set through the attributes the given constructors make
    for remote_layer, (_, b) in zip(model.layers, layers, strict=True):
        b[:] = rng.normal(scale=0.5, size=b.size)
        for neuron, value in zip(remote_layer.neurons, b, strict=True):
            neuron.b.data = float(value)
    X = rng.normal(size=(4, 3))
    expected = _forward([(torch.tensor(W), torch.tensor(b)) for W, b in layers], X)
    for n, x in enumerate(X):
        out = model([float(v) for v in x])
        if not isinstance(out, list) or len(out) != 2:
            fail(f"MLP(3, [4, 2]) called on 3 numbers must return a list of 2 Values; got {out!r}")
        expect_close(
            [v.data for v in out],
            expected[n].numpy(),
            f"the outputs of MLP(3, [4, 2]) for the input {np.round(x, 3).tolist()}",
            hint="a neuron computes tanh(w . x + b); the output layer has no tanh",
        )


def test_loss_and_gradients(student, rng):
    """mse_loss is the mean of (model(x)[0] - y)^2, and backward() gives torch's parameter gradients."""
    seed = int(rng.integers(2**31))
    model = student.MLP(2, [3, 1], Seed(seed))
    n = int(rng.integers(3, 7))
    X, y = rng.normal(size=(n, 2)), rng.choice([-1.0, 1.0], size=n)
    layers = [
        (torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True))
        for W, b in _weights(seed, 2, [3, 1])
    ]
    loss_t = ((_forward(layers, X)[:, 0] - torch.tensor(y)) ** 2).mean()
    loss_t.backward()
    loss = student.mse_loss(model, X, y)
    expect_close(
        loss.data,
        loss_t.item(),
        f"mse_loss on {n} points",
        hint="the mean over the points of (model(x)[0] - y)**2",
    )
    loss.backward()
    grads = [(W.grad.numpy(), b.grad.numpy()) for W, b in layers]
    expect_close(
        student.parameter_grads(model),
        _flat(grads),
        f"the parameters' grad after mse_loss(...).backward() on {n} points",
    )


def _toy_points(n, seed):
    """The notebook's make_toy_points, drawn here: the grader does not take its
    data from the student's process. -> X: (n, 2), y: (n,) of +-1.0."""
    rng = np.random.default_rng(seed)
    inside = np.arange(n) % 2 == 0
    radius = np.where(inside, rng.uniform(0.0, 0.7, size=n), rng.uniform(1.3, 1.8, size=n))
    angle = rng.uniform(0.0, 2 * np.pi, size=n)
    X = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return X, np.where(inside, 1.0, -1.0)


def _reference_training(X, y, hidden, lr, steps, seed):
    """The contract's gradient descent in torch (float64), from the parameters
    the given constructors draw: (losses before each update, final flat parameters)."""
    layers = [
        (torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True))
        for W, b in _weights(seed, X.shape[1], [*hidden, 1])
    ]
    params = [t for layer in layers for t in layer]
    losses = []
    for _ in range(steps):
        loss = ((_forward(layers, X)[:, 0] - torch.tensor(y)) ** 2).mean()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads, strict=True):
                p -= lr * g
        losses.append(loss.item())
    final = [(W.detach().numpy(), b.detach().numpy()) for W, b in layers]
    return np.array(losses), _flat(final)


def _train(student, X, y, call, **kwargs):
    """Run the student's train_mlp; -> (remote model, losses as a float array)."""
    result = student.train_mlp(X, y, **kwargs)
    if not (isinstance(result, tuple) and len(result) == 2):
        fail(f"{call} must return (model, losses)")
    raw = result[1]
    if isinstance(raw, (list, tuple)) and any(isinstance(v, Remote) for v in raw[:1000]):
        fail(f"the losses returned by {call} must be numbers (loss.data, not the Value)")
    losses = as_array(raw, f"the losses returned by {call}")
    steps = kwargs.get("steps", 60)
    expect_true(
        losses.shape == (steps,),
        f"{call} returned losses of shape {losses.shape}; expected one number per step ({steps},)",
    )
    expect_true(bool(np.isfinite(losses).all()), f"the loss of {call} became NaN or infinite")
    return result[0], losses


def _expect_curve(losses, expected, call, lr):
    """The recorded losses against the reference's, pointing at the first step that differs."""
    __tracebackhide__ = True
    rtol, atol = 1e-6, 1e-9
    close = np.abs(losses - expected) <= atol + rtol * np.abs(expected)
    if close.all():
        return
    k = int(np.argmin(close))
    if k == 0:
        if losses.size > 1 and np.allclose(losses[:-1], expected[1:], rtol=rtol, atol=atol):
            fail(
                f"{call}: each recorded loss is the loss after that step's update (losses[0] = "
                f"{losses[0]:.6g} is the loss after the first update; the initial parameters give "
                f"{expected[0]:.6g}); record the loss computed before the update"
            )
        fail(
            f"{call}: losses[0] is {losses[0]:.6g}, but the initial parameters (drawn by the given "
            f"constructors) give the loss {expected[0]:.6g}; each step records the loss before its update"
        )
    why = (
        f"the first update already differs from p.data -= lr * p.grad with lr = {lr:g}"
        if k == 1
        else "the first update was right and the second was not, as when the previous step's "
        "gradients are still in grad (set them to 0 before backward())"
        if k == 2
        else f"the first {k - 1} updates were right"
    )
    fail(
        f"{call}: losses[{k}] is {losses[k]:.6g}, expected {expected[k]:.6g} (gradient descent from "
        f"the same initial parameters, in torch); losses[0 .. {k - 1}] match: {why}"
    )


def test_training_curve(student, rng):
    """train_mlp on 8 toy points: the 60 losses, each before its update, and the final parameters match gradient descent in torch."""
    seed = int(rng.integers(1000))
    X, y = _toy_points(8, seed)
    call = f"train_mlp(X, y, seed={seed})"
    model, losses = _train(student, X, y, call, seed=seed)
    expected, final = _reference_training(X, y, (4,), 0.2, 60, seed)
    _expect_curve(losses, expected, call, 0.2)
    expect_close(
        student.parameter_values(model),
        final,
        f"the parameters of the model {call} returns",
        hint="return the trained model, after its last update",
    )


def test_training_arguments(student, rng):
    """train_mlp follows hidden, lr and steps: lr = 0 keeps the initial loss, MLP(2, [2, 3, 1]) for 5 steps matches torch."""
    seed = int(rng.integers(1000))
    X, y = _toy_points(6, seed)
    call = f"train_mlp(X, y, hidden=(3,), lr=0.0, steps=4, seed={seed})"
    _, losses = _train(student, X, y, call, hidden=(3,), lr=0.0, steps=4, seed=seed)
    expected, _ = _reference_training(X, y, (3,), 0.0, 1, seed)
    expect_close(
        losses,
        np.full(4, expected[0]),
        f"the losses of {call} (with lr = 0 every step has the initial loss)",
    )
    call = f"train_mlp(X, y, hidden=(2, 3), lr=0.1, steps=5, seed={seed})"
    _, losses = _train(student, X, y, call, hidden=(2, 3), lr=0.1, steps=5, seed=seed)
    expected, _ = _reference_training(X, y, (2, 3), 0.1, 5, seed)
    _expect_curve(losses, expected, call, 0.1)
