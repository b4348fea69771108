"""Part 5: class probabilities, also for very large logits."""

import numpy as np
import pytest

from dlcourse.checks import expect_true, fail
from dlcourse.sandbox import plain

pytestmark = pytest.mark.graded("test_predict_proba")


def _softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


# the prescribed network's layer sizes (conftest.PRESCRIBED)
SIZES = [784, 256, 128, 64, 10]


def _network(student, rng, network_from, network_in_sandbox):
    """The prescribed network with weights drawn here: built in the sandbox
    from torch's own layers (build_model belongs to another cell, which this
    cell's code could replace in its sandbox), and the same network here."""
    tensors = []
    for a, b in zip(SIZES[:-1], SIZES[1:], strict=True):
        weight = (rng.normal(size=(b, a)) / np.sqrt(a)).astype(np.float32)
        tensors += [weight, (0.1 * rng.normal(size=b)).astype(np.float32)]
    own = network_from(dict(enumerate(tensors)), "the grader's network")
    return network_in_sandbox(student, tensors), own


def _check(student, rng, network_from, network_in_sandbox, scale, what):
    __tracebackhide__ = True
    import torch

    model, own = _network(student, rng, network_from, network_in_sandbox)
    X = (scale * rng.normal(size=(20, 784))).astype(np.float32)
    # any array np.asarray accepts (a numpy array, a tensor, nested lists): the
    # course-wide rule for returned arrays
    p = plain(
        student.predict_proba(model, student.torch.from_numpy(X)),
        max_items=300,
        what="predict_proba",
    )
    try:
        p = np.asarray(p, dtype=np.float64)
    except (TypeError, ValueError):
        fail(f"predict_proba for {what} should return an array of numbers; got {type(p).__name__}")
    if p.shape != (20, 10):
        fail(f"predict_proba for {what} has shape {p.shape}; expected (20, 10)")
    if not np.all(np.isfinite(p)):
        # overflow is the cause only where the logits are large
        stably = (
            ": compute the softmax stably (torch.softmax, or subtract the row maximum before exp)"
            if scale > 1
            else ""
        )
        fail(f"predict_proba for {what} returned NaN or infinity{stably}")
    expect_true(
        np.all(p >= 0), f"predict_proba for {what} has negative entries (min {p.min():.3g})"
    )
    sums = p.sum(axis=1)
    expect_true(
        np.allclose(sums, 1, atol=1e-5),
        f"the rows of predict_proba for {what} sum to {sums.min():.4f}-{sums.max():.4f}; "
        "probabilities over the 10 classes sum to one (softmax over dim=1)",
    )
    # the logits as the sandbox computes them (the softmax of large logits
    # needs them to the last bit), once they agree with the grader's own: code
    # that changed torch's layers in the sandbox changed what predict_proba saw
    logits = np.asarray(student.model_outputs(model, X), dtype=np.float64)
    with torch.no_grad():
        truth = own(torch.from_numpy(X)).double().numpy()
    if logits.shape != truth.shape or not np.allclose(
        logits, truth, rtol=1e-4, atol=1e-4 * float(np.abs(truth).max())
    ):
        fail(
            f"the network's logits for {what} come out different in your notebook than here: "
            "does your code change torch (its layers or functions)?"
        )
    expected = _softmax(logits)
    error = float(np.abs(p - expected).max())
    expect_true(
        error < 1e-5,
        f"predict_proba for {what} differs from the softmax of the model's logits by up to "
        f"{error:.3g} (allowed 1e-5)",
    )


def test_probabilities_of_the_model(student, rng, network_from, network_in_sandbox):
    """Non-negative, rows sum to one, the softmax of the model's logits."""
    _check(student, rng, network_from, network_in_sandbox, 1.0, "20 images")


def test_large_logits(student, rng, network_from, network_in_sandbox):
    """Finite and correct when the logits are in the thousands."""
    _check(
        student, rng, network_from, network_in_sandbox, 1e4,
        "inputs that give logits in the thousands",
    )  # fmt: skip
