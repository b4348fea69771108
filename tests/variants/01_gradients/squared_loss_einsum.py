r"""Part 5b with einsum, and a step that updates a copy of w in place.

cell: squared_loss
"""


def squared_loss(w, X, y):
    r = np.einsum("nk,k->n", model_grad_w(X), np.asarray(w, dtype=float)) - y
    return float(np.einsum("n,n->", r, r) / r.shape[0])


def squared_loss_grad(w, X, y):
    phi = model_grad_w(X)
    r = np.einsum("nk,k->n", phi, np.asarray(w, dtype=float)) - y
    return np.einsum("nk,n->k", phi, r) * (2.0 / r.shape[0])


def squared_loss_step(w, X, y, lr):
    new = np.array(w, dtype=float, copy=True)
    new -= lr * squared_loss_grad(w, X, y)
    return new
