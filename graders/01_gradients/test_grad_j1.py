"""Part 1: the gradient of J(w) = (x1 w1 - 5 x2 w2 - 2)^2."""

import numpy as np
import pytest
import torch

from dlcourse.checks import as_array, expect_close, expect_true
from dlcourse.gradcheck import gradcheck

pytestmark = pytest.mark.graded("test_grad_j1")


def _j1(w, x):
    return (x[0] * w[0] - 5.0 * x[1] * w[1] - 2.0) ** 2


def test_value_at_origin(student):
    """grad_j1 at w = (0, 0), x = (1, 1) is (-4, 20)."""
    expect_close(
        student.grad_j1(np.array([0.0, 0.0]), np.array([1.0, 1.0])),
        [-4.0, 20.0],
        "grad_j1(w=(0, 0), x=(1, 1))",
        hint="differentiate the square with the chain rule: 2 r times the derivative of r",
    )


@pytest.mark.graded("test_grad_j1", weight=2)
def test_against_autograd(student, rng):
    """grad_j1 equals autograd's gradient at random w and x."""
    w, x = rng.normal(scale=1.5, size=2), rng.normal(scale=1.5, size=2)
    wt = torch.tensor(w, requires_grad=True)
    _j1(wt, torch.tensor(x)).backward()
    expect_close(
        student.grad_j1(w, x),
        wt.grad.numpy(),
        f"grad_j1(w, x) at w = {np.round(w, 3)}, x = {np.round(x, 3)}",
        hint="each partial derivative is 2 r times the factor multiplying that weight inside r",
    )


def test_finite_differences(student, rng):
    """grad_j1 agrees with central differences of J at a random point."""
    w, x = rng.uniform(-2, 2, size=2), rng.uniform(-2, 2, size=2)
    got = as_array(student.grad_j1(w, x), "grad_j1(w, x)")
    expect_true(got.shape == (2,), f"grad_j1(w, x) returned shape {got.shape}; expected (2,)")
    report = gradcheck(lambda v: _j1(v, x), w, got, name="grad_j1 against finite differences")
    expect_true(report.ok, str(report))
