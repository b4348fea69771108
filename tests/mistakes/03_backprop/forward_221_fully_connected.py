r"""The 2-2-1 network wired fully connected: h2 reads x1 and x2 instead of x3 and x4.

cell: net_221
loses: test_net_221
symptom: forward_221\(x, w\)\['h2'\] at the example is wrong
"""


def forward_221(x, w):
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    z1 = w[0] * x[0] + w[1] * x[1]
    z2 = w[2] * x[0] + w[3] * x[1]
    h1, h2 = sigmoid(z1), sigmoid(z2)
    z3 = w[4] * h1 + w[5] * h2
    values = {"z1": z1, "h1": h1, "z2": z2, "h2": h2, "z3": z3, "y_hat": sigmoid(z3)}
    return {k: float(v) for k, v in values.items()}
