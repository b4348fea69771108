"""Part 5: activation layers built on the activation functions."""

import numpy as np
import pytest
import torch

from dlcourse.checks import expect_close

pytestmark = pytest.mark.graded("test_activation_layers")

LAYERS = {"ReLU": torch.relu, "Sigmoid": torch.sigmoid, "Tanh": torch.tanh}


@pytest.mark.parametrize("name", list(LAYERS))
def test_forward_backward(student, rng, name):
    """forward applies the activation; backward(dA) = dA * f'(Z) at the layer's input Z."""
    Z = rng.normal(scale=2.0, size=(int(rng.integers(2, 6)), 4))
    Z[np.abs(Z) < 1e-3] = 0.5
    dA = rng.normal(size=Z.shape)
    Zt = torch.tensor(Z, requires_grad=True)
    out = LAYERS[name](Zt)
    (out * torch.tensor(dA)).sum().backward()
    layer = getattr(student, name)()
    expect_close(layer.forward(Z), out.detach().numpy(), f"{name}().forward(Z)")
    expect_close(
        layer.backward(dA),
        Zt.grad.numpy(),
        f"{name}().backward(dA)",
        hint="multiply dA by the derivative evaluated at the layer's input Z",
    )
