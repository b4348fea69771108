r"""The MSE gradient divides by the number of rows N instead of the number of entries N * K.

cell: losses_mse
loses: test_mse
symptom: mse_loss gradient for shape \(\d+, \d+\) is wrong.*number of rows
"""


def mse_loss(y_pred, y):
    diff = np.asarray(y_pred, dtype=float) - np.asarray(y, dtype=float)
    return float(np.mean(diff**2)), 2.0 * diff / len(diff)
