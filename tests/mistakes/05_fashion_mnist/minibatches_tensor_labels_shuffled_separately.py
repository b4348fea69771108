r"""Tensor batches in a list comprehension, with the labels indexed by a second permutation.

cell: minibatches
loses: test_minibatches
symptom: comes with the label of example
"""


def minibatches(X, y, batch_size, rng):
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    rows = torch.from_numpy(rng.permutation(len(X)))
    labels = torch.from_numpy(rng.permutation(len(X)))
    return [
        (X[rows[i : i + batch_size]], y[labels[i : i + batch_size]])
        for i in range(0, len(X), batch_size)
    ]
