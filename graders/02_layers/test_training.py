"""Part 9: training the tiny network makes the loss fall and fits the toy data."""

import numpy as np
import pytest

from dlcourse.checks import expect_true, fail

pytestmark = pytest.mark.graded("test_training")


@pytest.fixture
def trained(student, rng):
    seed = int(rng.integers(1000))
    X, y = student.make_xor_blobs(240, seed)
    result = student.train_classifier(X, y, hidden=16, lr=0.5, epochs=300, seed=seed)
    if not (isinstance(result, tuple) and len(result) == 2):
        fail("train_classifier must return (model, losses)")
    model, losses = result
    try:
        losses = np.asarray(losses, dtype=float)
    except (TypeError, ValueError):
        fail("the losses returned by train_classifier must be numbers")
    return student, model, losses, X, y


def test_loss_recorded_every_epoch(trained):
    """losses has one finite entry per epoch."""
    _, _, losses, _, _ = trained
    expect_true(
        losses.shape == (300,),
        f"train_classifier(..., epochs=300) returned {losses.size} losses; expected one per epoch",
    )
    expect_true(bool(np.isfinite(losses).all()), "the training loss became NaN or infinite")


@pytest.mark.graded("test_training", weight=2)
def test_loss_falls(trained):
    """The loss falls to under a third of its starting value."""
    _, _, losses, _, _ = trained
    if losses.size < 2:
        fail("train_classifier returned fewer than two losses")
    expect_true(
        losses[-1] < losses[0] / 3,
        f"the loss went from {losses[0]:.3f} to {losses[-1]:.3f} in 300 epochs; a working loop brings it under {losses[0] / 3:.3f} (is every layer stepped, against the gradient, after a backward pass in reverse order?)",
    )


@pytest.mark.graded("test_training", weight=2)
def test_fits_training_data(trained):
    """The trained model classifies at least 90% of the training points correctly."""
    student, model, _, X, y = trained
    scores = np.asarray(student.predict(model, X), dtype=float)
    accuracy = float((scores.argmax(axis=1) == y).mean())
    expect_true(
        accuracy >= 0.9,
        f"the trained model fits {accuracy:.0%} of the XOR blobs; a trained 16-unit network fits at least 90%",
    )
