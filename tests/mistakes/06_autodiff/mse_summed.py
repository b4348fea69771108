r"""mse_loss sums the squared errors instead of averaging them.

cell: nn
loses: test_training
symptom: mse_loss on \d points is wrong
"""


def mse_loss(model, X, y):
    total = Value(0.0)
    for row, target in zip(X, y):
        out = model([float(v) for v in row])[0]
        total = total + (out - float(target)) ** 2
    return total
