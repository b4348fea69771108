"""Part 1: activation functions and their derivatives."""

import numpy as np
import pytest
import torch

from dlcourse.checks import as_array, expect_close, expect_no_warnings, expect_true

pytestmark = pytest.mark.graded("test_activations")


def t(x):
    """numpy -> float64 tensor that records gradients."""
    return torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)


ORACLES = {
    "identity": lambda z: z * 1.0,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
}


def _inputs(rng, ndim=2):
    """Values on both sides of 0, exact zeros, in a random 1-D or non-square 2-D shape."""
    rows = int(rng.integers(3, 6))
    shape = (rows, rows + int(rng.integers(1, 3))) if ndim == 2 else (int(rng.integers(5, 12)),)
    z = rng.normal(scale=3.0, size=shape)
    z.flat[::4] = 0.0
    return z


@pytest.mark.parametrize("name", list(ORACLES))
def test_values(student, rng, name):
    """The activation's values match the definition, in the input's shape (1-D and 2-D)."""
    for ndim in (1, 2):
        z = _inputs(rng, ndim)
        expected = ORACLES[name](torch.tensor(z)).numpy()
        expect_close(getattr(student, name)(z), expected, f"{name}(z) for z of shape {z.shape}")


@pytest.mark.parametrize("name", list(ORACLES))
def test_derivatives(student, rng, name):
    """The derivative matches autograd away from z = 0, in the input's shape (1-D and 2-D)."""
    for ndim in (1, 2):
        z = _inputs(rng, ndim)
        z[z == 0] = 0.37
        zt = t(z)
        ORACLES[name](zt).sum().backward()
        got = as_array(getattr(student, f"{name}_grad")(z), f"{name}_grad(z)")
        hint = ""
        if name == "sigmoid":
            s = torch.sigmoid(torch.sigmoid(torch.tensor(z))).numpy()
            if got.shape == s.shape and np.allclose(got, s * (1 - s), atol=1e-9):
                hint = "it looks like the derivative was evaluated at sigmoid(z) instead of at z"
        expect_close(got, zt.grad.numpy(), f"{name}_grad(z)", hint=hint)


def test_relu_grad_at_zero(student):
    """relu_grad is 0 at exactly z = 0 (the course's convention)."""
    got = as_array(student.relu_grad(np.array([0.0, -0.0, 1e-300])), "relu_grad(z)")
    expect_true(got.shape == (3,), f"relu_grad of 3 values returned shape {got.shape}")
    expect_true(
        got[0] == 0 and got[1] == 0,
        f"relu_grad(0) must be 0 (derivative 0 at z <= 0); got {got[0]:g}",
    )
    expect_true(got[2] == 1, f"relu_grad(1e-300) must be 1; got {got[2]:g}")


@pytest.mark.parametrize(
    "value", [1000.0, -1000.0, 745.5, -745.5], ids=["z=1000", "z=-1000", "z=745.5", "z=-745.5"]
)
def test_sigmoid_large_inputs(student, value):
    """sigmoid and sigmoid_grad stay finite and warning-free at large |z|."""
    z = np.array([value, 0.0])
    sigmoid = student.sigmoid
    got = sigmoid(z)
    expect_no_warnings(sigmoid, f"sigmoid({value:g})")
    expect_close(got, torch.sigmoid(torch.tensor(z)).numpy(), f"sigmoid({value:g})", atol=1e-12)
    grad = student.sigmoid_grad
    expect_close(grad(z), [0.0, 0.25], f"sigmoid_grad({value:g})", atol=1e-12)
