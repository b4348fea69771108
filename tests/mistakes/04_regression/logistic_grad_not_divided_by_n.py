r"""The log-loss gradient summed over the batch while the loss is a mean.

cell: logistic_gradient
loses: test_logistic_gradient
symptom: dw of logistic_loss_and_grad .* is wrong
"""


def logistic_loss_and_grad(w, b, X, y, lam):
    z = X @ w + b
    loss = np.mean(np.logaddexp(0.0, z) - y * z) + lam * np.dot(w, w)
    err = sigmoid(z) - y
    return float(loss), X.T @ err + 2.0 * lam * w, float(err.sum())
