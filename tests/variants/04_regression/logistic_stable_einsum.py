r"""sigmoid through tanh, the log loss with np.logaddexp for both labels, gradients by einsum.

cell: logistic_gradient
"""


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))


def logistic_loss_and_grad(w, b, X, y, lam):
    w = np.asarray(w, dtype=float)
    z = np.einsum("nd,d->n", X, w) + b
    # -log p = log(1 + e^-z), -log(1 - p) = log(1 + e^z)
    per_example = y * np.logaddexp(0.0, -z) + (1.0 - y) * np.logaddexp(0.0, z)
    err = sigmoid(z) - y
    n = len(y)
    dw = np.einsum("nd,n->d", X, err) / n + 2.0 * lam * w
    return (
        float(per_example.mean() + lam * np.einsum("d,d->", w, w)),
        list(dw),
        float(err.sum() / n),
    )
