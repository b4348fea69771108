"""Part 2: softmax over the last axis, stable at large logits."""

import pytest
import torch

from dlcourse.checks import expect_close, expect_no_warnings

pytestmark = pytest.mark.graded("test_softmax")


def test_values_2d(student, rng):
    """softmax of an (N, K) batch, N != K, matches torch.softmax over the last axis."""
    n = int(rng.integers(2, 6))
    z = rng.normal(scale=2.0, size=(n, n + int(rng.integers(1, 3))))
    expect_close(
        student.softmax(z),
        torch.softmax(torch.tensor(z), dim=-1).numpy(),
        f"softmax(z) for z of shape {z.shape}",
        hint="each row (last axis) must be normalised on its own",
    )


def test_values_1d(student, rng):
    """softmax of one row of logits (K,) is normalised over its K entries."""
    z = rng.normal(scale=2.0, size=int(rng.integers(3, 8)))
    expect_close(
        student.softmax(z),
        torch.softmax(torch.tensor(z), dim=-1).numpy(),
        f"softmax(z) for z of shape {z.shape}",
    )


def test_values_3d(student, rng):
    """softmax normalises over the last axis of a 3-D input too."""
    z = rng.normal(size=(2, 3, 4))
    expect_close(
        student.softmax(z),
        torch.softmax(torch.tensor(z), dim=-1).numpy(),
        "softmax(z) for z of shape (2, 3, 4)",
    )


@pytest.mark.parametrize(
    "offset", [1000.0, -1000.0], ids=["logits near +1000", "logits near -1000"]
)
def test_large_logits(student, rng, offset):
    """softmax(z + c) equals softmax(z), finite and warning-free, for c = +-1000."""
    z = rng.normal(size=(3, 5))
    softmax = student.softmax
    got = softmax(z + offset)
    expect_no_warnings(softmax, f"softmax of logits around {offset:g}")
    expect_close(
        got,
        torch.softmax(torch.tensor(z), dim=-1).numpy(),
        f"softmax of logits around {offset:g}",
        hint="subtract each row's maximum before exponentiating",
    )
