r"""The MSE gradient without the factor 2 from differentiating the square.

cell: training
loses: test_training
symptom: mse_loss gradient for shape .* is wrong
"""


def mse_loss(pred, y):
    diff = np.asarray(pred, dtype=float) - np.asarray(y, dtype=float)
    return float(np.mean(diff**2)), diff / diff.size
