r"""RMSE without the square root: returns the mean squared error.

cell: metrics
loses: test_metrics
symptom: rmse\(y_pred, y\) for arrays of shape .* is wrong.*square root
"""


def rmse(y_pred, y):
    diff = np.asarray(y_pred, dtype=float) - np.asarray(y, dtype=float)
    return float(np.mean(diff**2))
