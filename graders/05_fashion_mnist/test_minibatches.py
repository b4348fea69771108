"""Part 3: shuffled minibatches with one permutation for images and labels."""

import numpy as np
import pytest

from dlcourse.checks import expect_true, fail
from dlcourse.sandbox import plain
from dlcourse.sandbox.wire import Seed

pytestmark = pytest.mark.graded("test_minibatches")

N, BATCH = 103, 10
ITEM_CAP = 10 * N  # items plain() may bring back from one answer (see _batches)


def _data():
    """Row i of X is (i, -i, 2i) and its label is i: a wrong pairing is visible."""
    index = np.arange(N)
    return np.stack([index, -index, 2 * index], axis=1).astype(np.float32), index.astype(np.int64)


def _batches(result, what):
    """The student's batches as [(X_batch, y_batch)] numpy pairs. The contract
    allows any iterable of pairs (a list, a tuple, a generator, ...) holding
    arrays or tensors: Remote iterables are iterated and tensors converted in
    the sandbox (at most ITEM_CAP items: a batch of one example per pair is
    3 items each, so 103 examples need about 400)."""
    __tracebackhide__ = True
    result = plain(result, max_items=ITEM_CAP, what=what)
    if isinstance(result, np.ndarray) or not isinstance(result, (list, tuple)) or not result:
        fail(
            f"{what} should return a non-empty list (or another iterable) of "
            "(X_batch, y_batch) pairs"
        )
    pairs = []
    for k, pair in enumerate(result):
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
            fail(f"{what}: item {k} is not an (X_batch, y_batch) pair")
        try:
            xb, yb = (np.asarray(part, dtype=np.float64) for part in pair)
        except (TypeError, ValueError):
            fail(f"{what}: batch {k} does not hold arrays or tensors of numbers")
        if xb.ndim != 2 or yb.ndim != 1 or xb.shape[0] != yb.shape[0]:
            fail(
                f"{what}: batch {k} has X of shape {xb.shape} and y of shape {yb.shape}; "
                "expected (batch size, D) and (batch size,)"
            )
        if not (np.isfinite(xb).all() and np.isfinite(yb).all()):
            fail(f"{what}: batch {k} holds NaN or infinity; X and y hold finite numbers")
        pairs.append((xb, yb))
    return pairs


def _check_pairs(pairs, what):
    __tracebackhide__ = True
    for k, (xb, yb) in enumerate(pairs):
        if xb.shape[1] != 3:
            fail(f"{what}: batch {k} has X of shape {xb.shape}; the rows of X have 3 entries")
        wrong = np.flatnonzero(xb[:, 0] != yb)
        if wrong.size:
            j = wrong[0]
            fail(
                f"{what}: in batch {k} the example {int(xb[j, 0])} comes with the label of "
                f"example {int(yb[j])}: shuffle images and labels with the same permutation"
            )
    labels = np.concatenate([yb for _, yb in pairs])
    expect_true(
        sorted(labels.tolist()) == list(range(N)),
        f"{what}: the batches hold {len(labels)} examples with {len(set(labels.tolist()))} "
        f"distinct ones; every one of the {N} examples must appear exactly once",
    )


def test_every_example_once_with_its_label(student, rng):
    """Every example appears exactly once, with its own label."""
    X, y = _data()
    pairs = _batches(
        student.minibatches(X, y, BATCH, Seed(int(rng.integers(2**31)))), "minibatches"
    )
    _check_pairs(pairs, f"minibatches(X of {N} rows, y, {BATCH}, rng)")


def test_batch_sizes(student, rng):
    """Batches of batch_size, the last one holding the rest."""
    X, y = _data()
    pairs = _batches(
        student.minibatches(X, y, BATCH, Seed(int(rng.integers(2**31)))), "minibatches"
    )
    sizes = [len(yb) for _, yb in pairs]
    expected = [BATCH] * (N // BATCH) + [N % BATCH]
    dropped = " (keep the last, smaller batch)" if sizes == expected[:-1] else ""
    expect_true(
        sizes == expected,
        f"minibatches of {N} examples with batch_size {BATCH} gave batch sizes {sizes}; "
        f"expected {expected}{dropped}",
    )


def test_order_is_random_and_from_rng(student, rng):
    """The order is shuffled, drawn from rng: the same seed gives the same order."""
    X, y = _data()
    seed = int(rng.integers(2**31))
    first = [
        yb.tolist()
        for _, yb in _batches(student.minibatches(X, y, BATCH, Seed(seed)), "minibatches")
    ]
    again = [
        yb.tolist()
        for _, yb in _batches(student.minibatches(X, y, BATCH, Seed(seed)), "minibatches")
    ]
    other = [
        yb.tolist()
        for _, yb in _batches(student.minibatches(X, y, BATCH, Seed(seed + 1)), "minibatches")
    ]
    order = [i for batch in first for i in batch]
    expect_true(
        order != list(range(N)),
        "minibatches returned the examples in their original order: shuffle them",
    )
    expect_true(
        first == again and first != other,
        "minibatches should draw its order from the rng argument (same seed, same order; "
        "another seed, another order)",
    )


def test_works_on_tensors(student, rng):
    """Works on torch tensors, as the training loop uses it."""
    X, y = _data()
    Xt, yt = student.torch.from_numpy(X), student.torch.from_numpy(y)
    result = student.minibatches(Xt, yt, BATCH, Seed(int(rng.integers(2**31))))
    _check_pairs(_batches(result, "minibatches on tensors"), "minibatches on tensors")
