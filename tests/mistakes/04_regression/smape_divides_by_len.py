r"""smape divides the sum of the terms by len(y): the number of rows, wrong for 2-D input.

cell: metrics
loses: test_metrics
symptom: smape\(y_pred, y\) for arrays of shape \(\d+, \d+\) .* is wrong.*divided by len\(\)
"""


def smape(y_pred, y):
    p = np.asarray(y_pred, dtype=float)
    y = np.asarray(y, dtype=float)
    den = np.abs(p) + np.abs(y)
    return float(np.sum(np.abs(p - y) / np.where(den > 0, den, 1.0)) / len(p))
