r"""mse_loss sums the squared errors (and its gradient) instead of averaging them.

cell: training
loses: test_training
symptom: mse_loss value for shape .* is wrong.*this is the sum
"""


def mse_loss(pred, y):
    diff = np.asarray(pred, dtype=float) - np.asarray(y, dtype=float)
    return float(np.sum(diff**2)), 2.0 * diff
