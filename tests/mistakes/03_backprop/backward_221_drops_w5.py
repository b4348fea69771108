r"""A chain-rule factor dropped: the path from h1 to z3 forgets its weight w5.

cell: net_221
loses: test_net_221
symptom: dL/dw1 from backward_221 at the example is wrong
"""


def backward_221(x, w, y):
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    v = forward_221(x, w)
    d_z3 = 2.0 * (v["y_hat"] - y) * v["y_hat"] * (1.0 - v["y_hat"])
    d_z1 = d_z3 * v["h1"] * (1.0 - v["h1"])
    d_z2 = d_z3 * w[5] * v["h2"] * (1.0 - v["h2"])
    return np.array(
        [d_z1 * x[0], d_z1 * x[1], d_z2 * x[2], d_z2 * x[3], d_z3 * v["h1"], d_z3 * v["h2"]]
    )
