r"""The input's gradient overwritten by each branch instead of accumulated over the three.

cell: multibranch
loses: test_multibranch
symptom: multibranch_grad_x\(x, y, p\) for D = \d is wrong.*add the gradients
"""


def multibranch_grad_x(x, y, p):
    x = np.asarray(x, dtype=float)
    d_sum = 2.0 * (multibranch_forward(x, p) - y) * p["w4"]
    dx = np.zeros_like(x)
    for i in (1, 2, 3):
        z = p[f"w{i}"] @ x + p[f"b{i}"]
        dx = d_sum * relu_grad(z) * p[f"w{i}"]
    return dx
