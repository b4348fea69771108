r"""The log loss computed as log(sigmoid(z)): log(0) at confident wrong predictions.

cell: logistic_gradient
loses: test_logistic_gradient
symptom: logistic_loss_and_grad at logits of about \+-800 raised a warning
"""


def logistic_loss_and_grad(w, b, X, y, lam):
    p = sigmoid(X @ w + b)
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)) + lam * np.dot(w, w)
    err = p - y
    return float(loss), X.T @ err / len(y) + 2.0 * lam * w, float(err.mean())
