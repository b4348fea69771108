r"""The ReLU derivative left out: inactive branches still pass gradient back to x.

cell: multibranch
loses: test_multibranch
symptom: multibranch_grad_x.* is wrong
"""


def multibranch_grad_x(x, y, p):
    x = np.asarray(x, dtype=float)
    d_sum = 2.0 * (multibranch_forward(x, p) - y) * p["w4"]
    return d_sum * (p["w1"] + p["w2"] + p["w3"])
