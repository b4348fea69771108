r"""Sign error in the second partial derivative: +10 r x2 instead of -10 r x2.

cell: grad_j1
loses: test_grad_j1
symptom: grad_j1\(w=\(0, 0\), x=\(1, 1\)\) is wrong at index \(1,\)
"""


def grad_j1(w, x):
    r = x[0] * w[0] - 5.0 * x[1] * w[1] - 2.0
    return np.array([2.0 * r * x[0], 10.0 * r * x[1]])
