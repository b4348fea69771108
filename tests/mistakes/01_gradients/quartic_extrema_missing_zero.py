r"""The root u = 0 of u (u - 1)(u - 3) forgotten: only two extrema.

cell: quartic_extrema
loses: test_quartic_extrema
symptom: w_star of quartic_extrema\(.*\) has shape \(2,\); expected \(3,\)
"""


def quartic_extrema(x1):
    w_star = np.array([1.0, 3.0]) / x1
    return w_star, quartic(w_star, x1), ["max", "min"]
