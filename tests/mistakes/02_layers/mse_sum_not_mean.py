r"""Mean squared error summed over the entries instead of averaged.

cell: losses_mse
loses: test_mse
symptom: mse_loss changed from .* when the batch was repeated
"""


def mse_loss(y_pred, y):
    diff = np.asarray(y_pred, dtype=float) - np.asarray(y, dtype=float)
    return float(np.sum(diff**2)), 2.0 * diff
