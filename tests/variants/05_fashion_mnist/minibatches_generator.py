"""minibatches as a generator that yields (X_batch, y_batch) pairs of whatever type it is given.

cell: minibatches
"""


def minibatches(X, y, batch_size, rng):
    """Shuffled minibatches, yielded one at a time."""
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start : start + batch_size]
        yield X[idx], y[idx]
