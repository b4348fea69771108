"""Part 1: forward and manual backward pass of the 2-2-1 sigmoid network."""

import numpy as np
import pytest
import torch

from dlcourse.checks import as_array, expect_close, fail

pytestmark = pytest.mark.graded("test_net_221")

X0 = np.array([-0.7, 1.2, 1.1, -2.0])
W0 = np.array([-1.7, 0.1, -0.6, -1.8, -0.2, 0.5])
Y0 = 0.5
KEYS = ("z1", "h1", "z2", "h2", "z3", "y_hat")


def oracle(x, w, y):
    """Forward values, loss and dL/dw from torch autograd."""
    xt = torch.tensor(x)
    wt = torch.tensor(w, requires_grad=True)
    z1 = wt[0] * xt[0] + wt[1] * xt[1]
    h1 = torch.sigmoid(z1)
    z2 = wt[2] * xt[2] + wt[3] * xt[3]
    h2 = torch.sigmoid(z2)
    z3 = wt[4] * h1 + wt[5] * h2
    y_hat = torch.sigmoid(z3)
    loss = (y_hat - y) ** 2
    loss.backward()
    values = dict(zip(KEYS, (v.item() for v in (z1, h1, z2, h2, z3, y_hat)), strict=True))
    return values, loss.item(), wt.grad.numpy()


def _values(result, call):
    if not isinstance(result, dict):
        fail(f"{call} must return a dict of floats; got {type(result).__name__}")
    missing = [k for k in KEYS if k not in result]
    if missing:
        fail(f"{call} must return the keys {', '.join(KEYS)}; missing {', '.join(missing)}")
    return result


def _draw(rng):
    x = rng.normal(scale=1.5, size=4)
    w = rng.normal(size=6)
    y = float(rng.uniform(0.0, 1.0))
    return x, w, y


def _gradient_hint(got, expected):
    got = as_array(got, "backward_221(x, w, y)")
    if got.shape == expected.shape and np.allclose(got, -expected, rtol=1e-6, atol=1e-12):
        return "every partial has the opposite sign: start from dL/dy_hat = 2 (y_hat - y)"
    return ""


def test_forward_example(student):
    """forward_221 and loss_221 reproduce h1, h2, y_hat and the loss of the worked example."""
    v = _values(student.forward_221(X0, W0), "forward_221(x, w)")
    for key, value in [("h1", 0.78751), ("h2", 0.94979), ("y_hat", 0.57869)]:
        expect_close(v[key], value, f"forward_221(x, w)['{key}'] at the example", rtol=0, atol=5e-6)
    expect_close(
        student.loss_221(X0, W0, Y0), 0.0061919, "loss_221 at the example", rtol=0, atol=5e-8
    )


def test_forward_random(student, rng):
    """forward_221 gives every intermediate value and loss_221 the loss at random inputs."""
    x, w, y = _draw(rng)
    expected, loss, _ = oracle(x, w, y)
    v = _values(student.forward_221(x, w), "forward_221(x, w)")
    for key in KEYS:
        expect_close(v[key], expected[key], f"forward_221(x, w)['{key}'] at x = {np.round(x, 3)}")
    expect_close(student.loss_221(x, w, y), loss, f"loss_221(x, w, y) at y = {y:.3f}")


def test_backward_example(student):
    """backward_221 gives dL/dw1 = 0.00089889 and all six partials at the worked example."""
    _, _, expected = oracle(X0, W0, Y0)
    got = as_array(student.backward_221(X0, W0, Y0), "backward_221(x, w, y)")
    expect_close(
        got.reshape(-1)[:1],
        [0.00089889],
        "dL/dw1 from backward_221 at the example",
        rtol=0,
        atol=5e-9,
        hint=_gradient_hint(got, expected),
    )
    expect_close(got, expected, "backward_221 at the example", hint=_gradient_hint(got, expected))


@pytest.mark.graded("test_net_221", weight=2)
@pytest.mark.parametrize("draw", [0, 1], ids=["first draw", "second draw"])
def test_backward_random(student, rng, draw):
    """backward_221 matches autograd's six partial derivatives at random x, w and y."""
    x, w, y = _draw(rng)
    _, _, expected = oracle(x, w, y)
    got = student.backward_221(x, w, y)
    expect_close(
        got,
        expected,
        f"backward_221(x, w, y) at w = {np.round(w, 3)}",
        hint=_gradient_hint(got, expected),
    )
