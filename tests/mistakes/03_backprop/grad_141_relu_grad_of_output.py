r"""A ReLU derivative applied at the output f, which has no activation.

cell: net_141
loses: test_net_141
symptom: grad_141\(2, initial\)\['W_H'\] is wrong
"""


def grad_141(x, params):
    z = params["W_H"] * x + params["b_H"]
    out_gate = float(relu_grad(forward_141(x, params)))
    d_z = params["W_O"] * relu_grad(z) * out_gate
    return {"W_H": d_z * x, "b_H": d_z, "W_O": relu(z) * out_gate, "b_O": out_gate}
