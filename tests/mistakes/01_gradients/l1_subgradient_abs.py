r"""The subgradient uses |r| instead of sign(r).

cell: l1
loses: test_l1
symptom: l1_subgradient\(w, X, y\) .* is wrong.*sign
"""


def l1_subgradient(w, X, y):
    return X.T @ np.abs(X @ w - y)
