r"""Least squares by centring copies of the data and solving the normal equations; w as a list.

cell: least_squares
"""


def fit_least_squares(X, y):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    mean_x, mean_y = X.mean(axis=0), y.mean()
    Xc = X - mean_x  # a new array: the caller's X is left as it was
    w = np.linalg.solve(Xc.T @ Xc, Xc.T @ (y - mean_y))
    return w.tolist(), float(mean_y - mean_x @ w)
