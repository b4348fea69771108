r"""The L1 loss averaged instead of the norm (a sum).

cell: l1
loses: test_l1
symptom: l1_loss\(w, X, y\) .* is wrong.*sum of the absolute residuals
"""


def l1_loss(w, X, y):
    return float(np.abs(X @ w - y).mean())
