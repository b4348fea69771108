r"""SMAPE without the absolute values in the denominator: |p - y| / (p + y).

cell: metrics
loses: test_metrics
symptom: smape\(y_pred, y\) for arrays of shape .* with negative entries is wrong
"""


def smape(y_pred, y):
    p = np.asarray(y_pred, dtype=float)
    y = np.asarray(y, dtype=float)
    den = p + y
    return float(np.mean(np.abs(p - y) / np.where(den != 0, den, 1.0)))
