r"""A generator of tensor batches that stops before the last, smaller batch.

cell: minibatches
loses: test_minibatches
symptom: keep the last, smaller batch
"""


def minibatches(X, y, batch_size, rng):
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    order = torch.from_numpy(rng.permutation(len(X)))
    for start in range(0, len(X) // batch_size * batch_size, batch_size):
        idx = order[start : start + batch_size]
        yield X[idx], y[idx]
