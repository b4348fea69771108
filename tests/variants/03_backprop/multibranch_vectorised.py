r"""The multi-branch network with the three branches stacked into one matrix, gradient as a list.

cell: multibranch
"""


def _branches(p):
    return np.stack([p["w1"], p["w2"], p["w3"]]), np.array([p["b1"], p["b2"], p["b3"]])


def multibranch_forward(x, p):
    W, b = _branches(p)
    return float(p["w4"] * np.maximum(W @ np.asarray(x, dtype=float) + b, 0.0).sum() + p["b"])


def multibranch_grad_x(x, y, p):
    W, b = _branches(p)
    gate = (W @ np.asarray(x, dtype=float) + b > 0).astype(float)
    return list(2.0 * (multibranch_forward(x, p) - y) * p["w4"] * (gate @ W))
