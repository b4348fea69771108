"""Part 1: both sets flattened and standardised with the training set's statistics."""

import numpy as np
import pytest

from dlcourse.checks import expect_shape, expect_true, fail
from dlcourse.sandbox import plain

pytestmark = pytest.mark.graded("test_prepare")


def _images(rng):
    """Training and test images with different statistics, so that using the
    test set's own mean and std is visible."""
    train = rng.uniform(0.1, 0.7, size=(40, 28, 28)).astype(np.float32)
    test = rng.uniform(0.0, 1.0, size=(15, 28, 28)).astype(np.float32)
    return train, test


def _prepared(student, rng):
    train, test = _images(rng)
    result = student.prepare(train, test)
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        fail(
            "prepare should return a pair (X_train, X_test); got "
            f"{getattr(result, 'type_name', type(result).__name__)}"
        )
    # the contract asks for tensors (the training loop indexes and feeds them
    # to the model): numpy arrays come back as arrays, tensors as handles
    tensors = [student.torch.is_tensor(r) for r in result]
    expect_true(all(tensors), "prepare should return torch tensors (torch.from_numpy(...))")
    X_train, X_test = plain(list(result), max_items=10, what="prepare")
    return train, test, np.asarray(X_train), np.asarray(X_test)


def test_shapes_and_dtype(student, rng):
    """Returns float32 tensors of shape (N, 784) and (M, 784)."""
    _, _, X_train, X_test = _prepared(student, rng)
    expect_shape(X_train, (40, 784), "X_train from prepare")
    expect_shape(X_test, (15, 784), "X_test from prepare")
    expect_true(
        X_train.dtype == np.float32 and X_test.dtype == np.float32,
        f"prepare returned {X_train.dtype} and {X_test.dtype}; the model expects float32",
    )


def test_training_set_standardised(student, rng):
    """X_train is (images - mean) / std with the training pixels' mean and std."""
    train, _, X_train, _ = _prepared(student, rng)
    flat = train.reshape(40, -1).astype(np.float64)
    expected = (flat - flat.mean()) / flat.std()
    if X_train.shape != expected.shape:
        fail(f"X_train has shape {X_train.shape}; expected {expected.shape}")
    error = float(np.abs(X_train - expected).max())
    expect_true(
        error < 1e-4,
        f"X_train is not the standardised training images: largest error {error:.3g} "
        f"(allowed 1e-4); it should have mean 0 and std 1, it has mean {X_train.mean():.3f} "
        f"and std {X_train.std():.3f}",
    )


def test_test_set_uses_training_statistics(student, rng):
    """X_test is standardised with the TRAINING set's mean and std."""
    train, test, _, X_test = _prepared(student, rng)
    flat_train = train.reshape(40, -1).astype(np.float64)
    flat_test = test.reshape(15, -1).astype(np.float64)
    expected = (flat_test - flat_train.mean()) / flat_train.std()
    if X_test.shape != expected.shape:
        fail(f"X_test has shape {X_test.shape}; expected {expected.shape}")
    if np.allclose(X_test, flat_test, atol=1e-4):
        fail(
            "X_test was not standardised (it still holds the raw pixels): transform the test "
            "set exactly like the training set"
        )
    own = (flat_test - flat_test.mean()) / flat_test.std()
    if np.allclose(X_test, own, atol=1e-4):
        fail("X_test was standardised with its own mean and std: use the training set's")
    error = float(np.abs(X_test - expected).max())
    expect_true(
        error < 1e-4,
        f"X_test is not (test images - training mean) / training std: largest error {error:.3g} "
        "(allowed 1e-4)",
    )
