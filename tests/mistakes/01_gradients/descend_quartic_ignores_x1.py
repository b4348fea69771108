r"""descend_quartic always descends the quartic for x1 = 1.

cell: descend_quartic
loses: test_quartic_descent
symptom: descend_quartic\(.*\) is wrong
"""


def descend_quartic(w0, x1=1.0, lr=0.1, steps=200):
    return gradient_descent(lambda w: quartic_grad(w, 1.0), np.array([w0], dtype=float), lr, steps)
