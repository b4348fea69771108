r"""The L2 penalty also applied to the bias: lam * (||w||^2 + b^2).

cell: logistic_gradient
loses: test_logistic_gradient
symptom: db of logistic_loss_and_grad .* is wrong.*bias is not regularised
"""


def logistic_loss_and_grad(w, b, X, y, lam):
    z = X @ w + b
    loss = np.mean(np.logaddexp(0.0, z) - y * z) + lam * (np.dot(w, w) + b * b)
    err = sigmoid(z) - y
    return float(loss), X.T @ err / len(y) + 2.0 * lam * w, float(err.mean() + 2.0 * lam * b)
