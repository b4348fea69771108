r"""The sigmoid derivative evaluated at the unit's output (sigmoid_grad(h)) instead of its input.

cell: net_221
loses: test_net_221
symptom: backward_221.* is wrong
"""


def backward_221(x, w, y):
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    v = forward_221(x, w)
    d_z3 = 2.0 * (v["y_hat"] - y) * sigmoid_grad(v["y_hat"])
    d_z1 = d_z3 * w[4] * sigmoid_grad(v["h1"])
    d_z2 = d_z3 * w[5] * sigmoid_grad(v["h2"])
    return np.array(
        [d_z1 * x[0], d_z1 * x[1], d_z2 * x[2], d_z2 * x[3], d_z3 * v["h1"], d_z3 * v["h2"]]
    )
