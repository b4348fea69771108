"""Part 2: exactly the prescribed network, checked on the student's model."""

import numpy as np
import pytest
import torch

from dlcourse.checks import expect_true, fail

pytestmark = pytest.mark.graded("test_architecture")

PRESCRIBED_LAYERS = [
    ("Linear", 784, 256),
    ("ReLU", None, None),
    ("Linear", 256, 128),
    ("ReLU", None, None),
    ("Linear", 128, 64),
    ("ReLU", None, None),
    ("Linear", 64, 10),
]


def _describe(layers) -> str:
    return ", ".join(f"{k}({i}, {o})" if i is not None else str(k) for k, i, o in layers)


def test_layers_in_order(student):
    """Linear(784, 256), ReLU, Linear(256, 128), ReLU, Linear(128, 64), ReLU, Linear(64, 10)."""
    model = student.build_model()
    layers = [tuple(layer) for layer in student.layer_summary(model)]
    # a leading Flatten changes nothing for (N, 784) inputs
    while layers and layers[0][0] == "Flatten":
        layers = layers[1:]
    if layers == PRESCRIBED_LAYERS:
        return
    for k, (got, want) in enumerate(zip(layers, PRESCRIBED_LAYERS, strict=False)):
        if got != want:
            fail(
                f"build_model's layer {k + 1} is {_describe([got])}; the prescribed network has "
                f"{_describe([want])} there (yours: {_describe(layers)})"
            )
    fail(
        f"build_model has {len(layers)} layers; the prescribed network has "
        f"{len(PRESCRIBED_LAYERS)}: {_describe(PRESCRIBED_LAYERS)} (yours: {_describe(layers)})"
    )


def test_computes_the_prescribed_function(student, rng, network_from):
    """The model's outputs are those of the prescribed network with its weights."""
    student.torch.manual_seed(int(rng.integers(2**31)))
    model = student.build_model()
    state = student.model_state(model)
    reference = network_from(state, "build_model()'s state_dict")
    X = rng.normal(size=(64, 784)).astype(np.float32)
    got = np.asarray(student.model_outputs(model, X))
    with torch.no_grad():
        expected = reference(torch.from_numpy(X)).numpy()
    if got.shape != expected.shape:
        fail(f"build_model()(X) has shape {got.shape} for X of shape (64, 784); expected (64, 10)")
    error = float(np.abs(got - expected).max())
    expect_true(
        error <= 1e-4 * (1 + np.abs(expected).max()),
        f"build_model()'s outputs differ from the prescribed network's with the same weights by "
        f"up to {error:.3g}: check the activations (ReLU after each hidden layer, none after "
        "the last) and that forward uses every layer once, in order",
    )
