r"""The gradient divides by the number of entries of X (N * 2) instead of the batch size N.

cell: squared_loss
loses: test_squared_loss
symptom: squared_loss_grad\(w, X, y\) for a batch of \d+ is wrong
"""


def squared_loss_grad(w, X, y):
    X = np.asarray(X, dtype=float)
    phi = model_grad_w(X)
    r = phi @ np.asarray(w, dtype=float) - np.asarray(y, dtype=float)
    return 2.0 * phi.T @ r / X.size
