r"""rmse divides the sum of squares by len(y): the number of rows, wrong for 2-D input.

cell: metrics
loses: test_metrics
symptom: rmse\(y_pred, y\) for arrays of shape \(\d+, \d+\) is wrong.*divided by len\(\)
"""


def rmse(y_pred, y):
    diff = np.asarray(y_pred, dtype=float) - np.asarray(y, dtype=float)
    return float(np.sqrt(np.sum(diff**2) / len(diff)))
