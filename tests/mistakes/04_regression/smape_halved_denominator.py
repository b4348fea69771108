r"""SMAPE with the other textbook convention, |p - y| / ((|p| + |y|) / 2): twice the course's value.

cell: metrics
loses: test_metrics
symptom: smape.* is wrong
"""


def smape(y_pred, y):
    p = np.asarray(y_pred, dtype=float)
    y = np.asarray(y, dtype=float)
    den = (np.abs(p) + np.abs(y)) / 2
    return float(np.mean(np.abs(p - y) / np.where(den > 0, den, 1.0)))
