"""Part 9: training the tiny network makes the loss fall and fits the toy data.

The grader draws the data itself and judges the returned model by its own
computation of the loss and accuracy, never by the numbers the student's
code reports.
"""

import numpy as np
import pytest

from dlcourse.checks import as_array, expect_true, fail

pytestmark = pytest.mark.graded("test_training")

# Reference over 20 seeds (240 points, hidden 16, lr 0.5, 300 epochs): final
# cross-entropy 0.010-0.044, training accuracy 0.983-1.000 (measured). An untrained network
# sits near ln 2 = 0.69 and 50%.
MAX_FINAL_LOSS = 0.2
MIN_ACCURACY = 0.9


def xor_blobs(n, rng):
    """Four Gaussian blobs in an XOR pattern (as the notebook's make_xor_blobs)."""
    centers = np.array([[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]])
    which = rng.integers(0, 4, size=n)
    return centers[which] + 0.35 * rng.normal(size=(n, 2)), (which >= 2).astype(np.int64)


def cross_entropy(scores, y):
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(y)), y].mean())


@pytest.fixture
def trained(student, rng):
    X, y = xor_blobs(240, rng)
    seed = int(rng.integers(1000))
    result = student.train_classifier(X, y, hidden=16, lr=0.5, epochs=300, seed=seed)
    if not (isinstance(result, tuple) and len(result) == 2):
        fail("train_classifier must return (model, losses)")
    model, losses = result
    losses = as_array(losses, "the losses returned by train_classifier")
    scores = as_array(student.predict(model, X), "predict(model, X)")
    if scores.shape != (len(y), 2):
        fail(
            f"the returned model maps {len(y)} points to scores of shape {scores.shape}; expected ({len(y)}, 2)"
        )
    return losses, scores, y


def test_loss_recorded_every_epoch(trained):
    """losses has one finite entry per epoch, and the last one is the model's loss."""
    losses, scores, y = trained
    expect_true(
        losses.shape == (300,),
        f"train_classifier(..., epochs=300) returned {losses.size} losses; expected one per epoch",
    )
    expect_true(bool(np.isfinite(losses).all()), "the training loss became NaN or infinite")
    actual = cross_entropy(scores, y)
    expect_true(
        abs(losses[-1] - actual) <= 0.02 + 0.5 * actual,
        f"the last recorded loss is {losses[-1]:.4f} but the returned model's loss is {actual:.4f}: "
        "record the loss of each epoch's forward pass",
    )


@pytest.mark.graded("test_training", weight=2)
def test_loss_falls(trained):
    """The trained model's cross-entropy on its training data is small."""
    _, scores, y = trained
    loss = cross_entropy(scores, y)
    expect_true(
        loss <= MAX_FINAL_LOSS,
        f"after 300 epochs the model's cross-entropy is {loss:.3f}; a working loop brings it under "
        f"{MAX_FINAL_LOSS} (is every layer stepped, against the gradient, after a backward pass in reverse order?)",
    )


@pytest.mark.graded("test_training", weight=2)
def test_fits_training_data(trained):
    """The trained model classifies at least 90% of the training points correctly."""
    _, scores, y = trained
    accuracy = float((scores.argmax(axis=1) == y).mean())
    expect_true(
        accuracy >= MIN_ACCURACY,
        f"the trained model fits {accuracy:.0%} of the XOR blobs; a trained 16-unit network fits at least 90%",
    )
