r"""Bias set to the mean target and w fitted without an intercept (wrong unless X is centred).

cell: least_squares
loses: test_least_squares
symptom: the bias b for X of shape .* is wrong
"""


def fit_least_squares(X, y):
    b = float(np.mean(y))
    w = np.linalg.lstsq(X, y - b, rcond=None)[0]
    return w, b
