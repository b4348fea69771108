r"""The order comes from torch's global generator (torch.randperm), not from rng.

cell: minibatches
loses: test_minibatches
symptom: should draw its order from the rng argument
"""


def minibatches(X, y, batch_size, rng):
    order = torch.randperm(len(X))
    return [
        (X[order[i : i + batch_size]], y[order[i : i + batch_size]])
        for i in range(0, len(X), batch_size)
    ]
