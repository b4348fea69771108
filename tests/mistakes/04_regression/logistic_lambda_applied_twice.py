r"""The penalty added twice, once in the loss and again to the loss's gradient: 4 lam w.

cell: logistic_gradient
loses: test_logistic_gradient
symptom: (the loss|dw) of logistic_loss_and_grad .* is wrong
"""


def logistic_loss_and_grad(w, b, X, y, lam):
    z = X @ w + b
    penalty = lam * np.dot(w, w)
    loss = np.mean(np.logaddexp(0.0, z) - y * z) + penalty + penalty
    err = sigmoid(z) - y
    return float(loss), X.T @ err / len(y) + 2.0 * lam * w + 2.0 * lam * w, float(err.mean())
