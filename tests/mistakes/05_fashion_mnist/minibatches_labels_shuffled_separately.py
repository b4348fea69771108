r"""Images and labels are shuffled with two different permutations.

cell: minibatches
loses: test_minibatches
symptom: comes with the label of example
"""


def minibatches(X, y, batch_size, rng):
    order_x, order_y = rng.permutation(len(X)), rng.permutation(len(y))
    return [
        (X[order_x[i : i + batch_size]], y[order_y[i : i + batch_size]])
        for i in range(0, len(X), batch_size)
    ]
