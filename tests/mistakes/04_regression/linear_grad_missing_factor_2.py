r"""The MSE gradient without the factor 2 from the square.

cell: linear_gradient
loses: test_linear_gradient
symptom: dw of linear_loss_and_grad .* is wrong.*2/N
"""


def linear_loss_and_grad(w, b, X, y):
    r = X @ w + b - y
    n = len(y)
    return float(np.mean(r**2)), X.T @ r / n, float(r.sum() / n)
