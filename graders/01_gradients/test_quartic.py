"""Parts 2 and 2b: the quartic, its gradient and its extrema."""

import numpy as np
import pytest
import torch

from dlcourse.checks import as_array, expect_close, expect_true, fail

graded = pytest.mark.graded


def _quartic(w1, x1):
    u = x1 * w1
    return u**4 / 4 - 4 * u**3 / 3 + 3 * u**2 / 2


def _shapes(rng):
    """A 1-D and a non-square 2-D shape: "any shape" covers both on every seed."""
    rows = int(rng.integers(2, 5))
    return (int(rng.integers(4, 9)),), (rows, rows + int(rng.integers(1, 3)))


@graded("test_quartic")
def test_values(student, rng):
    """quartic(w1, x1) matches the definition, elementwise, in the input's shape (1-D and 2-D)."""
    x1 = float(rng.uniform(0.5, 2.0))
    for shape in _shapes(rng):
        w1 = rng.uniform(-1.0, 4.0, size=shape)
        expect_close(
            student.quartic(w1, x1),
            _quartic(w1, x1),
            f"quartic(w1, x1={x1:.3f}) for w1 of shape {w1.shape}",
        )


@graded("test_quartic", weight=2)
def test_gradient_against_autograd(student, rng):
    """quartic_grad equals autograd's derivative at random w1 and x1 != 1, for 1-D and 2-D w1."""
    x1 = float(rng.choice([-1, 1]) * rng.uniform(0.4, 2.5))
    for shape in _shapes(rng):
        w1 = rng.uniform(-1.5, 4.0, size=shape) / abs(x1)
        wt = torch.tensor(w1, requires_grad=True)
        _quartic(wt, x1).sum().backward()
        expected = wt.grad.numpy()
        got = student.quartic_grad(w1, x1)
        arr = as_array(got, "quartic_grad(w1, x1)")
        # the hint names the missing inner derivative only when that is what came back
        inner = arr.shape == expected.shape and np.allclose(arr * x1, expected, rtol=1e-6)
        expect_close(
            arr,
            expected,
            f"quartic_grad(w1, x1={x1:.3f}) for w1 of shape {w1.shape}",
            hint="J depends on w1 through u = x1 w1, so the chain rule adds a factor x1"
            if inner
            else "",
        )


@graded("test_quartic")
def test_gradient_scalar(student, rng):
    """quartic and quartic_grad accept a plain float and return one number."""
    w1 = float(rng.uniform(-1.0, 4.0))
    for name, expected in [
        ("quartic", _quartic(w1, 1.0)),
        ("quartic_grad", w1**3 - 4 * w1**2 + 3 * w1),
    ]:
        got = as_array(getattr(student, name)(w1, 1.0), f"{name}({w1:.3f}, 1.0)")
        expect_true(
            got.size == 1, f"{name}({w1:.3f}, 1.0) returned {got.size} numbers; expected one"
        )
        expect_close(got.reshape(()), expected, f"{name}({w1:.3f}, 1.0)")


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
    got = as_array(w_star, f"w_star of quartic_extrema({x1:.3f})")
    fixed = got.shape == (3,) and np.allclose(got, [0.0, 1.0, 3.0])
    expect_close(
        got,
        expected,
        f"w_star of quartic_extrema({x1:.3f})",
        hint="these are the points for x1 = 1; the stationary points depend on x1" if fixed else "",
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
