r"""grad_j1 returning a plain Python list of the two partial derivatives.

cell: grad_j1
"""


def grad_j1(w, x):
    r = x[0] * w[0] - 5.0 * x[1] * w[1] - 2.0
    return [float(2.0 * r * x[0]), float(-10.0 * r * x[1])]
