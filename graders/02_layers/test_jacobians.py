"""Part 3: the softmax Jacobian and the Jacobian of an affine map."""

import pytest
import torch
from torch.autograd.functional import jacobian

from dlcourse.checks import expect_close

pytestmark = pytest.mark.graded("test_jacobians")


def test_softmax_jacobian(student, rng):
    """softmax_jacobian(z) equals autograd's Jacobian, J[i, j] = d s_i / d z_j."""
    z = rng.normal(size=int(rng.integers(3, 7)))
    expected = jacobian(lambda v: torch.softmax(v, dim=0), torch.tensor(z)).numpy()
    expect_close(
        student.softmax_jacobian(z),
        expected,
        f"softmax_jacobian(z) for z of shape {z.shape}",
        hint="J = diag(s) - outer(s, s) with s = softmax(z)",
    )


def test_linear_jacobian(student, rng):
    """linear_jacobian(W) is d(x @ W)/dx, of shape (D_out, D_in), for a non-square W."""
    d_in = int(rng.integers(2, 5))
    W = rng.normal(size=(d_in, d_in + int(rng.integers(1, 3))))
    x = rng.normal(size=d_in)
    expected = jacobian(lambda v: v @ torch.tensor(W), torch.tensor(x)).numpy()
    expect_close(
        student.linear_jacobian(W),
        expected,
        f"linear_jacobian(W) for W of shape {W.shape}",
        hint="J[i, j] = d y_i / d x_j has shape (D_out, D_in)",
    )
