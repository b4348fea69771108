r"""The MSE gradient is summed over the batch instead of averaged (the loss itself is a mean).

cell: linear_gradient
loses: test_linear_gradient
symptom: dw of linear_loss_and_grad for X of shape .* is wrong
"""


def linear_loss_and_grad(w, b, X, y):
    r = X @ w + b - y
    return float(np.mean(r**2)), 2.0 * X.T @ r, float(2.0 * r.sum())
