r"""Closed form without the column of ones: the fit is forced through the origin.

cell: least_squares
loses: test_least_squares
symptom: the bias b for X of shape .* is wrong.*column of ones
"""


def fit_least_squares(X, y):
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    return w, 0.0
