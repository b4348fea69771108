r"""The MSE gradient without the factor 2 of the square.

cell: squared_loss
loses: test_squared_loss
symptom: squared_loss_grad\(w, X, y\) .* is wrong.*factor 2
"""


def squared_loss_grad(w, X, y):
    phi = model_grad_w(X)
    r = phi @ w - y
    return phi.T @ r / r.size
