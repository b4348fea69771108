r"""SMAPE divides first and replaces the NaN with np.where afterwards: right values, but numpy warns.

cell: metrics
loses: test_metrics
symptom: smape.* raised a warning
"""


def smape(y_pred, y):
    p = np.asarray(y_pred, dtype=float)
    y = np.asarray(y, dtype=float)
    den = np.abs(p) + np.abs(y)
    return float(np.mean(np.where(den == 0, 0.0, np.abs(p - y) / den)))
