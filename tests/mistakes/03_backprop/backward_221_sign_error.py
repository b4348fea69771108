r"""A sign error at the start of the backward pass: dL/dy_hat = 2 (y - y_hat).

cell: net_221
loses: test_net_221
symptom: every partial has the opposite sign
"""


def backward_221(x, w, y):
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    v = forward_221(x, w)
    d_yhat = 2.0 * (y - v["y_hat"])
    d_z3 = d_yhat * v["y_hat"] * (1.0 - v["y_hat"])
    d_z1 = d_z3 * w[4] * v["h1"] * (1.0 - v["h1"])
    d_z2 = d_z3 * w[5] * v["h2"] * (1.0 - v["h2"])
    return np.array(
        [d_z1 * x[0], d_z1 * x[1], d_z2 * x[2], d_z2 * x[3], d_z3 * v["h1"], d_z3 * v["h2"]]
    )
