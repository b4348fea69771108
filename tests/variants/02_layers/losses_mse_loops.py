r"""mse_loss over the flattened entries with a Python loop, gradient returned as nested lists.

cell: losses_mse
"""


def mse_loss(y_pred, y):
    p = np.asarray(y_pred, dtype=float)
    t = np.asarray(y, dtype=float)
    flat_p, flat_t = p.ravel(), t.ravel()
    m = flat_p.size
    total, grad = 0.0, []
    for a, b in zip(flat_p, flat_t):
        total += (a - b) ** 2
        grad.append(2.0 * (a - b) / m)
    return total / m, np.reshape(grad, p.shape).tolist()
