"""Part 2: the 1-4-1 ReLU network, the gradient of f and of the squared loss."""

import numpy as np
import pytest
import torch

from dlcourse.checks import expect_close, fail

graded = pytest.mark.graded
KEYS = ("W_H", "b_H", "W_O", "b_O")
INITIAL = {
    "W_H": np.array([-1.0, 1.0, 1.0, -1.0]),
    "b_H": np.array([1.0, 1.0, -1.0, 1.0]),
    "W_O": np.array([-1.0, -1.0, -1.0, 1.0]),
    "b_O": 1.0,
}


def _draw(rng):
    """Random parameters and a point x in [-2, 2] at which some hidden unit is
    active and none sits on its kink. Parameters with no such point (every
    unit off on [-2, 2]: about one draw in 400) are drawn again, as are those
    where 20 tries found none: looking for x alone never ended for them, and
    the grading waited for its time limit."""
    while True:
        params = {
            "W_H": rng.normal(size=4),
            "b_H": rng.normal(size=4),
            "W_O": rng.normal(size=4),
            "b_O": float(rng.normal()),
        }
        for _ in range(20):
            x = float(rng.uniform(-2.0, 2.0))
            z = params["W_H"] * x + params["b_H"]
            if np.abs(z).min() > 0.05 and (z > 0).any():
                return params, x


def oracle(x, params, y=None):
    """f(x) and the gradient of f (y None) or of (f - y)^2 from torch autograd."""
    t = {k: torch.tensor(np.asarray(v, dtype=float), requires_grad=True) for k, v in params.items()}
    f = torch.relu(t["W_H"] * x + t["b_H"]) @ t["W_O"] + t["b_O"]
    out = f if y is None else (f - y) ** 2
    out.backward()
    return f.item(), {k: v.grad.numpy() for k, v in t.items()}


def _grads(result, call):
    if not isinstance(result, dict):
        fail(f"{call} must return a dict with keys {', '.join(KEYS)}; got {type(result).__name__}")
    missing = [k for k in KEYS if k not in result]
    if missing:
        fail(f"{call} must return the keys {', '.join(KEYS)}; missing {', '.join(missing)}")
    return result


def _compare(got, expected, call, hint=""):
    for key in KEYS:
        expect_close(got[key], expected[key], f"{call}['{key}']", hint=hint)


@graded("test_net_141")
def test_forward_example(student):
    """f(2) = -3 at the initial parameters, and forward_141 works on an array of inputs."""
    expect_close(student.forward_141(2.0, INITIAL), -3.0, "forward_141(2, initial parameters)")
    xs = np.array([-2.0, -0.5, 0.0, 1.5, 2.0])
    expected = np.array([oracle(float(x), INITIAL)[0] for x in xs])
    expect_close(
        student.forward_141(xs, INITIAL), expected, "forward_141(x, initial) for x of shape (5,)"
    )


@graded("test_net_141")
def test_forward_random(student, rng):
    """forward_141 matches the definition at random parameters and inputs."""
    params, _ = _draw(rng)
    xs = rng.uniform(-3.0, 3.0, size=7)
    expected = np.array([oracle(float(x), params)[0] for x in xs])
    expect_close(student.forward_141(xs, params), expected, "forward_141(x, params) at random x")


@graded("test_net_141", weight=2)
def test_gradient_example(student):
    """The gradient of f at x = 2 is dW_O = (0, 3, 1, 0), db_O = 1, dW_H = (0, -2, -2, 0), db_H = (0, -1, -1, 0)."""
    got = _grads(student.grad_141(2.0, INITIAL), "grad_141(2, initial)")
    expected = {"W_O": [0, 3, 1, 0], "b_O": 1.0, "W_H": [0, -2, -2, 0], "b_H": [0, -1, -1, 0]}
    hint = "the gradient of f itself, with no loss and no activation at the output"
    _compare(got, expected, "grad_141(2, initial)", hint=hint)


@graded("test_net_141", weight=2)
def test_gradient_random(student, rng):
    """grad_141 matches autograd's gradient of f at random parameters and x."""
    params, x = _draw(rng)
    _, expected = oracle(x, params)
    got = _grads(student.grad_141(x, params), f"grad_141({x:.3f}, params)")
    _compare(got, expected, f"grad_141({x:.3f}, params)")


@graded("test_loss_grad_141")
def test_loss_gradient_example(student):
    """loss_grad_141 at x = 2, y = -1 is 2 (f - y) times the gradient of f."""
    _, expected = oracle(2.0, INITIAL, y=-1.0)
    got = _grads(student.loss_grad_141(2.0, -1.0, INITIAL), "loss_grad_141(2, -1, initial)")
    _compare(got, expected, "loss_grad_141(2, -1, initial)", hint="dL/df = 2 (f(x) - y)")


@graded("test_loss_grad_141", weight=2)
@pytest.mark.parametrize("draw", [0, 1], ids=["first draw", "second draw"])
def test_loss_gradient_random(student, rng, draw):
    """loss_grad_141 matches autograd's gradient of (f(x) - y)^2 at random parameters."""
    params, x = _draw(rng)
    y = float(rng.normal())
    f, expected = oracle(x, params, y=y)
    while abs(f - y) <= 1e-3:
        # f(x) = y makes every gradient zero, which a wrong formula matches:
        # draw the target again (before, the check failed a correct answer)
        y = float(rng.normal())
        f, expected = oracle(x, params, y=y)
    call = f"loss_grad_141({x:.3f}, {y:.3f}, params)"
    got = _grads(student.loss_grad_141(x, y, params), call)
    _compare(got, expected, call, hint="dL/df = 2 (f(x) - y)")
