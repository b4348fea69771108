r"""RMSE and SMAPE over the flattened entries with Python loops.

cell: metrics
"""

import math


def rmse(y_pred, y):
    p = np.ravel(np.asarray(y_pred, dtype=float))
    t = np.ravel(np.asarray(y, dtype=float))
    return math.sqrt(sum((a - b) ** 2 for a, b in zip(p, t)) / len(p))


def smape(y_pred, y):
    p = np.ravel(np.asarray(y_pred, dtype=float))
    t = np.ravel(np.asarray(y, dtype=float))
    total = 0.0
    for a, b in zip(p, t):
        den = abs(a) + abs(b)
        total += abs(a - b) / den if den > 0 else 0.0
    return total / len(p)
