r"""Chain rule without the outer factor 2 of the square.

cell: grad_j1
loses: test_grad_j1
symptom: grad_j1\(w=\(0, 0\), x=\(1, 1\)\) is wrong.*the chain rule
"""


def grad_j1(w, x):
    r = x[0] * w[0] - 5.0 * x[1] * w[1] - 2.0
    return np.array([r * x[0], -5.0 * r * x[1]])
