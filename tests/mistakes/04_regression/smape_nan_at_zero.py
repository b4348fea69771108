r"""SMAPE divides 0 by 0 where both values are 0: NaN and a warning.

cell: metrics
loses: test_metrics
symptom: smape with terms where both values are 0 .* raised a warning
"""


def smape(y_pred, y):
    p = np.asarray(y_pred, dtype=float)
    y = np.asarray(y, dtype=float)
    return float(np.mean(np.abs(p - y) / (np.abs(p) + np.abs(y))))
