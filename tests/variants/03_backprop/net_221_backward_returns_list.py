r"""The 2-2-1 network with math.exp and a backward pass that returns a Python list.

cell: net_221
"""

import math


def _sig(v):
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


def forward_221(x, w):
    x = [float(v) for v in x]
    w = [float(v) for v in w]
    z1 = w[0] * x[0] + w[1] * x[1]
    z2 = w[2] * x[2] + w[3] * x[3]
    h1, h2 = _sig(z1), _sig(z2)
    z3 = w[4] * h1 + w[5] * h2
    return {"z1": z1, "h1": h1, "z2": z2, "h2": h2, "z3": z3, "y_hat": _sig(z3)}


def loss_221(x, w, y):
    return (forward_221(x, w)["y_hat"] - y) ** 2


def backward_221(x, w, y):
    v = forward_221(x, w)
    x = [float(t) for t in x]
    w = [float(t) for t in w]
    d_z3 = 2.0 * (v["y_hat"] - y) * v["y_hat"] * (1.0 - v["y_hat"])
    d_z1 = d_z3 * w[4] * v["h1"] * (1.0 - v["h1"])
    d_z2 = d_z3 * w[5] * v["h2"] * (1.0 - v["h2"])
    return [d_z1 * x[0], d_z1 * x[1], d_z2 * x[2], d_z2 * x[3], d_z3 * v["h1"], d_z3 * v["h2"]]
