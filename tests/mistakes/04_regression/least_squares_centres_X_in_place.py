r"""fit_least_squares centres the caller's X in place (X -= mean) to get the bias from the means.

cell: least_squares
loses: test_least_squares
symptom: fit_least_squares\(X, y\) changed its argument X in place
"""


def fit_least_squares(X, y):
    mean_x, mean_y = X.mean(axis=0), y.mean()
    X -= mean_x
    w = np.linalg.lstsq(X, y - mean_y, rcond=None)[0]
    return w, float(mean_y - mean_x @ w)
