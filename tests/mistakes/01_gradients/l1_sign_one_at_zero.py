r"""sign(0) taken as +1 with np.where(r >= 0, 1, -1).

cell: l1
loses: test_l1
symptom: l1_subgradient\(w, X, y\) where \d+ of \d+ residuals are 0 is wrong.*sign\(0\) = 0
"""


def l1_subgradient(w, X, y):
    return X.T @ np.where(X @ w - y >= 0, 1.0, -1.0)
