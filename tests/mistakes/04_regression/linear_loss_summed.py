r"""linear_loss_and_grad returns the summed squared error (its gradient is the mean's).

cell: linear_gradient
loses: test_linear_gradient
symptom: the loss of linear_loss_and_grad .* is wrong.*N times the expected loss
"""


def linear_loss_and_grad(w, b, X, y):
    r = X @ w + b - y
    n = len(y)
    return float(np.sum(r**2)), 2.0 * X.T @ r / n, float(2.0 * r.sum() / n)
