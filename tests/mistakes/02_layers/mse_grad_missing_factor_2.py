r"""The MSE gradient without the factor 2 from differentiating the square.

cell: losses_mse
loses: test_mse
symptom: mse_loss gradient for shape .* is wrong at index
"""


def mse_loss(y_pred, y):
    diff = np.asarray(y_pred, dtype=float) - np.asarray(y, dtype=float)
    return float(np.mean(diff**2)), diff / diff.size
