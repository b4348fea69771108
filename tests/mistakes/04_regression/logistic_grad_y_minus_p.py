r"""The log-loss gradient uses y - p instead of p - y.

cell: logistic_gradient
loses: test_logistic_gradient
symptom: dw of logistic_loss_and_grad .* is wrong.*sign of the data term is flipped
"""


def logistic_loss_and_grad(w, b, X, y, lam):
    z = X @ w + b
    loss = np.mean(np.logaddexp(0.0, z) - y * z) + lam * np.dot(w, w)
    err = y - sigmoid(z)
    return float(loss), X.T @ err / len(y) + 2.0 * lam * w, float(err.mean())
