r"""Extrema hard-coded for x1 = 1.

cell: quartic_extrema
loses: test_quartic_extrema
symptom: w_star of quartic_extrema\(.*\) is wrong.*depend on x1
"""


def quartic_extrema(x1):
    w_star = np.array([0.0, 1.0, 3.0])
    return w_star, quartic(w_star, x1), ["min", "max", "min"]
