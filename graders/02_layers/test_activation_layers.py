"""Part 5: activation layers built on the activation functions."""

import numpy as np
import pytest
import torch

from dlcourse.checks import as_array, expect_close

pytestmark = pytest.mark.graded("test_activation_layers")

LAYERS = {"ReLU": torch.relu, "Sigmoid": torch.sigmoid, "Tanh": torch.tanh}


@pytest.mark.parametrize("name", list(LAYERS))
def test_forward_backward(student, rng, name):
    """forward applies the activation; backward(dA) = dA * f'(Z) at the layer's input Z."""
    Z = rng.normal(scale=2.0, size=(int(rng.integers(5, 8)), 4))  # N > 4: never square
    Z[np.abs(Z) < 1e-3] = 0.5
    dA = rng.normal(size=Z.shape)
    Zt = torch.tensor(Z, requires_grad=True)
    out = LAYERS[name](Zt)
    (out * torch.tensor(dA)).sum().backward()
    layer = getattr(student, name)()
    expect_close(layer.forward(Z), out.detach().numpy(), f"{name}().forward(Z)")
    with student.sandbox.arguments_may_change():  # backward may reuse dA (the contract)
        got = as_array(layer.backward(dA), f"{name}().backward(dA)")
    # the hint names the cause only when backward used the layer's output instead of its input
    A = torch.tensor(out.detach().numpy(), requires_grad=True)
    (LAYERS[name](A) * torch.tensor(dA)).sum().backward()
    at_output = got.shape == Z.shape and np.allclose(got, A.grad.numpy(), rtol=1e-6)
    expect_close(
        got,
        Zt.grad.numpy(),
        f"{name}().backward(dA)",
        hint="the derivative was taken at the layer's output; take it at its input Z"
        if at_output and name != "ReLU"
        else "",
    )
