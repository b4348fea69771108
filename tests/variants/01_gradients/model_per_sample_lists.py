r"""Part 5 one sample at a time: a batch is a list of per-sample rows.

cell: model
"""


def model_grad_w(x):
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        return [1.0, x[0], x[1], x[0] ** 2]
    return [model_grad_w(row) for row in x]


def model_predict(w, x):
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        return float(np.dot(model_grad_w(x), w))
    return [model_predict(w, row) for row in x]
