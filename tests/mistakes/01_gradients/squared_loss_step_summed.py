r"""The update step uses the summed, not the mean, squared error.

cell: squared_loss
loses: test_squared_loss
symptom: squared_loss_step changed when the batch was repeated
"""


def squared_loss_step(w, X, y, lr):
    phi = model_grad_w(X)
    return w - lr * 2.0 * phi.T @ (phi @ w - y)
