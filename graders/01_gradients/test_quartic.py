"""Parts 2 and 2b: the quartic, its gradient and its extrema."""

import numpy as np
import pytest
import torch

from dlcourse.checks import expect_close, expect_true, fail

graded = pytest.mark.graded


def _quartic(w1, x1):
    u = x1 * w1
    return u**4 / 4 - 4 * u**3 / 3 + 3 * u**2 / 2


@graded("test_quartic")
def test_values(student, rng):
    """quartic(w1, x1) matches the definition, elementwise, in the input's shape."""
    x1 = float(rng.uniform(0.5, 2.0))
    w1 = rng.uniform(-1.0, 4.0, size=(3, int(rng.integers(2, 5))))
    expect_close(
        student.quartic(w1, x1),
        _quartic(w1, x1),
        f"quartic(w1, x1={x1:.3f}) for w1 of shape {w1.shape}",
    )


@graded("test_quartic", weight=2)
def test_gradient_against_autograd(student, rng):
    """quartic_grad equals autograd's derivative at random w1 and x1 != 1."""
    x1 = float(rng.choice([-1, 1]) * rng.uniform(0.4, 2.5))
    w1 = rng.uniform(-1.5, 4.0, size=int(rng.integers(4, 9))) / abs(x1)
    wt = torch.tensor(w1, requires_grad=True)
    _quartic(wt, x1).sum().backward()
    expect_close(
        student.quartic_grad(w1, x1),
        wt.grad.numpy(),
        f"quartic_grad(w1, x1={x1:.3f})",
        hint="J depends on w1 through u = x1 w1, so the chain rule adds a factor x1",
    )


@graded("test_quartic")
def test_gradient_scalar(student, rng):
    """quartic_grad accepts a plain float and returns one number."""
    w1 = float(rng.uniform(-1.0, 4.0))
    got = np.asarray(student.quartic_grad(w1, 1.0), dtype=float)
    expect_true(
        got.size == 1, f"quartic_grad({w1:.3f}, 1.0) returned {got.size} numbers; expected one"
    )
    expect_close(got.reshape(()), w1**3 - 4 * w1**2 + 3 * w1, f"quartic_grad({w1:.3f}, 1.0)")


def _extrema(student, x1):
    result = student.quartic_extrema(x1)
    if not (isinstance(result, (tuple, list)) and len(result) == 3):
        fail(f"quartic_extrema({x1:g}) must return (w_star, J_star, kinds)")
    w_star, J_star, kinds = result
    return w_star, J_star, kinds


@graded("test_quartic_extrema", weight=2)
def test_extrema_at_x1_1(student):
    """For x1 = 1 the extrema are w1 = 0, 1, 3 with J = 0, 5/12, -9/4."""
    w_star, J_star, _ = _extrema(student, 1.0)
    expect_close(
        w_star,
        [0.0, 1.0, 3.0],
        "w_star of quartic_extrema(1.0)",
        hint="all three roots of dJ/dw1 = 0, in increasing order",
    )
    expect_close(J_star, [0.0, 5 / 12, -9 / 4], "J_star of quartic_extrema(1.0)")


@graded("test_quartic_extrema", weight=2)
def test_extrema_other_x1(student, rng):
    """For a random x1 > 0 the stationary points are where dJ/dw1 = 0, with their values."""
    x1 = float(rng.uniform(0.3, 3.0))
    expected = np.array([0.0, 1.0, 3.0]) / x1
    w_star, J_star, _ = _extrema(student, x1)
    expect_close(
        w_star,
        expected,
        f"w_star of quartic_extrema({x1:.3f})",
        hint="the stationary points depend on x1",
    )
    expect_close(J_star, _quartic(expected, x1), f"J_star of quartic_extrema({x1:.3f})")


@graded("test_quartic_extrema")
def test_extrema_kinds(student, rng):
    """The kinds say which stationary point is a minimum and which a maximum."""
    x1 = float(rng.choice([1.0, rng.uniform(0.3, 3.0)]))
    _, _, kinds = _extrema(student, x1)
    expect_true(
        isinstance(kinds, (list, tuple)) and [str(k) for k in kinds] == ["min", "max", "min"],
        f"kinds of quartic_extrema({x1:.3f}) is {kinds!r}; check the sign of the second derivative at each point",
    )
